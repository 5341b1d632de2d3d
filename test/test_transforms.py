"""TransformBuffer: TF's tree without ROS, answering at once (here, not yet, never)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from vis_ros.core.fusion.transform import Rigid
from vis_ros.core.streaming.transforms import TransformBuffer

S = 1_000_000_000


def _yaw(deg: float) -> tuple[float, float, float, float]:
    half = math.radians(deg) / 2
    return (0.0, 0.0, math.sin(half), math.cos(half))


def test_a_chain_of_static_and_moving_links_interpolates_at_the_stamp():
    tf = TransformBuffer("map")
    tf.add("map", "odom", 0, Rigid(_yaw(90), (1.0, 0.0, 0.0)), static=True)
    tf.add("odom", "base", 10 * S, Rigid(translation=(0.0, 0.0, 0.0)))
    tf.add("odom", "base", 12 * S, Rigid(translation=(2.0, 0.0, 0.0)))
    tf.add("base", "camera", 0, Rigid(translation=(0.0, 0.0, 1.0)), static=True)
    found = tf.lookup("camera", 11 * S)
    assert found.transform is not None
    # camera origin: base (1, 0, 0) in odom at t=11, +1 up; odom turned 90 degrees in map, at (1, 0, 0)
    assert found.transform.points(np.zeros((1, 3)))[0] == pytest.approx([1.0, 1.0, 1.0])
    assert tf.lookup("map", 11 * S).transform.points(np.ones((1, 3)))[0] == pytest.approx([1.0, 1.0, 1.0])


def test_newer_than_what_came_may_still_come_and_older_than_the_cache_never():
    tf = TransformBuffer("odom", cache_s=1.0)
    for k in range(20):
        tf.add("odom", "base", k * S // 10, Rigid(translation=(k * 0.1, 0.0, 0.0)))
    late = tf.lookup("base", 3 * S)
    assert late.transform is None and late.may_still_come and "known up to" in late.reason
    old = tf.lookup("base", 0)
    assert old.transform is None and not old.may_still_come and "not kept that far back" in old.reason
    unknown = tf.lookup("camera", S)
    assert unknown.transform is None and unknown.may_still_come and "no transform camera -> odom" in unknown.reason


def test_the_target_below_the_source_and_a_frame_into_itself():
    tf = TransformBuffer("camera")
    tf.add("world", "camera", 0, Rigid(_yaw(30), (0.5, 0.2, 1.2)), static=True)
    pose = tf.lookup("world", 5 * S).transform
    assert pose is not None
    point = np.array([[0.3, -0.4, 2.0]])
    back = Rigid(_yaw(30), (0.5, 0.2, 1.2)).points(pose.points(point))
    assert back == pytest.approx(point)
    assert tf.lookup("camera", 5 * S).transform == Rigid()


def test_one_link_at_its_stamp_comes_back_bit_for_bit():
    """As tf2 gives it: the node (tf2) and process-bag (this buffer) then fuse with the same transform."""
    pose = Rigid((0.1234567, -0.2345678, 0.3456789, math.sqrt(1 - 0.1234567**2 - 0.2345678**2 - 0.3456789**2)),
                 (0.123456789, -9.87654321, 1.5))
    tf = TransformBuffer("world")
    tf.add("world", "camera", 7 * S, pose)
    assert tf.lookup("camera", 7 * S).transform == pose
    assert pose.compose(Rigid()) == pose and Rigid().compose(pose) == pose
    both = pose.inverse().compose(pose)
    assert both.points(np.array([[1.0, 2.0, 3.0]]))[0] == pytest.approx([1.0, 2.0, 3.0])
