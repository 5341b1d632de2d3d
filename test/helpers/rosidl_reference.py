"""InstanceArray built field by field as rosidl message objects: the tests' oracle.

The node publishes InstanceArray as bytes from vis_ros.io.instance_wire. This
builds the same frame the slow, obvious way, so rclpy's own serializer can be
the judge of those bytes. It lives with the tests because nothing in the
package needs a message object for a frame it publishes.
"""
from __future__ import annotations

import array

from sensor_msgs.msg import RegionOfInterest
from std_msgs.msg import Header

from vis_ros.core.codecs.mask_runs import encode_runs
from vis_ros.msg import Instance, InstanceArray
from vis_ros.ros.convert import ns_to_stamp


def instance_msg(instance) -> Instance:
    box = instance.box
    msg = Instance(id=instance.track_id, class_id=instance.class_id, class_name=instance.class_name,
                   score=float(instance.score), state=int(instance.state), age=instance.age,
                   roi=RegionOfInterest(x_offset=box.x, y_offset=box.y, width=box.width, height=box.height))
    msg.mask_runs = array.array("I", encode_runs(instance.mask).tobytes())
    return msg


def instance_array_msg(frame) -> InstanceArray:
    return InstanceArray(header=Header(stamp=ns_to_stamp(frame.stamp_ns), frame_id=frame.frame_id),
                         height=frame.height, width=frame.width, keyframe=frame.keyframe,
                         instances=[instance_msg(i) for i in frame.instances])
