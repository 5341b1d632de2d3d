"""What letterboxing to the smallest stride multiple saves on a model with a dynamic input size.

A square model with dynamic height and width (`dynamic=True` exports) runs
a 640x480 camera at 640x480 and a 1280x720 one at 640x384, where a
fixed-size model pads both to 640x640. Timed on the same session, input
sizes taking turns, with the engine of a user's dynamic model (`--model`) or
a TinySeg at imgsz 640 exported here with dynamic size and seeded random
weights: engine time hardly depends on the weights, and no model is downloaded.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from vis_ros.bench.stats import summarize_ms
from vis_ros.core.engine.preprocess import Preprocessor
from vis_ros.core.engine.segmenter import Segmenter

CAMERAS = ((640, 480), (1280, 720))


def bench_input_sizes(model_path: Path | None = None, runs: int = 30, threads: int = 0) -> dict:
    """Time the engine at the full square and at the letterbox rectangle, per camera size (milliseconds)."""
    with tempfile.TemporaryDirectory(prefix="vis_ros_bench_") as tmp:
        path = model_path or export_dynamic_tinyseg(Path(tmp) / "tinyseg_dynamic_640.onnx")
        segmenter = Segmenter(path, intra_op_threads=threads)
        if not segmenter.spec.dynamic_hw:
            raise ValueError(f"{path} has a fixed input size; this benchmark needs a model exported with"
                             " dynamic height and width")
        square = Preprocessor(segmenter.spec.input_hw, segmenter.preprocess.dtype.name)  # what a fixed model gets
        rng = np.random.default_rng(0)
        report = {"model": str(model_path) if model_path else "TinySeg, imgsz 640, dynamic size, random weights",
                  "backend": segmenter.backend.describe(), "runs": runs, "cameras": {}}
        for width, height in CAMERAS:
            image = rng.integers(0, 255, (height, width, 3), np.uint8)
            inputs = {"square": square(image)[0].copy(), "rectangle": segmenter.preprocess(image)[0].copy()}
            times = {name: [] for name in inputs}
            for name in inputs:  # warm both shapes
                for _ in range(3):
                    segmenter.backend.run(inputs[name])
            for _ in range(runs):
                for name, tensor in inputs.items():
                    t0 = time.perf_counter()
                    segmenter.backend.run(tensor)
                    times[name].append(time.perf_counter() - t0)
            medians = {name: summarize_ms(values)["median"] for name, values in times.items()}
            shapes = {name: tensor.shape for name, tensor in inputs.items()}
            report["cameras"][f"{width}x{height}"] = {
                "square_input": f"{shapes['square'][3]}x{shapes['square'][2]}",
                "rectangle_input": f"{shapes['rectangle'][3]}x{shapes['rectangle'][2]}",
                "engine_ms_square": medians["square"], "engine_ms_rectangle": medians["rectangle"],
                "engine_time_saved": round(1 - medians["rectangle"] / medians["square"], 3),
                "pixels_saved": round(1 - np.prod(shapes["rectangle"]) / np.prod(shapes["square"]), 3),
            }
    return report


def export_dynamic_tinyseg(path: Path, imgsz: int = 640) -> Path:
    """Export a seeded, untrained TinySeg with dynamic batch, height and width (imgsz metadata)."""
    import onnx
    import torch

    from vis_ros.core.sim.shapes import CLASS_NAMES
    from vis_ros.train.model import TinySeg
    from vis_ros.train.trainer import TrainConfig

    torch.manual_seed(0)
    config = TrainConfig()
    model = TinySeg(len(CLASS_NAMES), config.width, config.activation).eval()
    model.export = True
    torch.onnx.export(model, (torch.zeros(1, 3, imgsz, imgsz),), str(path), input_names=["images"],
                      output_names=["output0", "output1"], opset_version=17, dynamo=False,
                      dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"},
                                    "output0": {0: "batch", 2: "anchors"},
                                    "output1": {0: "batch", 2: "proto_height", 3: "proto_width"}})
    proto = onnx.load(str(path))
    for key, value in {"task": "segment", "stride": "32", "imgsz": repr([imgsz, imgsz]),
                       "names": repr(dict(enumerate(CLASS_NAMES)))}.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))
    return path
