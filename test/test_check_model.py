"""`vis-ros check-model`: what a user runs first on a model they bring."""
from __future__ import annotations

import json

from yolo_onnx import seg_model

from vis_ros.cli import main
from vis_ros.core.data.model_path import default_model_path
from vis_ros.core.model_tools.end_to_end import write_end_to_end


def _check(capsys, *args) -> tuple[int, str]:
    code = main(["check-model", *map(str, args), "--runs", "2"])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_the_embedded_model_as_the_node_picks_it(capsys, tmp_path):
    code, out = _check(capsys, "default", "--json", tmp_path / "r.json")
    assert code == 0
    assert "layout    raw head: 1680 anchors, NMS in the node" in out
    assert "classes   6: box, ball, cylinder, cup, bottle, toy" in out
    assert "accepted  yes" in out and "640x480 image -> 320x256 input" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["accepted"] and report["precision"] and report["engine_ms_median"] > 0
    assert report["input"] == {"size": "320x256", "dtype": "float32", "dynamic_size": False, "stride": 32,
                               "batch": "dynamic"}


def test_an_end_to_end_export(capsys, tmp_path):
    model = write_end_to_end(default_model_path(), tmp_path / "e2e.onnx")
    code, out = _check(capsys, model, "--image-size", "1280x720")
    assert code == 0
    assert "layout    end-to-end: 300 rows per image, no NMS" in out and "1280x720 image -> 320x256 input" in out


def test_a_dynamic_size_half_precision_export(capsys, tmp_path):
    model = seg_model(tmp_path / "m.onnx", "e2e", input_hw=(640, 640), dynamic_batch=True, dynamic_hw=True,
                      symbolic_outputs=True, fp16=True)
    code, out = _check(capsys, model, "--image-size", "1280x720")
    assert code == 0
    assert "input     640x640 float16, batch dynamic, dynamic size (stride 32)" in out
    assert "1280x720 image -> 640x384 input" in out


def test_a_refused_model_says_why_and_exits_2(capsys, tmp_path):
    model = seg_model(tmp_path / "other.onnx", "e2e", extra_columns=2, metadata={
        "task": "segment", "imgsz": "[320, 320]", "names": repr({i: str(i) for i in range(80)})})
    code, out = _check(capsys, model, "--json", tmp_path / "r.json")
    assert code == 2
    assert "output    output0 [1, 300, 40] float32" in out
    assert "accepted  no: detection output 'output0' is [1, 300, 40]: neither the raw head" in out
    assert json.loads((tmp_path / "r.json").read_text())["accepted"] is False


def test_a_missing_file_or_a_bad_size_is_one_line(capsys, tmp_path):
    code, out = _check(capsys, tmp_path / "none.onnx")
    assert code == 2 and out.strip() == f"vis-ros check-model: model file {tmp_path / 'none.onnx'} does not exist"
    code, out = _check(capsys, "default", "--image-size", "640")
    assert code == 2 and "--image-size must be WIDTHxHEIGHT like 640x480, got '640'" in out
