"""Several cameras in one engine call: the embedded models batch, per image exactly as alone.

The embedded FP32 and INT8 models have a dynamic batch axis (made by
vis_ros.core.model_tools.batch_axis, which `make train` applies to every export
and the quantizer keeps); a fixed-batch model (an Ultralytics export without
dynamic=True) still works, one image after another.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from yolo_onnx import yolo_seg_model

from vis_ros.core.data.model_path import resolve_model, share_file
from vis_ros.core.engine.precision import DEFAULT_INT8_MODEL_NAME
from vis_ros.core.engine.segmenter import Segmenter
from vis_ros.core.model_tools.batch_axis import has_dynamic_batch, make_batch_dynamic
from vis_ros.core.sim.scene import SimOptions
from vis_ros.core.sim.sequence import generate_sequence


def _images():
    """Three cameras' frames of different scenes and sizes."""
    images = []
    for seed, (w, h) in [(4_000_001, (640, 480)), (4_000_002, (320, 240)), (4_000_003, (848, 480))]:
        _, frames = generate_sequence(seed, 1, SimOptions(width=w, height=h, objects=6))
        images.append(next(frames).rgb)
    return images


@pytest.mark.parametrize("model", ["fp32", "int8"])
def test_a_batch_of_cameras_gives_each_image_what_it_gets_alone(model):
    path = resolve_model(None) if model == "fp32" else share_file("models", DEFAULT_INT8_MODEL_NAME)
    segmenter = Segmenter(path, providers=["CPUExecutionProvider"])
    assert segmenter.batches and segmenter.spec.batch is None
    images = _images()
    batched = segmenter.segment_batch(list(enumerate(images)))
    assert [r.batch_size for r in batched] == [3, 3, 3]
    found = 0
    for camera, (image, result) in enumerate(zip(images, batched, strict=True)):
        (alone,) = segmenter.segment_batch([(camera, image)])
        assert alone.batch_size == 1
        assert len(result.detections) == len(alone.detections)
        for a, b in zip(result.detections, alone.detections, strict=True):
            assert (a.class_id, a.roi) == (b.class_id, b.roi)
            assert a.score == pytest.approx(b.score, abs=1e-5)
            assert np.array_equal(a.mask, b.mask)
            found += 1
    assert found >= 6


def test_a_fixed_batch_model_runs_the_cameras_one_after_another(tmp_path):
    path = yolo_seg_model(tmp_path / "fixed.onnx", input_hw=(256, 320), num_classes=3,
                          boxes=[(160, 128, 100, 80, 1, 0.9)])
    segmenter = Segmenter(path, providers=["CPUExecutionProvider"])
    assert not segmenter.batches and segmenter.spec.batch == 1
    image = np.full((480, 640, 3), 255, np.uint8)
    results = segmenter.segment_batch([(0, image), (1, image[:240, :320])])
    assert [r.batch_size for r in results] == [1, 1]
    assert [len(r.detections) for r in results] == [1, 1]
    assert results[0].detections[0].class_name == "class1"


def test_the_batch_axis_rewrite_is_what_the_embedded_model_has_and_is_idempotent():
    proto = onnx.load(str(resolve_model(None)))
    assert has_dynamic_batch(proto)
    again = make_batch_dynamic(onnx.load(str(resolve_model(None))))
    assert again.graph == proto.graph  # already converted: nothing changes


def test_make_train_exports_with_a_dynamic_batch_axis(tmp_path):
    torch = pytest.importorskip("torch")
    from vis_ros.train.export import export_onnx
    from vis_ros.train.model import TinySeg
    from vis_ros.train.trainer import TrainConfig

    torch.manual_seed(0)
    path = export_onnx(TinySeg(3, 8, TrainConfig().activation), tmp_path / "tiny.onnx", ["a", "b", "c"], (64, 96))
    proto = onnx.load(str(path))
    assert has_dynamic_batch(proto)
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).random((2, 3, 64, 96), dtype=np.float32)
    both = session.run(None, {"images": x})
    for i in range(2):
        alone = session.run(None, {"images": x[i:i + 1]})
        for b, a in zip(both, alone, strict=True):
            assert np.allclose(b[i:i + 1], a, atol=1e-5)
