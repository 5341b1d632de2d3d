"""vis_ros against Ultralytics predict + track: the same ONNX models, the same sim frames, one process.

Not part of the package (Ultralytics is not a dependency of vis_ros): run it
with a Python that has ultralytics (with torch and torchvision) installed and
vis_ros importable, for example

    python -m venv /tmp/ul && /tmp/ul/bin/pip install ultralytics onnxruntime trackeval pycocotools
    PYTHONPATH=install/vis_ros/lib/python3.11/site-packages /tmp/ul/bin/python \
        tools/ultralytics_side_by_side.py --model-dir install/vis_ros/share/vis_ros/models > side_by_side.json

Both run the embedded model's FP32 and INT8 ONNX files through ONNX Runtime
on the CPU. Ultralytics gets a copy of each file with the metadata its ONNX
loader reads (class names, stride, input size, task); the graph is the
same. Per sequence (the tracking evaluation's held-out sim sequences),
every mode runs in turn, so a machine that slows down affects all alike.
Timed per frame: vis_ros's stream runner from the RGB image to tracked
instances with source-resolution masks; Ultralytics' `track` (ByteTrack,
persist) from the BGR image (converted before the clock starts) to its
Results, with its masks at the network's input resolution (scaling them to
the image, needed to score them, happens after the clock stops: the
comparison leaves Ultralytics that work). Both are scored with the same
code on mask IoU against the sim's ground truth (IDF1, HOTA).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from vis_ros.core.config.factories import build_segmenter
from vis_ros.core.config.settings import node_defaults
from vis_ros.core.data.model_path import DEFAULT_MODEL_NAME, default_model_path
from vis_ros.core.pipeline.segment_track import PipelineConfig
from vis_ros.core.sim.ground_truth import gt_masks
from vis_ros.evaluation.tracking_eval import ModeRun, tracking_sequences
from vis_ros.evaluation.tracking_metrics import SequenceRecorder, summarize

SPEEDUPS = {  # name: (vis_ros mode, Ultralytics mode it is compared with)
    "best_setting_vs_ultralytics_fp32": ("vis_ros_int8_keyframe_3", "ultralytics_fp32"),
    "int8_frame_by_frame_vs_ultralytics_int8": ("vis_ros_int8_frame_by_frame", "ultralytics_int8"),
    "fp32_frame_by_frame_vs_ultralytics_fp32": ("vis_ros_fp32_frame_by_frame", "ultralytics_fp32")}
GOALS = {"best_setting_vs_ultralytics_fp32": 12.0, "int8_frame_by_frame_vs_ultralytics_int8": 4.0}  # issue 40


def ultralytics_copy(model: Path, names: tuple[str, ...], input_hw: tuple[int, int], out_dir: Path) -> Path:
    """Write the model with the metadata Ultralytics' ONNX loader reads; the graph is unchanged."""
    import onnx

    proto = onnx.load(str(model))
    metadata = {"names": str(dict(enumerate(names))), "stride": "32", "imgsz": str(list(input_hw)),
                "task": "segment", "batch": "1"}
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    path = out_dir / model.name
    onnx.save(proto, str(path))
    return path


class UltralyticsRun:
    """Ultralytics predict + ByteTrack over sequences, timed and scored like a ModeRun."""

    def __init__(self, model: Path, input_hw: tuple[int, int]):
        self.model, self.input_hw = model, input_hw
        self.recorders, self.times, self.stages = [], [], {}

    def add_sequence(self, frames) -> None:
        """Track one sequence with a fresh model (a fresh tracker), timing each frame."""
        from ultralytics import YOLO

        yolo = YOLO(str(self.model), task="segment")
        bgr = [np.ascontiguousarray(f.rgb[..., ::-1]) for f in frames]
        yolo.track(bgr[0], persist=True, imgsz=list(self.input_hw), verbose=False)  # load, warm up
        yolo.predictor.trackers[0].reset()  # and start the sequence with no tracks
        rec = SequenceRecorder()
        for f, image in zip(frames, bgr, strict=True):
            t0 = time.perf_counter()
            (result,) = yolo.track(image, persist=True, imgsz=list(self.input_hw), verbose=False)
            self.times.append(time.perf_counter() - t0)
            for stage, ms in result.speed.items():  # its own split: preprocess, inference, postprocess
                self.stages.setdefault(stage, []).append(ms)
            rec.add(gt_masks(f.instance_ids, ((o.object_id, o.visible_pixels) for o in f.objects)),
                    _source_masks(result, *f.rgb.shape[:2]))
        self.recorders.append(rec)

    def result(self) -> dict:
        """Return its metrics and speed, as ModeRun.result names them."""
        return {**summarize(self.recorders), "frames": len(self.times),
                "ms_per_frame": 1e3 * statistics.fmean(self.times),
                "stage_ms_mean": {stage: statistics.fmean(v) for stage, v in self.stages.items()}}


def _source_masks(result, height: int, width: int) -> dict[int, np.ndarray]:
    """Track id -> mask in image pixels (Ultralytics' masks are at the letterboxed input's size)."""
    if result.boxes is None or result.boxes.id is None or result.masks is None:
        return {}
    from ultralytics.utils.ops import scale_masks

    scaled = scale_masks(result.masks.data[None].float(), (height, width))[0].cpu().numpy()  # (n, H, W)
    ids = result.boxes.id.int().tolist()
    return {track_id: scaled[k] > 0.5 for k, track_id in enumerate(ids)}


def _rounded(value):
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return round(value, 4) if isinstance(value, float) else value


def main() -> None:
    """Run every mode over the sequences, turns taken per sequence; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=8)
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="where vis_ros_default.onnx and its INT8 copy are (default: the installed package's)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    os.environ.setdefault("YOLO_VERBOSE", "False")  # Ultralytics logs each model load on stdout: keep it JSON
    fp32_path = (args.model_dir or default_model_path().parent) / DEFAULT_MODEL_NAME
    fp32 = build_segmenter(node_defaults(model=str(fp32_path)))
    int8 = build_segmenter(node_defaults(model=str(fp32_path.with_name(fp32_path.stem + "_int8.onnx"))))
    modes = {"vis_ros_fp32_frame_by_frame": ModeRun(fp32, PipelineConfig(keyframe_interval=1)),
             "vis_ros_int8_frame_by_frame": ModeRun(int8, PipelineConfig(keyframe_interval=1)),
             "vis_ros_int8_keyframe_3": ModeRun(int8, PipelineConfig(keyframe_interval=3))}
    with tempfile.TemporaryDirectory(prefix="vis_ros_side_by_side_") as tmp:
        for name, segmenter in (("ultralytics_fp32", fp32), ("ultralytics_int8", int8)):
            copy = ultralytics_copy(segmenter.model_path, segmenter.class_names, segmenter.spec.input_hw, Path(tmp))
            modes[name] = UltralyticsRun(copy, segmenter.spec.input_hw)
        for frames in tracking_sequences(args.sequences, args.frames):
            for run in modes.values():
                run.add_sequence(frames)
        results = {name: run.result() for name, run in modes.items()}
    import ultralytics

    keep = ("ms_per_frame", "IDF1", "HOTA", "mean_mask_iou", "IDSW", "frames", "stage_ms_mean")
    report = {"ultralytics": ultralytics.__version__, "sequences": args.sequences, "frames": args.frames,
              "modes": {name: {k: _rounded(v) for k, v in r.items() if k in keep} for name, r in results.items()}}
    report["speedup"] = {name: round(results[theirs]["ms_per_frame"] / results[ours]["ms_per_frame"], 2)
                         for name, (ours, theirs) in SPEEDUPS.items()}
    report["goals"] = {name: {"goal": goal, "met": report["speedup"][name] >= goal,
                              "missed_by": round(max(goal - report["speedup"][name], 0.0), 2)}
                       for name, goal in GOALS.items()}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
