import math

import numpy as np
import pytest

from vis_ros.core.data.instances import Instance3D, Instance3DFrame
from vis_ros.core.fusion.transform import Rigid, quaternion_matrix


def test_quarter_turn_about_z():
    q = (0.0, 0.0, math.sin(math.pi / 4), math.cos(math.pi / 4))
    np.testing.assert_allclose(Rigid(q, (0, 0, 1)).points(np.array([[1.0, 0, 0]])), [[0, 1, 1]], atol=1e-12)
    np.testing.assert_allclose(quaternion_matrix(q) @ quaternion_matrix(q).T, np.eye(3), atol=1e-12)


def test_rigid_compose_and_inverse():
    half_turn = Rigid((0.0, 0.0, 1.0, 0.0), (10.0, 0.0, 0.0))
    lift = Rigid(translation=(0.0, 0.0, 2.0))
    both = half_turn.compose(lift)
    np.testing.assert_allclose(both.points(np.array([[1.0, 2.0, 3.0]])), [[9.0, -2.0, 5.0]], atol=1e-12)
    back = both.inverse().compose(both)
    np.testing.assert_allclose(back.translation, (0, 0, 0), atol=1e-12)
    np.testing.assert_allclose(np.abs(back.rotation), (0, 0, 0, 1), atol=1e-12)


def test_zero_quaternion_is_rejected():
    with pytest.raises(ValueError, match="zero norm"):
        quaternion_matrix((0, 0, 0, 0))


def test_markers_keep_stable_ids_and_delete_vanished_tracks():
    pytest.importorskip("rclpy")
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import PointCloud2
    from visualization_msgs.msg import Marker, MarkerArray

    from vis_ros.io.marker_messages import MarkerState
    from vis_ros.io.output_messages import OutputMessages

    def inst(tid):
        return Instance3D(tid, 0, "box", 0.9, (0, 0, 1.0), (0, 0, 0, 1.0), (0.1, 0.1, 0.1), (0, 0, 0), 99, 1.0)

    messages = OutputMessages()
    markers = MarkerState(messages)
    first = deserialize_message(markers.markers(Instance3DFrame(1, "cam", (inst(3), inst(5)))), MarkerArray)
    assert sorted({m.id for m in first.markers}) == [3, 5]
    assert {m.header.frame_id for m in first.markers} == {"cam"} and first.markers[1].text == "3 box"
    second = deserialize_message(markers.markers(Instance3DFrame(2, "cam", (inst(5),))), MarkerArray)
    deleted = [(m.ns, m.id) for m in second.markers if m.action == Marker.DELETE]
    assert sorted(deleted) == [("vis_ros/boxes", 3), ("vis_ros/labels", 3)]
    assert [m.id for m in second.markers if m.action == Marker.ADD] == [5, 5]
    cloud = deserialize_message(messages.points(3, "cam", {7: np.ones((4, 3)), 9: np.zeros((2, 3))}), PointCloud2)
    assert cloud.width == 6 and [f.name for f in cloud.fields] == ["x", "y", "z", "instance_id"]
    ids = np.frombuffer(bytes(cloud.data), np.uint8).reshape(6, 16)[:, 12:].copy().view("<u4").ravel()
    assert ids.tolist() == [7, 7, 7, 7, 9, 9]


def test_remembered_objects_are_grey_markers_sent_when_they_change():
    pytest.importorskip("rclpy")
    from rclpy.serialization import deserialize_message
    from visualization_msgs.msg import Marker, MarkerArray

    from vis_ros.core.fusion.memory_records import RememberedObject
    from vis_ros.io.marker_messages import MarkerState
    from vis_ros.io.output_messages import OutputMessages

    def remembered(object_id, last_seen_ns):
        return RememberedObject(object_id, 0, "cup", (1.0, 0.0, 0.0), (0, 0, 0, 1.0), (0.1, 0.1, 0.1),
                                0.03, last_seen_ns, 0)

    markers = MarkerState(OutputMessages())

    def sent(stamp, objects):
        array = deserialize_message(markers.markers(Instance3DFrame(stamp, "world", ()), objects), MarkerArray)
        return sorted((m.ns, m.id, m.action) for m in array.markers)

    assert sent(1, (remembered(4, 1), remembered(6, 1))) == [
        ("vis_ros/remembered", 4, Marker.ADD), ("vis_ros/remembered", 6, Marker.ADD),
        ("vis_ros/remembered_labels", 4, Marker.ADD), ("vis_ros/remembered_labels", 6, Marker.ADD)]
    assert sent(2, (remembered(4, 1), remembered(6, 1))) == []  # unchanged: rviz keeps them
    assert sent(3, (remembered(6, 2),)) == [  # 4 came back (restored), 6 was seen again and left again
        ("vis_ros/remembered", 4, Marker.DELETE), ("vis_ros/remembered", 6, Marker.ADD),
        ("vis_ros/remembered_labels", 4, Marker.DELETE), ("vis_ros/remembered_labels", 6, Marker.ADD)]
