"""Engine stages on simulated 640x480 frames: pre-process, engine, decode.

Besides the per-frame stages, decode + mask assembly is timed at exactly 20
instances on the model's real outputs (the 20 best-scoring anchors, NMS off),
the case the decoder's budget is stated for.
"""
from __future__ import annotations

import time

from vis_ros.bench.stats import summarize_ms
from vis_ros.core.engine.decoder import Decoder, DecoderConfig
from vis_ros.core.engine.segmenter import Segmenter
from vis_ros.core.sim.scene import SimOptions
from vis_ros.evaluation.heldout import heldout_frames


def bench_engine(model_path, frames: int = 60, width: int = 640, height: int = 480,
                 threads: int = 0) -> dict:
    """Time pre-processing, engine and decoding per frame on sim images (milliseconds)."""
    segmenter = Segmenter(model_path, intra_op_threads=threads)
    segmenter.warm_up()
    # NMS off (IoU 1.0) so exactly 20 candidates get masks built from real coefficients.
    decode20 = Decoder(segmenter.class_names,
                       DecoderConfig(score_threshold=0.0, nms_iou=1.0, max_detections=20))
    spec = segmenter.spec
    stages = {"preprocess": [], "engine": [], "decode": []}
    decode_20, counts = [], []
    options = SimOptions(width=width, height=height, objects=15)
    for _, frame in heldout_frames(frames, options=options):
        result = segmenter(frame.rgb)
        for k, v in result.timings_s.items():
            stages[k].append(v)
        tensor, letterbox = segmenter.preprocess(frame.rgb)
        outputs = segmenter.backend.run(tensor)
        t0 = time.perf_counter()
        dets = decode20(outputs[spec.detections_name][0], outputs[spec.prototypes_name][0], letterbox)
        decode_20.append(time.perf_counter() - t0)
        counts.append(len(dets))
    summary = {name: summarize_ms(values) for name, values in stages.items()}
    summary["decode_20_instances"] = summarize_ms(decode_20)
    engine_median = summary["engine"]["median"]
    return {
        "model": str(model_path), "backend": segmenter.backend.describe(),
        "image": f"{width}x{height}", "frames": frames, "stages_ms": summary,
        "instances_in_decode_20": {"min": min(counts), "max": max(counts)},
        "decode_20_over_engine": round(summary["decode_20_instances"]["median"] / engine_median, 4),
    }


def bench_precisions(fp32_path, int8_path, frames: int = 60, threads: int = 0, rounds: int = 3) -> dict:
    """Time the engine of an FP32 model and its INT8 copy side by side, the two taking turns.

    Turns of frames/rounds frames each, so a machine that slows down or speeds
    up affects both alike; the ratio is of the medians over all turns.
    """
    from vis_ros.core.engine.precision import cpu_int8_flags

    sessions = {"fp32": Segmenter(fp32_path, intra_op_threads=threads),
                "int8": Segmenter(int8_path, intra_op_threads=threads)}
    for segmenter in sessions.values():
        segmenter.warm_up()
    images = [frame.rgb for _, frame in heldout_frames(max(frames // rounds, 1),
                                                      options=SimOptions(width=640, height=480, objects=15))]
    engine = {name: [] for name in sessions}
    for _ in range(rounds):
        for name, segmenter in sessions.items():
            engine[name] += [segmenter(rgb).timings_s["engine"] for rgb in images]
    summary = {name: summarize_ms(values) for name, values in engine.items()}
    return {"models": {"fp32": str(fp32_path), "int8": str(int8_path)}, "engine_ms": summary,
            "fp32_over_int8": round(summary["fp32"]["median"] / summary["int8"]["median"], 3),
            "cpu_int8_features": list(cpu_int8_flags())}
