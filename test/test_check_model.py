"""`vis-ros check-model`: what a user runs first on a model they bring.

Held on its report (ModelCheck), which the printed lines and --json are made
from; one test reads the command's output as a user does.
"""
from __future__ import annotations

import json

from yolo_onnx import seg_model

from vis_ros.cli import main
from vis_ros.commands.check_model import check_model
from vis_ros.core.data.model_path import default_model_path
from vis_ros.core.engine.model_spec import END_TO_END, RAW_HEAD
from vis_ros.core.model_tools.end_to_end import write_end_to_end


def test_the_embedded_model_as_the_node_picks_it():
    report = check_model("", runs=2)
    assert report.accepted and report.layout == RAW_HEAD and report.needs_nms
    assert report.detections_per_image == 1680
    assert report.class_names == ("box", "ball", "cylinder", "cup", "bottle", "toy")
    assert (report.input_size, report.input_dtype, report.dynamic_size, report.stride, report.batch) == \
        ("320x256", "float32", False, 32, "dynamic")
    assert report.timed_on.startswith("640x480 image -> 320x256 input") and report.engine_ms_median > 0
    assert report.precision


def test_an_end_to_end_export(tmp_path):
    model = write_end_to_end(default_model_path(), tmp_path / "e2e.onnx")
    report = check_model(str(model), image_size=(1280, 720), runs=2)
    assert report.accepted and report.layout == END_TO_END and not report.needs_nms
    assert report.detections_per_image == 300 and report.timed_on.startswith("1280x720 image -> 320x256 input")


def test_a_dynamic_size_half_precision_export(tmp_path):
    model = seg_model(tmp_path / "m.onnx", "e2e", input_hw=(640, 640), dynamic_batch=True, dynamic_hw=True,
                      symbolic_outputs=True, fp16=True)
    report = check_model(str(model), image_size=(1280, 720), runs=2)
    assert report.accepted
    assert (report.input_size, report.input_dtype, report.dynamic_size, report.stride, report.batch) == \
        ("640x640", "float16", True, 32, "dynamic")
    assert report.timed_on.startswith("1280x720 image -> 640x384 input")


def test_a_refused_model_says_why_and_exits_2_as_printed_and_written(capsys, tmp_path):
    model = seg_model(tmp_path / "other.onnx", "e2e", extra_columns=2, metadata={
        "task": "segment", "imgsz": "[320, 320]", "names": repr({i: str(i) for i in range(80)})})
    report = check_model(str(model), runs=2)
    assert not report.accepted and report.reason.startswith("detection output 'output0' is [1, 300, 40]: neither")
    assert [(t.name, t.shape, t.dtype) for t in report.outputs][0] == ("output0", (1, 300, 40), "float32")
    code = main(["check-model", str(model), "--runs", "2", "--json", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert code == 2 and out.splitlines() == report.lines()
    assert "accepted  no: detection output 'output0' is [1, 300, 40]: neither the raw head" in out
    assert json.loads((tmp_path / "r.json").read_text()) == report.to_json()


def test_the_printed_report_of_an_accepted_model(capsys, tmp_path):
    assert main(["check-model", "default", "--runs", "2", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "layout    raw head: 1680 anchors, NMS in the node" in out and "accepted  yes" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["accepted"] and report["anchors"] == 1680 and report["engine_ms_median"] > 0


def test_a_missing_file_or_a_bad_size_is_one_line(capsys, tmp_path):
    code = main(["check-model", str(tmp_path / "none.onnx")])
    out = capsys.readouterr()
    assert code == 2 and out.err.strip() == f"vis-ros check-model: model file {tmp_path / 'none.onnx'} does not exist"
    code = main(["check-model", "default", "--image-size", "640"])
    assert code == 2 and "--image-size must be WIDTHxHEIGHT like 640x480, got '640'" in capsys.readouterr().err
