"""The embedded model re-exported end to end (core/model_tools/end_to_end.py) decodes as the raw head does.

The tail (best class, greedy NMS, top K) computes what the raw-head decoder
does, so on sim frames the two give identical detections and the same IDs
through the pipeline, and the node runs the end-to-end copy as it runs any model.
"""
from __future__ import annotations

import time

import pytest

from vis_ros.core.data.model_path import default_model_path
from vis_ros.core.engine.decoder import DecoderConfig
from vis_ros.core.engine.model_spec import END_TO_END
from vis_ros.core.engine.segmenter import Segmenter
from vis_ros.core.model_tools.end_to_end import write_end_to_end
from vis_ros.core.sim.scene import SimOptions
from vis_ros.core.sim.sequence import generate_sequence


@pytest.fixture(scope="module")
def e2e_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e")
    return {"agnostic": write_end_to_end(default_model_path(), folder / "agnostic.onnx"),
            "per_class": write_end_to_end(default_model_path(), folder / "per_class.onnx", class_agnostic=False)}


def _summary(detections):
    return [(d.class_id, round(d.score, 4), d.roi, int(d.mask_area)) for d in detections]


@pytest.mark.parametrize("nms", ["agnostic", "per_class"])
def test_the_end_to_end_copy_finds_what_the_raw_head_finds(e2e_models, nms):
    config = DecoderConfig(score_threshold=0.25, class_agnostic_nms=nms == "agnostic")
    raw = Segmenter(default_model_path(), decoder=config)
    e2e = Segmenter(e2e_models[nms], decoder=config)
    assert e2e.spec.layout == END_TO_END and e2e.backend.outputs[0].shape[1:] == (300, 38)
    _, frames = generate_sequence(2_000_003, 12, SimOptions(objects=10))
    found = 0
    for frame in frames:
        expected = _summary(raw(frame.rgb).detections)
        assert _summary(e2e(frame.rgb).detections) == expected
        found += len(expected)
    assert found >= 12 * 5


def test_the_end_to_end_copy_batches_cameras_like_the_raw_model(e2e_models):
    e2e = Segmenter(e2e_models["agnostic"])
    _, frames = generate_sequence(2_000_004, 3, SimOptions(objects=6))
    images = [f.rgb for f in frames]
    alone = [_summary(e2e(image).detections) for image in images]
    batched = e2e.segment_batch(list(enumerate(images)))
    assert [r.batch_size for r in batched] == [3, 3, 3]
    assert [_summary(r.detections) for r in batched] == alone


def test_tracking_with_the_end_to_end_copy_matches_the_raw_head(e2e_models):
    from vis_ros.evaluation.tracking_eval import evaluate_tracking

    scores = {name: evaluate_tracking(path, sequences=1, frames=30, intervals=(1,))["modes"]["frame_by_frame"]
              for name, path in (("raw", default_model_path()), ("e2e", e2e_models["agnostic"]))}
    assert scores["raw"]["IDF1"] > 0.8
    assert abs(scores["e2e"]["IDF1"] - scores["raw"]["IDF1"]) <= 0.01, scores


def test_the_re_export_never_replaces_its_input_and_leaves_nothing_on_failure(tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(default_model_path().read_bytes())
    with pytest.raises(ValueError, match="is the input model"):
        write_end_to_end(model, model)
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(Exception):  # noqa: B017 (onnx's own parse error)
        write_end_to_end(tmp_path / "bad.onnx", tmp_path / "out.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.onnx", "m.onnx"]


@pytest.mark.ros
def test_the_node_runs_an_end_to_end_model(e2e_models, rclpy_context):
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from vis_ros.msg import InstanceArray
    from vis_ros.ros.image_msgs import image_msg
    from vis_ros.ros.node import VisRosNode

    node = VisRosNode(context=rclpy_context, parameter_overrides=[
        Parameter("model", value=str(e2e_models["agnostic"])), Parameter("qos_reliability", value="reliable")])
    camera = rclpy.create_node("camera", context=rclpy_context)
    received = []
    camera.create_subscription(InstanceArray, "vis_ros/instances", received.append, 10)
    publisher = camera.create_publisher(Image, "image", 10)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    executor.add_node(camera)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert "end-to-end" in node.worker.describe()
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        _, frames = generate_sequence(2_000_005, 6, SimOptions(objects=6))
        for frame in frames:
            publisher.publish(image_msg(Header(stamp=camera.get_clock().now().to_msg(), frame_id="cam"),
                                        frame.rgb, "rgb8"))
            deadline = time.monotonic() + 0.3
            while time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.01)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(received) < 4:
            executor.spin_once(timeout_sec=0.05)
        assert len(received) >= 4 and any(len(m.instances) >= 3 for m in received)
        ids = {i.id for m in received for i in m.instances}
        assert ids and all(i > 0 for i in ids) and all(len(i.mask_runs) for m in received for i in m.instances)
    finally:
        node.trigger_deactivate()
        node.trigger_cleanup()
        camera.destroy_node()
        node.destroy_node()


def test_class_filter_picks_among_the_models_classes_at_run_time(e2e_models):
    """As for a YOLOE export with baked classes: the names are the model's, the filter is the node's."""
    import logging

    from vis_ros.core.config.factories import build_runner, build_segmenter
    from vis_ros.core.config.settings import node_defaults
    from vis_ros.core.pipeline.offline import CollectingSink, frame_in
    from vis_ros.core.streaming.notices import Notices

    settings = node_defaults(model=str(e2e_models["agnostic"]))
    runner = build_runner(settings, build_segmenter(settings), Notices(logging.getLogger("test")))
    sink = CollectingSink()
    _, frames = generate_sequence(2_000_006, 8, SimOptions(objects=10))
    seen = []
    for i, frame in enumerate(frames):
        if i == 4:
            wanted = sorted(set().union(*seen))[:2]
            runner.apply(node_defaults(model=str(e2e_models["agnostic"]), class_filter=wanted).runner)
        runner.run_batch([frame_in(0, frame.rgb, frame.stamp_ns)], sink)
        seen.append({instance.class_name for result in sink.take() for instance in result.frame.instances})
    before, after = set().union(*seen[:4]), set().union(*seen[4:])
    assert len(before) >= 3 and after and after <= set(wanted)
