"""The two YOLO-seg export layouts: the raw head and end-to-end rows (YOLO26, YOLOE, `nms=True`).

Graphs are built here (helpers/yolo_onnx.seg_model) and run by ONNX Runtime.
A model is decoded in the layout it has or refused naming its shapes, never
misdecoded: symbolic output shapes (a `dynamic=True` export) are checked on
the first real output and on every call after.
"""
from __future__ import annotations

import numpy as np
import pytest
from yolo_onnx import seg_model

from vis_ros.core.data.errors import ModelLayoutError
from vis_ros.core.engine.decoder import DecoderConfig
from vis_ros.core.engine.letterbox import Letterbox
from vis_ros.core.engine.model_spec import END_TO_END, RAW_HEAD
from vis_ros.core.engine.preprocess import Preprocessor
from vis_ros.core.engine.segmenter import Segmenter

# (cx, cy, w, h, class, score) in the 320x320 input; apart from each other
BOXES = [(80, 100, 60, 50, 1, 0.9), (240, 120, 40, 80, 4, 0.7), (160, 230, 90, 40, 0, 0.45)]


def _image(height=480, width=640):
    """Return a dark image with a bright patch under every box of BOXES (mapped back through the letterbox)."""
    image = np.zeros((height, width, 3), np.uint8)
    lb = Letterbox.fit((height, width), (320, 320))
    for cx, cy, bw, bh, _, _ in BOXES:
        x0, y0, x1, y1 = lb.boxes_to_source(np.array([[cx - bw / 3, cy - bh / 3, cx + bw / 3, cy + bh / 3]]))[0]
        image[int(y0):int(y1), int(x0):int(x1)] = 255
    return image


def _summary(detections):
    return [(d.class_id, round(d.score, 4), tuple(round(v, 3) for v in d.box), d.roi, int(d.mask.sum()))
            for d in detections]


def test_end_to_end_rows_decode_as_the_raw_head_after_nms(tmp_path, kernel_path):
    raw = Segmenter(seg_model(tmp_path / "raw.onnx", "raw", boxes=BOXES))
    e2e = Segmenter(seg_model(tmp_path / "e2e.onnx", "e2e", boxes=BOXES))
    assert (raw.spec.layout, e2e.spec.layout) == (RAW_HEAD, END_TO_END)
    image = _image()
    expected = _summary(raw(image).detections)
    assert len(expected) == 3 and all(area > 0 for *_, area in expected)
    assert _summary(e2e(image).detections) == expected
    for a, b in zip(raw(image).detections, e2e(image).detections, strict=True):
        assert np.array_equal(a.mask, b.mask)


def test_end_to_end_rows_get_no_nms(tmp_path):
    overlapping = [(100, 100, 80, 80, 2, 0.9), (104, 102, 80, 80, 2, 0.8)]
    raw = Segmenter(seg_model(tmp_path / "raw.onnx", "raw", boxes=overlapping))
    e2e = Segmenter(seg_model(tmp_path / "e2e.onnx", "e2e", boxes=overlapping))
    assert len(raw(_image()).detections) == 1  # the raw head needs NMS
    assert [round(d.score, 2) for d in e2e(_image()).detections] == [0.9, 0.8]  # the head already chose


def test_thresholds_and_max_detections_apply_to_rows(tmp_path):
    seg = Segmenter(seg_model(tmp_path / "e2e.onnx", "e2e", boxes=BOXES),
                    decoder=DecoderConfig(score_threshold=0.5, max_detections=1))
    assert [(d.class_id, round(d.score, 2)) for d in seg(_image()).detections] == [(1, 0.9)]
    seg.reconfigure(DecoderConfig(score_threshold=0.4))
    assert [d.class_name for d in seg(_image()).detections] == ["class1", "class4", "class0"]


@pytest.mark.parametrize("layout", ["raw", "e2e"])
def test_a_batch_of_cameras_runs_in_one_call_in_either_layout(tmp_path, layout):
    seg = Segmenter(seg_model(tmp_path / "m.onnx", layout, boxes=BOXES, dynamic_batch=True))
    alone = _summary(seg(_image()).detections)
    results = seg.segment_batch([("a", _image()), ("b", _image()), ("c", _image())])
    assert [r.batch_size for r in results] == [3, 3, 3]
    assert all(_summary(r.detections) == alone for r in results)


@pytest.mark.parametrize("layout", ["raw", "e2e"])
def test_half_precision_exports_decode_like_float(tmp_path, layout):
    full = Segmenter(seg_model(tmp_path / "f32.onnx", layout, boxes=BOXES))
    half = Segmenter(seg_model(tmp_path / "f16.onnx", layout, boxes=BOXES, fp16=True))
    assert half.spec.input_dtype == "float16"
    got, expected = half(_image()).detections, full(_image()).detections
    assert [(d.class_id, round(d.score, 2)) for d in got] == [(d.class_id, round(d.score, 2)) for d in expected]
    for a, b in zip(got, expected, strict=True):
        assert np.allclose(a.box, b.box, atol=0.5)


@pytest.mark.parametrize("layout, metadata_says, at_load", [
    ("e2e", True, END_TO_END),  # a YOLO26 `dynamic=True` export: its metadata says end2end
    ("e2e", False, None),  # an export without the key: the first real output decides
    ("raw", False, None),
])
def test_symbolic_output_shapes_are_decoded_in_the_layout_they_turn_out_to_have(tmp_path, layout, metadata_says,
                                                                               at_load):
    from vis_ros.core.engine.backends import create_backend
    from vis_ros.core.engine.model_spec import build_spec

    path = seg_model(tmp_path / "m.onnx", layout, boxes=BOXES, dynamic_batch=True, symbolic_outputs=True)
    if not metadata_says:
        import onnx

        model = onnx.load(str(path))
        kept = [(p.key, p.value) for p in model.metadata_props if p.key != "end2end"]
        del model.metadata_props[:]
        for key, value in kept:
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, str(path))
    backend = create_backend("onnxruntime", path)
    assert build_spec(backend.inputs, backend.outputs, backend.metadata).layout == at_load
    seg = Segmenter(path)
    assert seg.spec.layout == (END_TO_END if layout == "e2e" else RAW_HEAD)
    reference = Segmenter(seg_model(tmp_path / "static.onnx", layout, boxes=BOXES))
    assert _summary(seg(_image()).detections) == _summary(reference(_image()).detections)


def test_a_symbolic_model_that_fits_neither_layout_is_refused_with_its_shapes(tmp_path):
    """Names for 3 classes on a 6-class raw head: channels 42, not 39; rows of 2100 columns, not 38."""
    path = seg_model(tmp_path / "m.onnx", "raw", boxes=BOXES, symbolic_outputs=True, metadata={
        "task": "segment", "imgsz": "[320, 320]", "names": repr({0: "a", 1: "b", 2: "c"})})
    with pytest.raises(ModelLayoutError, match=r"is \[42, 2100\] per image; expected raw head \[4 \+ 3 classes"
                                               r" \+ 32 coefficients = 39, anchors\] or end-to-end rows"):
        Segmenter(path)


def test_a_static_model_that_fits_neither_layout_names_both(tmp_path):
    path = seg_model(tmp_path / "m.onnx", "e2e", boxes=BOXES, extra_columns=2, metadata={
        "task": "segment", "imgsz": "[320, 320]", "names": repr({i: str(i) for i in range(80)})})
    with pytest.raises(ModelLayoutError, match=r"is \[1, 300, 40\]: neither the raw head \[N, 4 \+ 80 classes"
                                               r" \+ 32 coefficients = 116, anchors\] nor end-to-end rows"
                                               r" \[N, K, 6 \+ 32 coefficients = 38\]"):
        Segmenter(path)


def test_a_row_class_outside_the_class_list_is_refused_not_mislabelled(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\nc\n")  # the model's rows use classes 0, 1 and 4
    seg = Segmenter(seg_model(tmp_path / "m.onnx", "e2e", boxes=BOXES, symbolic_outputs=True), labels_file=labels)
    with pytest.raises(ModelLayoutError, match="class index 4 is outside the 3 class names"):
        seg(_image())


def test_yoloe_exports_take_their_class_names_from_the_metadata(tmp_path):
    """Baked classes (set_classes, then export) and prompt-free ones (a vocabulary of 1,203)."""
    baked = {0: "person", 1: "mug", 2: "drill", 3: "box", 4: "cable", 5: "glove"}
    seg = Segmenter(seg_model(tmp_path / "baked.onnx", "e2e", boxes=BOXES, extra_metadata={"names": repr(baked)}))
    assert [d.class_name for d in seg(_image()).detections] == ["mug", "cable", "person"]
    vocabulary = {i: f"lvis{i}" for i in range(1203)}
    seg = Segmenter(seg_model(tmp_path / "free.onnx", "e2e", boxes=BOXES, num_classes=1203,
                              extra_metadata={"names": repr(vocabulary)}))
    assert seg.spec.num_classes == 1203 and seg(_image()).detections[0].class_name == "lvis1"


def test_dynamic_models_letterbox_to_the_smallest_stride_multiple():
    assert (Letterbox.fit((480, 640), (320, 320), 32).input_height, 320) == (256, 320)
    wide = Letterbox.fit((720, 1280), (640, 640), 32)
    assert (wide.input_width, wide.input_height, wide.pad_y, wide.resized_height) == (640, 384, 12, 360)
    assert Letterbox.fit((480, 640), (320, 320)).input_height == 320  # a fixed-size model: the full square
    tensor, lb = Preprocessor((320, 320), stride=32)(np.zeros((480, 640, 3), np.uint8))
    assert tensor.shape == (1, 3, 256, 320) and (lb.pad_x, lb.pad_y) == (0, 8)
    tensor, _ = Preprocessor((320, 320), stride=32)(np.zeros((720, 1280, 3), np.uint8))
    assert tensor.shape == (1, 3, 192, 320)


@pytest.mark.parametrize("layout", ["raw", "e2e"])
def test_a_dynamic_size_model_runs_on_the_rectangle_and_maps_boxes_back(tmp_path, layout):
    # boxes placed in the 320x256 input a 640x480 camera gets (pad 8 rows, scale 0.5)
    boxes = [(80, 100, 60, 50, 1, 0.9)]
    seg = Segmenter(seg_model(tmp_path / "m.onnx", layout, boxes=boxes, dynamic_hw=True, symbolic_outputs=True))
    assert seg.spec.dynamic_hw and "input up to 320x320 (dynamic, stride 32)" in seg.describe()
    image = np.zeros((480, 640, 3), np.uint8)
    image[(100 - 8) * 2 - 20:(100 - 8) * 2 + 20, 140:180] = 255
    (detection,) = seg(image).detections
    assert detection.box == pytest.approx((100.0, 134.0, 220.0, 234.0))  # ((80 -+ 30) / 0.5, (100 -+ 25 - 8) / 0.5)
    assert detection.mask.any()


def test_cameras_of_different_shapes_batch_in_groups_of_one_input_size(tmp_path):
    seg = Segmenter(seg_model(tmp_path / "m.onnx", "e2e", boxes=BOXES, dynamic_batch=True, dynamic_hw=True,
                              symbolic_outputs=True))
    calls = []
    run = seg.backend.run
    seg.backend.run = lambda batch: calls.append(batch.shape) or run(batch)
    wide = np.zeros((720, 1280, 3), np.uint8)
    results = seg.segment_batch([("a", _image()), ("b", wide), ("c", _image())])
    assert sorted(calls) == [(1, 3, 192, 320), (2, 3, 256, 320)]
    assert [r.batch_size for r in results] == [2, 1, 2]


def test_the_input_size_benchmark_compares_the_square_with_the_rectangle(tmp_path):
    from vis_ros.bench.input_size_bench import bench_input_sizes

    model = seg_model(tmp_path / "m.onnx", "e2e", input_hw=(640, 640), dynamic_hw=True, symbolic_outputs=True)
    report = bench_input_sizes(model, runs=2)
    vga, hd = report["cameras"]["640x480"], report["cameras"]["1280x720"]
    assert (vga["square_input"], vga["rectangle_input"], vga["pixels_saved"]) == ("640x640", "640x480", 0.25)
    assert (hd["rectangle_input"], hd["pixels_saved"]) == ("640x384", 0.4)
    assert vga["engine_ms_square"] > 0 and vga["engine_ms_rectangle"] > 0
    fixed = seg_model(tmp_path / "fixed.onnx", "e2e", input_hw=(640, 640))
    with pytest.raises(ValueError, match="has a fixed input size"):
        bench_input_sizes(fixed, runs=1)
