"""Each C kernel against its numpy twin, side by side, on the workload its target is stated for.

A kernel is switched off in its own module only (the module's `native` is
replaced by one without kernels), so every other kernel stays as shipped and
the difference is that kernel's alone. The two paths take turns, round by
round, on the same inputs; the report gives per-frame medians, the time the
kernel saves per frame, and that saving against the target it serves:

- decoder selection + masks: decode of 20 instances over the engine time
  (<= 0.15), and the ~1 ms it saves per frame against the node's overhead
  budget (<= 0.20 x engine);
- mask propagation: warp of one frame's tracked masks, against a keyframe-3
  frame (throughput >= 2.2x frame by frame);
- instance points: depth fusion of 20 instances (<= 3 ms).

The kernels whose saving moved no target (the Kalman filter and the
association similarity, 0.1 ms of a 2 ms tracker budget; run lengths,
0.04 ms per frame) were removed: docs/benchmarks.md has their figures.
"""
from __future__ import annotations

import contextlib
import importlib
import time
import types
from collections.abc import Callable

import numpy as np

from vis_ros.bench.stats import summarize_ms


@contextlib.contextmanager
def numpy_in(module_name: str):
    """Run `module_name`'s numpy path (its kernel switched off), every other kernel unchanged."""
    module = importlib.import_module(module_name)
    saved = module.native
    module.native = types.SimpleNamespace(kernels=None)
    try:
        yield
    finally:
        module.native = saved


def side_by_side(module_name: str, work: Callable[[], None], rounds: int = 5, repeats: int = 20) -> dict:
    """Time `work` with the module's kernel and with its numpy twin, taking turns; medians in ms."""
    samples = {"c": [], "numpy": []}
    for _ in range(rounds):
        for path in ("c", "numpy"):
            context = numpy_in(module_name) if path == "numpy" else contextlib.nullcontext()
            with context:
                work()  # warm: first calls allocate
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    work()
                    samples[path].append(time.perf_counter() - t0)
    c, py = summarize_ms(samples["c"]), summarize_ms(samples["numpy"])
    return {"c_ms": c, "numpy_ms": py, "saved_ms": round(py["median"] - c["median"], 4),
            "speedup": round(py["median"] / c["median"], 2) if c["median"] else None}


def _decoder_work(count: int = 20):
    """Return a decode of `count` instances on the embedded model's outputs (NMS off), and the engine time."""
    from vis_ros.core.config.model_path import resolve_model
    from vis_ros.core.engine.decoder import Decoder, DecoderConfig
    from vis_ros.core.engine.segmenter import Segmenter
    from vis_ros.core.sim.scene import SimOptions
    from vis_ros.evaluation.heldout import heldout_frames

    segmenter = Segmenter(resolve_model(None))
    segmenter.warm_up(3)
    decode = Decoder(segmenter.class_names, DecoderConfig(score_threshold=0.0, nms_iou=1.0, max_detections=count))
    _, frame = next(iter(heldout_frames(1, options=SimOptions(objects=15))))
    tensor, letterbox = segmenter.preprocess(frame.rgb)
    engine = []
    for _ in range(10):
        t0 = time.perf_counter()
        outputs = segmenter.backend.run(tensor)
        engine.append(time.perf_counter() - t0)
    spec = segmenter.spec
    detections, prototypes = outputs[spec.detections_name][0], outputs[spec.prototypes_name][0]
    return (lambda: decode(detections, prototypes, letterbox)), float(np.median(engine)) * 1000.0


def _propagation_work():
    """Return a warp of one frame's tracked masks by the flow between two sim frames (keyframe 3's step)."""
    from vis_ros.core.pipeline.propagation import FlowPropagator, warp_masks
    from vis_ros.core.sim.ground_truth import gt_instances
    from vis_ros.core.sim.scene import SimOptions
    from vis_ros.core.sim.sequence import generate_sequence

    _, it = generate_sequence(2_000_005, 2, SimOptions(objects=10, object_speed=0.25))
    first, second = list(it)
    propagator = FlowPropagator(2, "ultrafast", 5)
    propagator.observe(first.rgb, need_flow=False)
    field = propagator.observe(second.rgb, need_flow=True)
    masks = [types.SimpleNamespace(roi=i.box, mask=i.mask, area=int(i.mask.sum()))
             for i in gt_instances(first.instance_ids, first.objects)]
    return (lambda: warp_masks(field, masks)), len(masks)


def _fusion_work(count: int = 20):
    """Return a depth fusion of `count` instances on one frame (the fusion bench's workload)."""
    from vis_ros.bench.fusion_bench import busy_frame
    from vis_ros.core.data.instances import InstanceFrame
    from vis_ros.core.fusion.fuser import DepthFuser

    camera, sim_frame, depth, instances, _ = busy_frame(count)
    fuser, state = DepthFuser(), {"k": 0}

    def fuse():
        state["k"] += 1
        fuser(InstanceFrame(sim_frame.stamp_ns + state["k"] * 33_333_333, "cam", camera.height, camera.width,
                            True, instances), depth, camera)

    return fuse


def bench_kernels(rounds: int = 5) -> dict:
    """Every kernel against its numpy twin; see the module docstring."""
    from vis_ros.core import native
    from vis_ros.core.config.factories import apply_opencv_threads
    from vis_ros.core.config.settings import node_defaults

    if native.kernels is None:
        return {"error": f"C kernels not active here: {native.describe()}"}
    apply_opencv_threads(node_defaults().engine)  # OpenCV threads as the node sets them
    decode, engine_ms = _decoder_work()
    warp, masks = _propagation_work()
    report = {
        "decoder (select_detections + build_masks)": {
            **side_by_side("vis_ros.core.engine.decoder", decode, rounds),
            "workload": "decode of 20 instances on the embedded model's outputs", "engine_ms": round(engine_ms, 3),
            "target": "decode / engine <= 0.15"},
        "propagation (warp_masks)": {
            **side_by_side("vis_ros.core.pipeline.propagation", warp, rounds),
            "workload": f"warp of {masks} tracked masks, one 640x480 frame",
            "target": "keyframe-3 throughput >= 2.2x frame by frame (its frames cost ~4 ms)"},
        "fusion (instance_points)": {
            **side_by_side("vis_ros.core.fusion.fuse", _fusion_work(), rounds),
            "workload": "depth fusion of 20 instances, 640x480", "target": "depth fusion <= 3 ms"},
    }
    decoder = report["decoder (select_detections + build_masks)"]
    decoder["decode_over_engine"] = {path: round(decoder[f"{path}_ms"]["median"] / engine_ms, 4)
                                     for path in ("c", "numpy")}
    return report

