"""core -> message -> core must be lossless, also through the CDR wire format."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

pytest.importorskip("rclpy")
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from rosidl_reference import instance_array_msg, instance_msg  # noqa: E402

from vis_ros.core.data.instances import (  # noqa: E402
    Instance2D,
    Instance3D,
    Instance3DFrame,
    InstanceFrame,
    PixelBox,
    TrackState,
)
from vis_ros.io.instance_wire import serialize_instance_array  # noqa: E402
from vis_ros.io.output_messages import OutputMessages  # noqa: E402
from vis_ros.msg import Instance3DArray, InstanceArray  # noqa: E402
from vis_ros.ros import convert  # noqa: E402

IMAGE_H, IMAGE_W = 48, 64
OUTPUTS = OutputMessages()
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
unit = st.floats(0.0, 1.0)
# ROS strings cannot hold NUL or lone surrogates; the core rejects both (test_instances.py).
ros_text = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                   max_size=20)


@st.composite
def instances_2d(draw):
    """Instances anywhere in the image, including empty and border-touching masks."""
    x = draw(st.integers(0, IMAGE_W))
    y = draw(st.integers(0, IMAGE_H))
    w = draw(st.integers(0, IMAGE_W - x))
    h = draw(st.integers(0, IMAGE_H - y))
    fill = draw(st.sampled_from(["random", "empty", "full"]))
    mask = draw(arrays(bool, (h, w))) if fill == "random" else np.full((h, w), fill == "full")
    return Instance2D(
        track_id=draw(st.integers(1, 2**64 - 1)),
        class_id=draw(st.integers(0, 2**16 - 1)),
        class_name=draw(ros_text),
        score=draw(unit),
        state=draw(st.sampled_from(TrackState)),
        age=draw(st.integers(0, 2**32 - 1)),
        box=PixelBox(x, y, w, h),
        mask=mask,
    )


stamps = st.integers(0, (2**31 - 1) * 10**9 + 10**9 - 1)


@st.composite
def frames_2d(draw, max_instances=8):
    return InstanceFrame(
        stamp_ns=draw(stamps),
        frame_id=draw(ros_text),
        height=IMAGE_H,
        width=IMAGE_W,
        keyframe=draw(st.booleans()),
        instances=draw(st.lists(instances_2d(), max_size=max_instances)),
    )


vectors = st.tuples(finite, finite, finite)


@st.composite
def instances_3d(draw):
    return Instance3D(
        track_id=draw(st.integers(1, 2**64 - 1)),
        class_id=draw(st.integers(0, 2**16 - 1)),
        class_name=draw(ros_text),
        score=draw(unit),
        position=draw(vectors),
        orientation=draw(st.tuples(finite, finite, finite, finite)),
        size=draw(vectors),
        velocity=draw(vectors),
        num_points=draw(st.integers(0, 2**32 - 1)),
        confidence=draw(unit),
    )


def _through_the_wire(msg, msg_type):
    return deserialize_message(serialize_message(msg), msg_type)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames_2d())
def test_instance_frame_round_trips(frame):
    """What the node publishes decodes back to the frame, before and after a rclpy round trip."""
    msg = deserialize_message(serialize_instance_array(frame), InstanceArray)
    assert convert.frame_from_msg(msg) == frame
    assert convert.frame_from_msg(_through_the_wire(msg, InstanceArray)) == frame


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames_2d())
def test_direct_serialization_is_the_rosidl_wire_format(frame):
    """Check the node's bytes are the rosidl wire format.

    rclpy must read them back as the message the test oracle builds from
    rosidl objects, and its own serializer must write as many bytes (the two
    differ only in padding, which Fast CDR leaves undefined).
    """
    data = serialize_instance_array(frame)
    assert isinstance(data, bytes)
    reference = instance_array_msg(frame)
    assert deserialize_message(data, InstanceArray) == reference
    assert len(data) == len(serialize_message(reference))
    assert convert.frame_from_msg(deserialize_message(data, InstanceArray)) == frame


def test_direct_serialization_of_200_instances_and_long_names():
    """Alignment after strings of every length mod 8, and a long sequence."""
    instances = [Instance2D(track_id=2**64 - 1 - i, class_id=i, class_name="n" * (i % 17), score=i / 199,
                            state=TrackState(i % 3), age=i, box=PixelBox(i, i // 2, i % 5, i % 3),
                            mask=np.arange((i % 3) * (i % 5)).reshape(i % 3, i % 5) % 3 == 0)
                 for i in range(200)]
    for frame_id in ("", "c", "camera_color_optical_frame", "Ä" * 5):
        frame = InstanceFrame(stamp_ns=(2**31 - 1) * 10**9 + 10**9 - 1, frame_id=frame_id,
                              height=2**32 - 1, width=1, keyframe=True, instances=instances)
        data = serialize_instance_array(frame)
        assert convert.frame_from_msg(deserialize_message(data, InstanceArray)) == frame
        assert len(data) == len(serialize_message(instance_array_msg(frame)))


@settings(max_examples=100, deadline=None)
@given(stamps, st.lists(instances_3d(), max_size=8))
def test_instance3d_frame_round_trips(stamp_ns, instances):
    frame = Instance3DFrame(stamp_ns=stamp_ns, frame_id="camera_color_optical_frame",
                            instances=instances)
    data = OUTPUTS.instances_3d(frame)  # the bytes the node publishes and process-bag writes
    assert convert.frame3d_from_msg(deserialize_message(data, Instance3DArray)) == frame


@pytest.mark.parametrize("count", [0, 200])
def test_zero_and_200_instances_round_trip(count):
    rng = np.random.default_rng(count)
    instances = []
    for i in range(count):
        x, y = int(rng.integers(0, IMAGE_W)), int(rng.integers(0, IMAGE_H))
        w, h = int(rng.integers(0, IMAGE_W - x + 1)), int(rng.integers(0, IMAGE_H - y + 1))
        instances.append(Instance2D(
            track_id=i + 1, class_id=i % 7, class_name=f"class{i % 7}", score=float(rng.random()),
            state=TrackState(i % 3), age=i, box=PixelBox(x, y, w, h),
            mask=rng.random((h, w)) > 0.5,
        ))
    frame = InstanceFrame(stamp_ns=1_700_000_000_123_456_789, frame_id="cam",
                          height=IMAGE_H, width=IMAGE_W, keyframe=True, instances=instances)
    back = convert.frame_from_msg(_through_the_wire(instance_array_msg(frame), InstanceArray))
    assert back == frame
    assert len(back.instances) == count


def test_mask_touching_every_border_round_trips():
    mask = np.zeros((IMAGE_H, IMAGE_W), bool)
    mask[0, :] = mask[-1, :] = mask[:, 0] = mask[:, -1] = True
    inst = Instance2D(track_id=5, class_id=1, class_name="table", score=1.0,
                      state=TrackState.TENTATIVE, age=0,
                      box=PixelBox(0, 0, IMAGE_W, IMAGE_H), mask=mask)
    frame = InstanceFrame(stamp_ns=0, frame_id="", height=IMAGE_H, width=IMAGE_W,
                          keyframe=False, instances=[inst])
    assert convert.frame_from_msg(instance_array_msg(frame)) == frame


def test_state_constants_match_core_enum():
    from vis_ros.msg import Instance
    assert Instance.STATE_TENTATIVE == TrackState.TENTATIVE
    assert Instance.STATE_CONFIRMED == TrackState.CONFIRMED
    assert Instance.STATE_COASTING == TrackState.COASTING


def test_subscriber_decodes_with_one_numpy_call():
    """The decoding recipe documented in Instance.msg and the README works."""
    mask = np.array([[0, 1, 1], [1, 0, 0]], bool)
    inst = Instance2D(track_id=1, class_id=0, class_name="x", score=0.5,
                      state=TrackState.CONFIRMED, age=0, box=PixelBox(3, 4, 3, 2), mask=mask)
    msg = instance_msg(inst)
    r, h, w = msg.mask_runs, msg.roi.height, msg.roi.width
    decoded = np.repeat(np.arange(len(r)) % 2, r).astype(bool).reshape(h, w)
    np.testing.assert_array_equal(decoded, mask)
