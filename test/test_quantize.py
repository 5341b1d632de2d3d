"""INT8 quantization for the CPU: calibration sources, the quantizer, precision choice.

The shipped INT8 embedded model is held to the FP32 one on held-out sim
frames (tolerances below, measured with margin: on 12 frames, 77 of 77
confident detections matched, box IoU min 0.91 / median 0.98, score
difference max 0.095, mask IoU min 0.93 / median 0.989).
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from vis_ros.core.data.errors import ModelLayoutError
from vis_ros.core.data.model_path import default_model_path, share_file
from vis_ros.core.engine.decoder import DecoderConfig
from vis_ros.core.engine.precision import ModelChoice, choose_model, cpu_int8_flags, model_precision
from vis_ros.core.engine.segmenter import Segmenter
from vis_ros.core.model_tools.calibration import calibration_tensors
from vis_ros.core.model_tools.quantize import decode_tail, quantize_model
from vis_ros.core.sim.scene import SimOptions
from vis_ros.core.sim.sequence import generate_sequence
from vis_ros.io.calibration_images import CalibrationSource

INT8_MODEL = "vis_ros_default_int8.onnx"


def _held_out_image(seed: int):
    """Return the first frame of sim scene 1,000,100 + seed, 8 objects: the frames these tests compare on."""
    return next(generate_sequence(1_000_100 + seed, 1, SimOptions(objects=8))[1]).rgb


def _box_iou(a, b):
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(x1 - x0, 0) * max(y1 - y0, 0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one calibration source"),
    ({"sim_frames": 4, "folder": "x"}, "exactly one calibration source"),
    ({"sim_frames": 4, "count": 0}, "count must be >= 1"),
])
def test_a_calibration_source_is_exactly_one_of_folder_bag_or_sim(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CalibrationSource(**kwargs)


def test_unreadable_images_are_skipped_and_counted_and_none_readable_is_an_error(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"good{i}.png"), rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    (tmp_path / "notes.txt").write_text("ignored: not an image suffix")
    source = CalibrationSource(folder=tmp_path, count=10)
    tensors = list(calibration_tensors(source, (256, 320)))
    assert len(tensors) == 3 and source.skipped == 1
    assert tensors[0].shape == (1, 3, 256, 320) and tensors[0].dtype == np.float32
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "broken.jpg").write_bytes(b"\xff\xd8 nothing")
    with pytest.raises(ValueError, match=f"no readable calibration image in images under {empty} \\(1 unreadable\\)"):
        list(CalibrationSource(folder=empty).images())
    with pytest.raises(ValueError, match="does not exist"):
        list(CalibrationSource(folder=tmp_path / "missing").images())


def test_calibration_images_come_from_a_bag_topic_and_from_the_simulator(tmp_path):
    from vis_ros.core.sim.dataset import SimDataset, write_sequence
    from vis_ros.io.bag_export import COLOR_TOPIC, export_bag

    write_sequence(tmp_path / "seq", 2_000_051, 3)
    export_bag(SimDataset(tmp_path / "seq"), tmp_path / "bag")
    from_bag = list(CalibrationSource(bag=tmp_path / "bag", topic=COLOR_TOPIC).images())
    assert len(from_bag) == 3 and from_bag[0].shape == (480, 640, 3)
    with pytest.raises(ValueError, match="has no topic /nope"):
        list(CalibrationSource(bag=tmp_path / "bag", topic="/nope").images())
    assert len(list(CalibrationSource(sim_frames=2).images())) == 2


def test_an_ultralytics_layout_export_quantizes_and_decodes_like_fp32(tmp_path):
    from yolo_onnx import yolo_seg_model

    fp32 = yolo_seg_model(tmp_path / "yolo.onnx", input_hw=(320, 320), num_classes=3,
                          boxes=[(100, 120, 80, 60, 1, 0.9), (220, 200, 60, 90, 2, 0.8)],
                          metadata={"names": "{0: 'a', 1: 'b', 2: 'c'}", "imgsz": "[320, 320]"})
    report = quantize_model(fp32, tmp_path / "yolo_int8.onnx", CalibrationSource(sim_frames=8))
    assert report.calibration_images == 8 and model_precision(report.out) == "int8"
    image = np.full((480, 640, 3), 40, np.uint8)
    image[100:380, 80:560] = 230  # the helper's masks follow image brightness: bright inside the boxes
    a, b = Segmenter(fp32)(image).detections, Segmenter(report.out)(image).detections
    assert [(d.class_id, d.score) for d in a] == [(d.class_id, d.score) for d in b] and len(a) == 2
    for da, db in zip(a, b, strict=True):
        ma, mb = da.full_mask(480, 640), db.full_mask(480, 640)
        assert ma.sum() > 100 and (ma & mb).sum() / (ma | mb).sum() >= 0.9


def test_a_model_not_in_the_yolo_seg_layout_is_refused_as_the_node_refuses_it(tmp_path):
    from yolo_onnx import yolo_seg_model

    bad = yolo_seg_model(tmp_path / "one_output.onnx", drop_output1=True)
    with pytest.raises(ModelLayoutError):
        quantize_model(bad, tmp_path / "out.onnx", CalibrationSource(sim_frames=2))


def test_quantize_never_destroys_the_user_s_model_and_leaves_nothing_on_failure(tmp_path, capsys):
    """Out == in, an INT8 input, an unwritable out: refused before calibrating, one line, nothing written."""
    from yolo_onnx import yolo_seg_model

    from vis_ros.cli import main

    fp32 = yolo_seg_model(tmp_path / "yolo.onnx", input_hw=(160, 160), num_classes=2)
    before = fp32.read_bytes()
    calls = ["quantize", "--sim", "2", "--onnx"]
    assert main(calls + [str(fp32), "--out", str(tmp_path / "." / "yolo.onnx")]) == 2
    assert "is the input model: quantize writes a new file and never replaces its input" in capsys.readouterr().err
    assert fp32.read_bytes() == before
    int8 = share_file("models", INT8_MODEL)
    assert main(calls + [str(int8), "--out", str(tmp_path / "again.onnx")]) == 2
    assert "is already quantized (int8); quantize its FP32 original" in capsys.readouterr().err
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    assert main(calls + [str(fp32), "--out", str(a_file / "out.onnx")]) == 2
    assert f"{a_file} is not a folder" in capsys.readouterr().err
    bad = yolo_seg_model(tmp_path / "one_output.onnx", drop_output1=True)
    assert main(calls + [str(bad), "--out", str(tmp_path / "bad_int8.onnx")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "one_output.onnx", "yolo.onnx"]


def test_the_decode_tail_stays_float_and_stops_at_the_head_convolutions():
    import onnx

    model = onnx.load(str(default_model_path()))
    tail = decode_tail(model, "output0")
    ops = {n.name: n.op_type for n in model.graph.node}
    assert tail and "Conv" not in {ops[name] for name in tail}
    assert {"Concat", "Sigmoid", "Softplus", "Reshape"} <= {ops[name] for name in tail}
    assert not any(name.startswith("/proto") for name in tail)  # prototypes run in int8


def test_the_shipped_int8_model_matches_fp32_on_held_out_sim_frames():
    path = share_file("models", INT8_MODEL)
    assert model_precision(path) == "int8" and model_precision(default_model_path()) == "fp32"
    config = DecoderConfig(score_threshold=0.4)
    fp32, int8 = Segmenter(default_model_path(), decoder=config), Segmenter(path, decoder=config)
    assert int8.class_names == fp32.class_names
    box_ious, mask_ious, confident = [], [], 0
    for seed in range(6):
        image = _held_out_image(seed)
        quantized = int8(image).detections
        for det in (d for d in fp32(image).detections if d.score >= 0.5):
            confident += 1
            best = max(quantized, key=lambda q, d=det: _box_iou(d.box, q.box))
            assert _box_iou(det.box, best.box) >= 0.8 and best.class_id == det.class_id
            assert abs(best.score - det.score) <= 0.15
            box_ious.append(_box_iou(det.box, best.box))
            ma, mb = det.full_mask(480, 640), best.full_mask(480, 640)
            mask_ious.append((ma & mb).sum() / max((ma | mb).sum(), 1))
    assert confident >= 20
    assert np.median(box_ious) >= 0.95 and np.median(mask_ious) >= 0.95 and min(mask_ious) >= 0.85


@pytest.mark.parametrize("precision, flags, expected", [
    ("auto", ("avx512_vnni",), "int8"), ("auto", ("avx2",), "int8"), ("auto", (), "fp32"), ("int8", (), "int8"),
    ("fp32", ("amx_int8",), "fp32")])
def test_the_embedded_model_is_chosen_by_precision_and_cpu(precision, flags, expected):
    choice = choose_model("", precision, int8_flags=flags)
    assert isinstance(choice, ModelChoice) and choice.precision == expected
    assert choice.path.name == (INT8_MODEL if expected == "int8" else default_model_path().name)
    if precision == "auto":
        assert choice.reason.startswith("auto: ")


def test_auto_keeps_fp32_when_the_engine_runs_on_a_gpu():
    choice = choose_model("", "auto", int8_flags=("avx512_vnni",), on_cpu=False)
    assert (choice.precision, choice.reason) == ("fp32", "auto: the engine runs on a GPU")
    assert choose_model("", "int8", int8_flags=(), on_cpu=False).precision == "int8"  # asked for: honoured


def test_a_given_model_runs_at_its_own_precision_and_another_is_refused_with_the_fix(tmp_path):
    fp32 = str(default_model_path())
    assert choose_model(fp32, "auto").precision == "fp32"
    with pytest.raises(ValueError, match="precision int8 asked for, but model .* is fp32; make one with `vis-ros"
                                         " quantize"):
        choose_model(fp32, "int8")
    with pytest.raises(ValueError, match="precision must be one of"):
        choose_model("", "int4")


def test_the_cpu_features_auto_goes_by_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse4_2 avx avx2 fma\nprocessor\t: 1\nflags\t\t: avx avx2\n")
    assert cpu_int8_flags(cpuinfo) == ("avx2",)  # AVX2 without VNNI: INT8 still measured faster
    cpuinfo.write_text("flags\t\t: sse4_2 avx\n")
    assert cpu_int8_flags(cpuinfo) == ()
    assert cpu_int8_flags(tmp_path / "missing") == ()


def test_the_shipped_int8_model_computes_the_same_on_every_cpu():
    """7-bit weights: AVX2's 16-bit pairwise multiply-add cannot saturate.

    So the fused int8 kernels give what the QDQ graph says computed exactly (as VNNI / AMX
    do) on any x86 CPU. With full 8-bit weights an AVX2-only CPU moved class scores by up
    to 0.17 (a ball became a toy).
    """
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    path = share_file("models", INT8_MODEL)
    weights = [numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer
               if t.data_type == onnx.TensorProto.INT8]
    assert weights and max(int(np.abs(w.astype(np.int32)).max()) for w in weights) <= 64
    sessions = []
    for level in (ort.GraphOptimizationLevel.ORT_ENABLE_ALL, ort.GraphOptimizationLevel.ORT_DISABLE_ALL):
        options = ort.SessionOptions()
        options.graph_optimization_level = level  # disabled: DequantizeLinear -> float op -> QuantizeLinear
        sessions.append(ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]))
    segmenter = Segmenter(path)
    scores = slice(4, 4 + len(segmenter.class_names))  # output0 rows: 4 box, then one per class
    for seed in range(4):
        tensor, _ = segmenter.preprocess(_held_out_image(seed))
        fused, reference = (s.run([segmenter.spec.detections_name], {segmenter.spec.input_name: tensor})[0][0]
                            for s in sessions)
        assert np.abs(fused[scores] - reference[scores]).max() <= 0.1


def test_an_end_to_end_export_quantizes_with_its_selection_tail_in_float(tmp_path):
    """Top-k, NMS, gathers and the class index stay float (an int8 class index is meaningless)."""
    import onnx

    from vis_ros.core.engine.model_spec import END_TO_END
    from vis_ros.core.model_tools.end_to_end import write_end_to_end

    fp32 = write_end_to_end(default_model_path(), tmp_path / "e2e.onnx")
    report = quantize_model(fp32, tmp_path / "e2e_int8.onnx", CalibrationSource(sim_frames=8))
    model = onnx.load(str(report.out))
    producer = {out: node for node in model.graph.node for out in node.output}
    selection = [n for n in model.graph.node if n.op_type in
                 ("TopK", "NonMaxSuppression", "GatherElements", "ArgMax", "ScatterND", "ReduceMax")]
    assert len(selection) == 6
    for node in selection:
        feeding = {producer[i].op_type for i in node.input if i in producer}
        assert not feeding & {"DequantizeLinear", "QuantizeLinear"}, (node.op_type, feeding)
    assert any(n.op_type == "QuantizeLinear" for n in model.graph.node)  # the network itself is int8
    assert model_precision(report.out) == "int8"
    config = DecoderConfig(score_threshold=0.4)
    reference, quantized = Segmenter(fp32, decoder=config), Segmenter(report.out, decoder=config)
    assert quantized.spec.layout == END_TO_END
    matched = 0
    for seed in range(3):
        image = _held_out_image(seed)
        got = quantized(image).detections
        for det in (d for d in reference(image).detections if d.score >= 0.5):
            best = max(got, key=lambda q, d=det: _box_iou(d.box, q.box))
            assert _box_iou(det.box, best.box) >= 0.8 and best.class_id == det.class_id
            matched += 1
    assert matched >= 10
