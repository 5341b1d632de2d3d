"""The lifecycle node in-process with real rclpy and the embedded model."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")
pytestmark = pytest.mark.ros

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from reports import camera_report, counts  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from vis_ros.core.sim.scene import SimOptions  # noqa: E402
from vis_ros.core.sim.sequence import generate_sequence  # noqa: E402
from vis_ros.msg import InstanceArray  # noqa: E402
from vis_ros.ros.image_msgs import image_msg  # noqa: E402
from vis_ros.ros.node import VisRosNode  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config" / "vis_ros.yaml"


def _node(context, **params):
    overrides = [Parameter(k, value=v) for k, v in params.items()]
    return VisRosNode(context=context, parameter_overrides=overrides)


def test_configure_activate_deactivate_cleanup(rclpy_context):
    node = _node(rclpy_context)
    outputs = ("/vis_ros/instances", "/vis_ros/labels", "/vis_ros/overlay", "/diagnostics")
    assert [node.count_publishers(t) for t in outputs] == [0, 0, 0, 0]
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.worker is not None and node.worker.segmenter.class_names[0] == "box"
    # The graph sees this node's own entities: configure publishes, activate subscribes.
    assert [node.count_publishers(t) for t in outputs] == [1, 1, 1, 1]
    assert node.count_subscribers("/image") == 0
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    assert node.count_subscribers("/image") == 1 and node.worker.running
    assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
    assert node.count_subscribers("/image") == 0 and not node.worker.running
    assert node.worker is not None  # the engine is kept while inactive
    assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
    assert node.worker is None
    assert [node.count_publishers(t) for t in outputs] == [0, 0, 0, 0]
    node.destroy_node()


def test_configure_sets_opencv_threads_for_the_process(rclpy_context):
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(3)  # anything else, so the assertion below can fail
    try:
        node = _node(rclpy_context, opencv_threads=1)
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert cv2.getNumThreads() == 1
        node.trigger_cleanup()
        node.destroy_node()
    finally:
        cv2.setNumThreads(before)


def test_configure_fails_clearly_for_a_missing_or_corrupt_model(rclpy_context, tmp_path, capfd):
    node = _node(rclpy_context, model=str(tmp_path / "none.onnx"))
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert "does not exist" in capfd.readouterr().err
    node.destroy_node()
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not a model" * 10)
    node = _node(rclpy_context, model=str(corrupt))
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert "cannot load" in capfd.readouterr().err
    node.destroy_node()


def test_parameters_are_validated_with_messages_naming_them(rclpy_context, capfd):
    node = _node(rclpy_context)
    (bad_range,) = node.set_parameters([Parameter("nms_iou", value=1.5)])
    assert not bad_range.successful and "nms_iou" in bad_range.reason
    (read_only,) = node.set_parameters([Parameter("model", value="other.onnx")])
    assert not read_only.successful and "model" in read_only.reason
    (choice,) = node.set_parameters([Parameter("keyframe_interval", value=0)])
    assert not choice.successful and "keyframe_interval" in choice.reason
    (ok,) = node.set_parameters([Parameter("score_threshold", value=0.6)])
    assert ok.successful
    # Accepted, but shadowed by score_threshold: the log says so.
    (shadowed,) = node.set_parameters([Parameter("track_high_score", value=0.3)])
    assert shadowed.successful
    assert "track_high_score 0.3 is below score_threshold 0.6" in capfd.readouterr().err
    node.destroy_node()


def test_bad_choice_in_parameter_file_fails_configure(rclpy_context, capfd):
    node = _node(rclpy_context, qos_reliability="sometimes")
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert "qos_reliability must be one of" in capfd.readouterr().err
    node.destroy_node()


def test_parameter_file_loads_into_the_node():
    context = rclpy.context.Context()
    rclpy.init(context=context, args=["--ros-args", "--params-file", str(CONFIG)])
    try:
        node = VisRosNode(context=context)
        assert node.get_parameter("keyframe_interval").value == 1
        assert node.get_parameter("qos_reliability").value == "best_effort"
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


def _edited_copy(path, key=None):
    """Write the shipped parameter file with three values changed, as a user edits a copy (optionally re-keyed)."""
    import yaml

    document = yaml.safe_load(CONFIG.read_text())
    (shipped_key,) = document
    values = document[shipped_key]["ros__parameters"]
    values.update(score_threshold=0.55, max_instances=42, track_min_hits=3)
    path.write_text(yaml.safe_dump({key or shipped_key: {"ros__parameters": values}}))
    return path


@pytest.mark.parametrize("namespace, name", [("robot1", "vis_ros"), ("", "perception"), ("fleet/robot7", "seg")])
def test_a_namespaced_or_renamed_node_loads_the_shipped_file_and_a_custom_one(tmp_path, namespace, name):
    """Keyed `vis_ros:`, the file matched only /vis_ros: a namespaced node silently ran on defaults."""
    full_name = "/" + "/".join(part for part in (namespace, name) if part)
    for params in (_edited_copy(tmp_path / "edited.yaml"), _edited_copy(tmp_path / "custom.yaml", key=full_name)):
        context = rclpy.context.Context()
        rclpy.init(context=context)
        try:
            node = VisRosNode(name, context=context, namespace=namespace,
                              cli_args=["--ros-args", "--params-file", str(params)])
            assert node.get_fully_qualified_name() == full_name
            got = [node.get_parameter(n).value for n in ("score_threshold", "max_instances", "track_min_hits")]
            assert got == [0.55, 42, 3], (params.name, got)
            node.destroy_node()
        finally:
            rclpy.shutdown(context=context)


def test_processes_frames_survives_bad_ones_and_counts_everything(rclpy_context, capfd):
    node = _node(rclpy_context, qos_reliability="reliable")
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    camera = rclpy.create_node("camera", context=rclpy_context)
    pub = camera.create_publisher(Image, "image", 10)
    received = []
    camera.create_subscription(InstanceArray, "vis_ros/instances", received.append, 10)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    executor.add_node(camera)
    _, frames = generate_sequence(2_000_001, 12, SimOptions(objects=5))
    bad = [Image(height=480, width=640, encoding="yuv422", step=1280, data=bytes(1280 * 480)),
           Image(height=480, width=640, encoding="rgb8", step=1920, data=bytes(100))]
    try:
        for i, frame in enumerate(frames):
            msg = image_msg(Header(stamp=camera.get_clock().now().to_msg(), frame_id="cam"), frame.rgb, "rgb8")
            pub.publish(msg)
            if i in (4, 8):
                pub.publish(bad[i // 8])
            deadline = time.monotonic() + 0.15
            while time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.01)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and counts(node).frames_received < 14:
            executor.spin_once(timeout_sec=0.05)
        time.sleep(0.5)
        for _ in range(20):
            executor.spin_once(timeout_sec=0.02)
        report = camera_report(node)
        c = report.counts
        assert c.frames_received == 14
        assert c.frames_invalid == 2
        assert c.frames_processed + c.frames_invalid + c.frames_dropped_stale == c.frames_received
        assert len(received) == c.frames_processed >= 6
        # The first bad frame is named in the log (the second falls in its throttle window);
        # the last one is the error still reported.
        assert "frame rejected: unsupported colour encoding 'yuv422'" in capfd.readouterr().err
        assert report.last_error.startswith("rgb8 image 640x480 (step 1920) needs 921600 bytes")
        tracked = [m for m in received if len(m.instances)]
        assert tracked, "the embedded model finds the sim objects"
        assert received[-1].header.frame_id == "cam"
    finally:
        node.trigger_deactivate()
        node.trigger_cleanup()
        camera.destroy_node()
        node.destroy_node()


def test_a_matched_camera_that_sends_nothing_is_reported_as_silent_without_transport_advice(rclpy_context, capfd):
    from vis_ros.core.streaming.input_health import InputHealthConfig

    node = _node(rclpy_context, diagnostics_period=0.1)
    camera = rclpy.create_node("silent_camera", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    executor.add_node(camera)
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    node.worker.input_health[0].config = InputHealthConfig(silent_after_s=0.5)
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    camera.create_publisher(Image, "/image", 5)  # matched, never publishes
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        executor.spin_once(timeout_sec=0.05)
    err = capfd.readouterr().err
    assert "1 publisher(s) matched on /image but no image for" in err
    assert "fastdds_large_messages.xml" not in err  # a stream that ended is not a transport problem
    node.trigger_deactivate()
    node.trigger_cleanup()
    camera.destroy_node()
    node.destroy_node()


def test_a_camera_with_incompatible_qos_gets_the_qos_fix_not_the_transport_fix(rclpy_context, capfd):
    from rclpy.qos import qos_profile_sensor_data

    node = _node(rclpy_context, diagnostics_period=0.1, qos_reliability="reliable")
    camera = rclpy.create_node("best_effort_camera", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    executor.add_node(camera)
    statuses = []
    camera.create_subscription(DiagnosticArray, "/diagnostics", lambda m: statuses.append(m.status[0]), 10)
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    camera.create_publisher(Image, "/image", qos_profile_sensor_data)  # best effort: never matched
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        executor.spin_once(timeout_sec=0.05)
    err = capfd.readouterr().err
    assert "offers QoS incompatible with this subscription" in err and "fastdds_large_messages.xml" not in err
    assert statuses and "not matched (incompatible QoS or type)" in statuses[-1].message
    node.trigger_deactivate()
    node.trigger_cleanup()
    camera.destroy_node()
    node.destroy_node()


def test_the_node_logs_which_precision_runs_and_refuses_one_the_model_lacks(rclpy_context, capfd):
    node = _node(rclpy_context, precision="int8")
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert "configured: vis_ros_default_int8.onnx [int8 (asked for)] on onnxruntime" in capfd.readouterr().err
    node.trigger_cleanup()
    node.destroy_node()
    from vis_ros.core.data.model_path import default_model_path

    node = _node(rclpy_context, precision="int8", model=str(default_model_path()))
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert "configure failed: precision int8 asked for, but model" in capfd.readouterr().err
    node.destroy_node()


def test_a_parameter_set_during_inference_returns_without_waiting_for_the_engine(rclpy_context):
    """The engine is held mid-call (the real one, gated); a `ros2 param set` must not wait for it."""
    import threading

    from rclpy.qos import QoSProfile, ReliabilityPolicy

    node = _node(rclpy_context, qos_reliability="reliable")
    camera = rclpy.create_node("param_camera", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    executor.add_node(camera)
    reliable = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    received = []
    camera.create_subscription(InstanceArray, "/vis_ros/instances", received.append, reliable)
    pub = camera.create_publisher(Image, "/image", reliable)
    inside, release = threading.Event(), threading.Event()
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        backend = node.worker.segmenter.backend
        real_run = backend.run

        def held_run(batch):
            inside.set()
            release.wait(10.0)
            return real_run(batch)

        backend.run = held_run
        _, it = generate_sequence(1_000_001, 1, SimOptions())
        pub.publish(image_msg(Header(stamp=camera.get_clock().now().to_msg(), frame_id="cam"), next(it).rgb,
                              "rgb8"))
        deadline = time.monotonic() + 5.0
        while not inside.is_set() and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.01)
        assert inside.is_set(), "the frame never reached the engine"
        t0 = time.monotonic()
        (result,) = node.set_parameters([Parameter("score_threshold", value=0.65)])
        waited = time.monotonic() - t0
        assert result.successful and waited < 1.0 and not release.is_set(), waited
        release.set()
        deadline = time.monotonic() + 5.0
        while not received and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.01)
        assert received, "the held frame was published after the engine returned"
        deadline = time.monotonic() + 2.0
        while node.worker.runner.options.tracker.high_score != 0.65 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert node.worker.runner.options.tracker.high_score == 0.65  # applied between batches
    finally:
        release.set()
        node.trigger_deactivate()
        node.trigger_cleanup()
        camera.destroy_node()
        node.destroy_node()
