"""The TensorRT backend, against a strict fake and (where possible) for real.

The TensorRT backend against a strict fake of the TensorRT 10 API (see
test/helpers/fake_tensorrt.py), plus a real-engine test that runs only where
`tensorrt` and a CUDA GPU exist.
"""
from __future__ import annotations

import json

import fake_tensorrt as trt
import numpy as np
import pytest

from vis_ros.core.data.errors import ModelLayoutError, ModelLoadError
from vis_ros.core.engine.backends.engine_file import EngineKey, read_engine, write_engine
from vis_ros.core.engine.backends.tensorrt_backend import TensorRTBackend
from vis_ros.core.engine.segmenter import Segmenter

NAMES = dict(enumerate(["box", "ball", "cylinder", "cup", "bottle", "toy"]))
META = {"names": repr(NAMES), "imgsz": "[256, 320]", "task": "segment", "stride": "32"}


def _engine(tmp_path, tensors=None, boxes=((160, 128, 60, 40, 3, 0.9),), metadata=META,
            key: EngineKey | None = None, name="m.engine", **plan_kwargs):
    meta = dict(metadata)
    if key is not None:
        meta["engine_key"] = key.__dict__
    plan = trt.make_plan(tensors or trt.yolo_seg_tensors(), boxes, **plan_kwargs)
    return write_engine(tmp_path / name, plan, meta)


def _segmenter(path, memory=None):
    return Segmenter(path, backend="tensorrt", memory=memory or trt.FakeCudaMemory(), trt_module=trt)


def test_engine_runs_end_to_end_through_the_segmenter(tmp_path):
    memory = trt.FakeCudaMemory()
    seg = _segmenter(_engine(tmp_path), memory)
    assert seg.class_names[3] == "cup" and seg.spec.input_hw == (256, 320)
    image = np.zeros((480, 640, 3), np.uint8)
    image[200:260, 260:380] = 255  # bright: prototype 0 positive there
    result = seg(image)
    (det,) = result.detections
    assert det.class_name == "cup" and det.score == pytest.approx(0.9)
    # 256x320 input from 640x480: scale 0.5, pad 8 px top -> box centre (320, 240) in source.
    assert det.box == pytest.approx((260, 200, 380, 280))
    full = det.full_mask(480, 640)
    assert full[205:255, 265:375].all() and not full[265:280].any()
    assert memory.synchronizations == 1 and seg.backend.context.executions == 1
    # A second frame reuses every buffer and sees the new image, not the old one.
    assert seg(np.zeros((480, 640, 3), np.uint8)).detections[0].mask.sum() == 0


def test_dynamic_batch_engine_gets_batch_one(tmp_path):
    path = _engine(tmp_path, trt.yolo_seg_tensors(dynamic_batch=True))
    seg = _segmenter(path)
    assert seg.backend.inputs[0].shape == (1, 3, 256, 320)
    assert len(seg(np.zeros((480, 640, 3), np.uint8)).detections) == 1


def test_a_dynamic_batch_engine_runs_several_cameras_in_one_execution_up_to_its_profile(tmp_path):
    memory = trt.FakeCudaMemory()
    seg = _segmenter(_engine(tmp_path, trt.yolo_seg_tensors(dynamic_batch=True), max_batch=4), memory)
    assert seg.backend.max_batch == 4 and seg.batches and seg.spec.batch is None
    bright, dark = np.zeros((480, 640, 3), np.uint8), np.zeros((240, 320, 3), np.uint8)
    bright[200:260, 260:380] = 255
    results = seg.segment_batch([(0, bright), (1, dark), (2, bright)])
    assert seg.backend.context.executions == 1 and [r.batch_size for r in results] == [3, 3, 3]
    assert [len(r.detections) for r in results] == [1, 1, 1]
    assert results[0].detections[0].mask.sum() > 0 and results[1].detections[0].mask.sum() == 0
    assert results[2].detections[0].box == pytest.approx(results[0].detections[0].box)
    assert results[1].detections[0].box == pytest.approx((130, 100, 190, 140))  # its own letterbox (half size)
    six = seg.segment_batch([(k, bright) for k in range(6)])  # more than the profile: two executions
    assert len(six) == 6 and seg.backend.context.executions == 3
    (alone,) = seg.segment_batch([(0, bright)])
    assert alone.detections[0].box == pytest.approx(results[0].detections[0].box)
    with pytest.raises(ModelLayoutError, match="does not fit engine input"):
        seg.backend.run(np.zeros((5, 3, 256, 320), np.float32))


def test_the_fake_refuses_a_batch_outside_the_profile_and_undersized_buffers(tmp_path):
    engine = trt.Runtime(trt.ILogger()).deserialize_cuda_engine(
        trt.make_plan(trt.yolo_seg_tensors(dynamic_batch=True), max_batch=2))
    assert engine.get_tensor_profile_shape("images", 0)[2] == (2, 3, 256, 320)
    context = engine.create_execution_context()
    assert not context.set_input_shape("images", (3, 3, 256, 320))
    assert context.set_input_shape("images", (2, 3, 256, 320))
    assert context.get_tensor_shape("output1") == (2, 32, 64, 80)
    memory = trt.FakeCudaMemory()
    for name in ("images", "output0", "output1"):
        context.set_tensor_address(name, memory.device_empty((1, *context.get_tensor_shape(name)[1:]), np.float32))
    with pytest.raises(RuntimeError, match="needs"):
        context.execute_async_v3(memory.stream_handle)


def test_engine_of_another_tensorrt_version_is_refused_with_the_reason(tmp_path):
    path = _engine(tmp_path, trt_version="8.6.1")
    with pytest.raises(ModelLoadError, match="expecting library version 10.3.0 got 8.6.1"):
        _segmenter(path)


def test_corrupt_and_missing_engine_files(tmp_path):
    corrupt = tmp_path / "corrupt.engine"
    corrupt.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelLoadError, match="Serialization assertion"):
        _segmenter(corrupt)
    with pytest.raises(ModelLoadError, match="does not exist"):
        _segmenter(tmp_path / "missing.engine")
    truncated = tmp_path / "short.engine"
    truncated.write_bytes(b"\x01\x00")
    with pytest.raises(ModelLoadError, match="truncated"):
        _segmenter(truncated)


def test_engine_built_for_another_gpu_is_refused_before_deserialising(tmp_path):
    key = EngineKey("NVIDIA Jetson AGX Orin", "8.7", "10.3.0", True, False, 1024, 1, "ab" * 32)
    path = _engine(tmp_path, key=key)
    with pytest.raises(ModelLoadError, match="gpu_name 'NVIDIA Jetson AGX Orin'.*here 'NVIDIA Fake GPU'"):
        _segmenter(path)
    same = EngineKey("NVIDIA Fake GPU", "8.7", "10.3.0", True, False, 1024, 1, "ab" * 32)
    assert _segmenter(_engine(tmp_path, key=same, name="ok.engine")).spec.num_classes == 6


@pytest.mark.parametrize("tensors, message", [
    (trt.yolo_seg_tensors(outputs=1), "detection-only export"),
    (trt.yolo_seg_tensors(num_classes=80), "class list does not match"),
])
def test_engine_with_unexpected_io_is_refused(tmp_path, tensors, message):
    with pytest.raises(ModelLayoutError, match=message):
        _segmenter(_engine(tmp_path, tensors))


def test_ultralytics_style_header_round_trips(tmp_path):
    path = write_engine(tmp_path / "x.engine", b"PLAN", {"names": {"0": "a"}, "imgsz": [640, 640]})
    metadata, plan = read_engine(path)
    assert plan == b"PLAN" and metadata["imgsz"] == [640, 640]
    raw = path.read_bytes()
    length = int.from_bytes(raw[:4], "little")
    assert json.loads(raw[4:4 + length]) == metadata


def test_fake_is_strict_about_call_order(tmp_path):
    """The fake rejects what real TensorRT rejects, so the backend passing is meaningful."""
    memory = trt.FakeCudaMemory()
    engine = trt.Runtime(trt.ILogger()).deserialize_cuda_engine(trt.make_plan(trt.yolo_seg_tensors()))
    ctx = engine.create_execution_context()
    with pytest.raises(RuntimeError, match="input shape of 'images' not set"):
        ctx.execute_async_v3(memory.stream_handle)
    assert ctx.set_input_shape("images", (1, 3, 100, 100)) is False
    assert ctx.set_input_shape("images", (1, 3, 256, 320)) is True
    with pytest.raises(RuntimeError, match="no address set for tensor 'images'"):
        ctx.execute_async_v3(memory.stream_handle)
    ctx.set_tensor_address("images", memory.device_empty((1, 3, 8, 8), np.float32))
    with pytest.raises(RuntimeError, match="buffer for 'images' has 768 bytes, needs 983040"):
        ctx.execute_async_v3(memory.stream_handle)
    ctx.set_tensor_address("images", memory.device_empty((1, 3, 256, 320), np.float32))
    with pytest.raises(RuntimeError, match="no address set for tensor 'output0'"):
        ctx.execute_async_v3(memory.stream_handle)
    with pytest.raises(TypeError, match="integer CUDA stream"):
        ctx.execute_async_v3(None)


def test_backend_reads_outputs_only_after_synchronising(tmp_path):
    memory = trt.FakeCudaMemory()
    backend = TensorRTBackend(_engine(tmp_path), memory=memory, trt_module=trt)
    outputs = backend.run(np.ones((1, 3, 256, 320), np.float32))
    assert not np.isnan(outputs["output1"]).any()
    assert outputs["output1"][0, 0, 10, 10] == pytest.approx(0.5)


def _real_tensorrt_available() -> bool:
    try:
        import tensorrt  # noqa: F401
        import torch
        return torch.cuda.is_available()
    except Exception:
        return False


@pytest.mark.skipif(not _real_tensorrt_available(), reason="needs the tensorrt package and a CUDA GPU")
def test_real_engine_built_from_the_embedded_model(tmp_path):
    from vis_ros.core.data.model_path import default_model_path
    from vis_ros.core.model_tools.engine_builder import BuildOptions, build_engine

    engine = build_engine(default_model_path(), tmp_path, BuildOptions(fp16=True))
    seg = Segmenter(engine, backend="tensorrt")
    assert seg(np.zeros((480, 640, 3), np.uint8)).detections == []


# -- build-engine, against the fake builder --------------------------------------------------
def _build(onnx_path, cache, **options):
    from vis_ros.core.model_tools.engine_builder import BuildOptions, build_engine

    logs = []
    engine = build_engine(onnx_path, cache, BuildOptions(**options), log=logs.append,
                          memory=trt.FakeCudaMemory(), trt_module=trt)
    return engine, logs


def test_build_engine_from_an_end_to_end_export_runs_with_the_same_decoder(tmp_path):
    from vis_ros.core.data.model_path import default_model_path
    from vis_ros.core.engine.backends.engine_file import read_engine
    from vis_ros.core.engine.model_spec import END_TO_END
    from vis_ros.core.model_tools.end_to_end import write_end_to_end

    onnx_path = write_end_to_end(default_model_path(), tmp_path / "e2e.onnx")
    engine, logs = _build(onnx_path, tmp_path / "cache", fp16=True, max_batch=4)
    metadata, _ = read_engine(engine)
    assert metadata["end2end"] == "True" and metadata["engine_key"]["max_batch"] == 4
    seg = _segmenter(engine)
    assert seg.spec.layout == END_TO_END and seg.backend.outputs[0].shape == ("batch", 300, 38)
    image = np.zeros((480, 640, 3), np.uint8)
    image[200:260, 260:380] = 255
    (det,) = seg(image).detections  # the fake plan's box, as rows: centre (160, 128) of the 320x256 input
    assert det.class_name == "cup" and det.box == pytest.approx((260, 200, 380, 280)) and det.mask.any()
    results = seg.segment_batch([(k, image) for k in range(3)])
    assert [r.batch_size for r in results] == [3, 3, 3] and seg.backend.context.executions == 2
    again, logs = _build(onnx_path, tmp_path / "cache", fp16=True, max_batch=4)
    assert again == engine and logs == [f"engine cache hit: {engine}"]


def test_build_engine_covers_every_input_a_dynamic_size_model_gets(tmp_path):
    from yolo_onnx import seg_model

    # rows stay (300, 38) at any size, as TensorRT computes them for a YOLO26 dynamic=True export
    onnx_path = seg_model(tmp_path / "dyn.onnx", "e2e", input_hw=(640, 640), dynamic_batch=True, dynamic_hw=True)
    engine, _ = _build(onnx_path, tmp_path, fp16=True, max_batch=2)
    seg = _segmenter(engine)
    assert seg.spec.dynamic_hw and seg.backend.max_batch == 2
    assert seg.backend.engine.get_tensor_profile_shape("images", 0) == ((1, 3, 32, 32), (1, 3, 640, 640),
                                                                       (2, 3, 640, 640))
    context = seg.backend.context
    (det,) = seg(np.zeros((480, 640, 3), np.uint8)).detections
    assert context.get_tensor_shape("images") == (1, 3, 480, 640)  # 640x480 needs no padding at all
    assert det.box == pytest.approx((130, 108, 190, 148))
    (det,) = seg(np.zeros((720, 1280, 3), np.uint8)).detections
    assert context.get_tensor_shape("images") == (1, 3, 384, 640)  # 16:9: 640x360, padded to 384
    assert det.box == pytest.approx((260, 192, 380, 272))
    results = seg.segment_batch([(0, np.zeros((480, 640, 3), np.uint8)), (1, np.zeros((720, 1280, 3), np.uint8))])
    assert [r.batch_size for r in results] == [1, 1]  # two input sizes: two executions
    with pytest.raises(ModelLayoutError, match=r"does not fit engine input \(1..2 images of 32x32..640x640\)"):
        seg.backend.run(np.zeros((1, 3, 704, 640), np.float32))


def test_the_fake_builder_holds_tensorrts_build_contract(tmp_path):
    from vis_ros.core.data.model_path import default_model_path
    from vis_ros.core.model_tools.end_to_end import write_end_to_end

    logger = trt.ILogger()
    logger.log = lambda severity, msg: messages.append(msg)
    messages = []
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    assert trt.OnnxParser(network, logger).parse(default_model_path().read_bytes())
    assert network.get_input(0).shape == (-1, 3, 256, 320)
    config = builder.create_builder_config()
    assert builder.build_serialized_network(network, config) is None  # dynamic batch, no profile
    assert "no optimization profile has been defined" in messages[-1]
    profile = builder.create_optimization_profile()
    with pytest.raises(ValueError, match="min <= opt <= max"):
        profile.set_shape("images", (2, 3, 256, 320), (1, 3, 256, 320), (4, 3, 256, 320))
    profile.set_shape("images", (1, 3, 256, 320), (1, 3, 256, 320), (4, 3, 256, 320))
    config.add_optimization_profile(profile)
    config.set_flag(trt.BuilderFlag.INT8)
    assert builder.build_serialized_network(network, config) is None
    assert "Calibration profile must be set" in messages[-1]
    config.set_calibration_profile(profile)
    assert builder.build_serialized_network(network, config) is not None
    huge = write_end_to_end(default_model_path(), tmp_path / "k.onnx", max_det=5000)  # K = all 1680 anchors
    assert trt.OnnxParser(builder.create_network(0), logger).parse(huge.read_bytes())
    import onnx

    model = onnx.load(str(huge))
    k_name = next(n.input[1] for n in model.graph.node if n.op_type == "TopK")
    k = next(i for i in model.graph.initializer if i.name == k_name)
    k.CopyFrom(onnx.numpy_helper.from_array(np.array([5000], np.int64), k_name))
    parser = trt.OnnxParser(builder.create_network(0), logger)
    assert not parser.parse(model.SerializeToString()) and "exceeds 3840" in parser.get_error(0)
