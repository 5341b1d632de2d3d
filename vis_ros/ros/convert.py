"""Lossless decoding of vis_ros messages into the core's dataclasses, and small message pieces.

The node publishes its outputs as bytes written by vis_ros.io (the encoders
shared with process-bag); here they are only decoded, for the recorder and
subscribers in Python. Collision objects (ROS-only) take their pose and
header from here.
"""
from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point, Pose, Quaternion
from std_msgs.msg import Header

from vis_ros.core.codecs.mask_runs import decode_runs
from vis_ros.core.data.instances import (
    Instance2D,
    Instance3D,
    Instance3DFrame,
    InstanceFrame,
    PixelBox,
    TrackState,
)
from vis_ros.core.data.stamps import ns_to_sec_nanosec, stamp_to_ns
from vis_ros.msg import Instance, Instance3DArray, InstanceArray
from vis_ros.msg import Instance3D as Instance3DMsg


def ns_to_stamp(stamp_ns: int) -> Time:
    """Convert integer nanoseconds to builtin_interfaces/Time."""
    sec, nanosec = ns_to_sec_nanosec(stamp_ns)
    return Time(sec=sec, nanosec=nanosec)


def header_msg(stamp_ns: int, frame_id: str) -> Header:
    """Build a std_msgs/Header."""
    return Header(stamp=ns_to_stamp(stamp_ns), frame_id=frame_id)


def instance_from_msg(msg: Instance) -> Instance2D:
    """Decode one Instance message, its mask from the run lengths."""
    roi = msg.roi
    runs = np.frombuffer(msg.mask_runs, dtype=np.uint32)
    return Instance2D(
        track_id=msg.id,
        class_id=msg.class_id,
        class_name=msg.class_name,
        score=msg.score,
        state=TrackState(msg.state),
        age=msg.age,
        box=PixelBox(roi.x_offset, roi.y_offset, roi.width, roi.height),
        mask=decode_runs(runs, roi.height, roi.width),
    )


def frame_from_msg(msg: InstanceArray) -> InstanceFrame:
    """Decode an InstanceArray message into the core's frame."""
    return InstanceFrame(
        stamp_ns=stamp_to_ns(msg.header.stamp),
        frame_id=msg.header.frame_id,
        height=msg.height,
        width=msg.width,
        keyframe=msg.keyframe,
        instances=tuple(instance_from_msg(i) for i in msg.instances),
    )


def box_pose(instance: Instance3D) -> Pose:
    """Return the pose of a 3D instance's box (its centre and orientation)."""
    (px, py, pz), (qx, qy, qz, qw) = instance.position, instance.orientation
    return Pose(position=Point(x=px, y=py, z=pz), orientation=Quaternion(x=qx, y=qy, z=qz, w=qw))


def instance3d_from_msg(msg: Instance3DMsg) -> Instance3D:
    """Decode an Instance3D message."""
    p, q = msg.pose.position, msg.pose.orientation
    return Instance3D(
        track_id=msg.id,
        class_id=msg.class_id,
        class_name=msg.class_name,
        score=msg.score,
        position=(p.x, p.y, p.z),
        orientation=(q.x, q.y, q.z, q.w),
        size=(msg.size.x, msg.size.y, msg.size.z),
        velocity=(msg.velocity.x, msg.velocity.y, msg.velocity.z),
        num_points=msg.num_points,
        confidence=msg.confidence,
    )


def frame3d_from_msg(msg: Instance3DArray) -> Instance3DFrame:
    """Decode an Instance3DArray message into the core's 3D frame."""
    return Instance3DFrame(
        stamp_ns=stamp_to_ns(msg.header.stamp),
        frame_id=msg.header.frame_id,
        instances=tuple(instance3d_from_msg(i) for i in msg.instances),
    )
