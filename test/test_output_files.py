"""Writing a user's file: complete or not at all, never half of a new one over a good one."""
from __future__ import annotations

import json

import pytest

from vis_ros.core.data.files import replaced_when_done, write_json


def test_a_finished_write_replaces_the_file_and_leaves_nothing_beside_it(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")
    write_json(path, {"frames": 3})
    assert json.loads(path.read_text()) == {"frames": 3}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"good model")
    with pytest.raises(RuntimeError), replaced_when_done(path) as partial:
        partial.write_bytes(b"half of a new")
        raise RuntimeError("interrupted")
    assert path.read_bytes() == b"good model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_a_failed_first_write_leaves_no_file(tmp_path):
    with pytest.raises(ValueError), replaced_when_done(tmp_path / "index.parquet") as partial:
        partial.write_bytes(b"rows")
        raise ValueError("bad row")
    assert list(tmp_path.iterdir()) == []
