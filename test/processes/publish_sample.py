"""Publish a known InstanceArray and Image from a child process.

Child process for test_two_processes.py: publishes a known InstanceArray and
Image at 30 Hz (a camera's rate) until killed (or for at most 60 s), with the
QoS reliability given as the second argument (reliable or best_effort). Each
image's stamp is the sample stamp plus its sequence number, so the receiver
can count what was lost.

The payload is rebuilt from the seed by `sample_frame`/`sample_image`, which the
test imports from this same file, so both sides agree on what must arrive.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from vis_ros.core.data.instances import Instance2D, InstanceFrame, PixelBox, TrackState

HEIGHT, WIDTH = 480, 640


def sample_frame(seed: int) -> InstanceFrame:
    rng = np.random.default_rng(seed)
    instances = []
    for i in range(20):
        x, y = int(rng.integers(0, WIDTH - 80)), int(rng.integers(0, HEIGHT - 80))
        w, h = int(rng.integers(1, 80)), int(rng.integers(1, 80))
        yy, xx = np.mgrid[:h, :w]
        ellipse = ((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2 <= 1.0
        instances.append(Instance2D(
            track_id=1000 + i, class_id=i % 5, class_name=f"class{i % 5}",
            score=float(rng.random()), state=TrackState.CONFIRMED, age=i,
            box=PixelBox(x, y, w, h), mask=ellipse,
        ))
    return InstanceFrame(stamp_ns=1_234_567_890_000_000_001, frame_id="camera_color_optical_frame",
                         height=HEIGHT, width=WIDTH, keyframe=True, instances=instances)


def sample_image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def main() -> int:
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from vis_ros.io.instance_wire import serialize_instance_array
    from vis_ros.msg import InstanceArray
    from vis_ros.ros.convert import ns_to_stamp

    seed, reliability = int(sys.argv[1]), sys.argv[2]
    rclpy.init()
    node = rclpy.create_node("sample_publisher")
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE if reliability == "reliable"
                     else ReliabilityPolicy.BEST_EFFORT)
    instances_pub = node.create_publisher(InstanceArray, "sample/instances", qos)
    image_pub = node.create_publisher(Image, "sample/image", qos)
    frame = sample_frame(seed)
    pixels = sample_image(seed)
    image = Image(height=HEIGHT, width=WIDTH, encoding="rgb8", is_bigendian=0,
                  step=WIDTH * 3, data=pixels.tobytes())
    image.header.stamp = ns_to_stamp(frame.stamp_ns)
    image.header.frame_id = frame.frame_id
    instances_msg = serialize_instance_array(frame)  # published as bytes, as the node does
    deadline = time.monotonic() + 60.0
    sequence = 0
    while rclpy.ok() and time.monotonic() < deadline:
        instances_pub.publish(instances_msg)
        image.header.stamp = ns_to_stamp(frame.stamp_ns + sequence)
        image_pub.publish(image)
        sequence += 1
        rclpy.spin_once(node, timeout_sec=1.0 / 30.0)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
