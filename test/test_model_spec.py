"""Malformed or foreign models get errors that say what is wrong; good ones decode."""
from __future__ import annotations

import numpy as np
import pytest
from yolo_onnx import yolo_seg_model

from vis_ros.core.data.errors import ModelLayoutError, ModelLoadError
from vis_ros.core.engine.segmenter import Segmenter


def test_user_export_at_640_with_80_classes_decodes_known_boxes(tmp_path):
    model = yolo_seg_model(tmp_path / "yolo.onnx", boxes=[(320, 240, 100, 80, 2, 0.9),
                                                           (100, 500, 60, 60, 7, 0.8)])
    seg = Segmenter(model)
    assert seg.spec.input_hw == (640, 640) and seg.spec.num_classes == 80
    image = np.zeros((480, 640, 3), np.uint8)
    image[150:190, 260:380] = 255  # bright patch inside the first box
    dets = seg(image).detections
    assert [(d.class_name, round(d.score, 2)) for d in dets] == [("class2", 0.9), ("class7", 0.8)]
    # Letterbox 640x480 -> 640x640 pads 80 px on top: box centre y 240 -> 160 in the source.
    x0, y0, x1, y1 = dets[0].box
    assert (x0, y0, x1, y1) == pytest.approx((270, 120, 370, 200))
    full = dets[0].full_mask(480, 640)
    assert full[150:190, 270:370].mean() > 0.9 and full[120:145].sum() == 0


@pytest.mark.parametrize("input_hw", [(320, 320), (384, 640), (256, 320)])
def test_any_declared_input_size(tmp_path, input_hw):
    model = yolo_seg_model(tmp_path / "m.onnx", input_hw=input_hw, num_classes=3,
                           boxes=[(input_hw[1] / 2, input_hw[0] / 2, 40, 40, 1, 0.7)])
    dets = Segmenter(model)(np.zeros((480, 640, 3), np.uint8)).detections
    assert len(dets) == 1 and dets[0].class_id == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"drop_output1": True}, "detection-only export"),
    ({"input_rank": 3}, "has rank 3"),
    ({"metadata": {"task": "segment", "imgsz": "[640, 640]"}}, "no 'names' metadata"),
    ({"metadata": {"names": "{0: 'a', 1: 'b'}"}}, "the class list does not match"),
    ({"metadata": {"names": "{0: 'a'", "task": "segment"}}, "not a dict or list literal"),
    ({"metadata": {"names": repr({i: str(i) for i in range(80)}), "task": "detect"}}, "task is 'detect'"),
])
def test_malformed_models_get_specific_errors(tmp_path, kwargs, message):
    path = yolo_seg_model(tmp_path / "bad.onnx", **kwargs)
    with pytest.raises(ModelLayoutError, match=message):
        Segmenter(path)


def test_labels_file_overrides_metadata(tmp_path):
    model = yolo_seg_model(tmp_path / "m.onnx", num_classes=2, metadata={"task": "segment"},
                           boxes=[(320, 320, 50, 50, 1, 0.9)])
    labels = tmp_path / "labels.txt"
    labels.write_text("# my classes\nmug\nspoon\n")
    seg = Segmenter(model, labels_file=labels)
    assert seg.class_names == ("mug", "spoon")
    assert seg(np.zeros((480, 640, 3), np.uint8)).detections[0].class_name == "spoon"


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        Segmenter(tmp_path / "nope.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage" * 100)
    with pytest.raises(ModelLoadError, match="cannot load"):
        Segmenter(corrupt)


def test_unknown_backend_lists_valid_names(tmp_path):
    with pytest.raises(ValueError, match=r"valid: \['onnxruntime', 'tensorrt', 'auto'\]"):
        Segmenter(yolo_seg_model(tmp_path / "m.onnx"), backend="openvino")
