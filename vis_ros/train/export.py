"""ONNX export in the Ultralytics YOLO-seg layout, with its metadata keys.

Ultralytics writes metadata values as Python-literal strings (`names` is a
dict repr, `imgsz` a list repr); the same here, so tools that read user
exports read ours, and our decoder reads theirs.
"""
from __future__ import annotations

import copy
from pathlib import Path

import onnx
import torch

from vis_ros.core.data.files import replaced_when_done
from vis_ros.core.model_tools.batch_axis import make_batch_dynamic
from vis_ros.train.model import TinySeg


def export_onnx(model: TinySeg, path: Path, class_names: list[str], input_hw: tuple[int, int],
                extra_metadata: dict[str, str] | None = None) -> Path:
    """Export to ONNX in the Ultralytics output layout, with names and imgsz metadata."""
    model = copy.deepcopy(model).eval()
    model.export = True
    dummy = torch.zeros(1, 3, *input_hw)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_when_done(path) as partial:
        torch.onnx.export(model, (dummy,), str(partial), input_names=["images"],
                          output_names=["output0", "output1"], opset_version=17, dynamo=False,
                          do_constant_folding=True)
        _finish(onnx.load(str(partial)), class_names, input_hw, extra_metadata, partial)
    return path


def _finish(proto, class_names: list[str], input_hw: tuple[int, int], extra_metadata: dict[str, str] | None,
            path: Path) -> None:
    """Give the exported graph a dynamic batch axis and the metadata the node reads, and save it."""
    proto = make_batch_dynamic(proto)
    metadata = {
        "description": "vis_ros embedded default instance-segmentation model (TinySeg)",
        "author": "vis_ros",
        "license": "Apache-2.0",
        "task": "segment",
        "stride": "32",
        "batch": "1",
        "imgsz": repr(list(input_hw)),
        "names": repr(dict(enumerate(class_names))),
        **(extra_metadata or {}),
    }
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
