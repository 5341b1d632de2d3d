"""Child process: a camera playing a sim sequence on TOPIC (reliable), with scripted faults.

Usage: sim_camera.py TOPIC FRAME_ID SEED RATE_HZ PLAN [WIDTHxHEIGHT]
PLAN is comma-separated steps, each COUNT:KIND with KIND one of good (sim
frames), invalid (an encoding the node cannot read), half (sim frames at
half size: an image size change), then the camera goes silent and exits.
Waits for a subscriber first. Prints one JSON line at the end: the stamps
(ns) of every frame sent, by kind.
"""
from __future__ import annotations

import json
import sys
import time


def main() -> int:
    """Publish the plan, then exit."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from vis_ros.core.sim.scene import SimOptions
    from vis_ros.core.sim.sequence import generate_sequence
    from vis_ros.ros.image_msgs import image_msg

    topic, frame_id, seed, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    plan = [(int(count), kind) for count, kind in (step.split(":") for step in sys.argv[5].split(","))]
    width, height = (int(v) for v in (sys.argv[6] if len(sys.argv) > 6 else "640x480").split("x"))
    total = sum(count for count, _ in plan)
    _, frames = generate_sequence(seed, min(total, 30), SimOptions(width=width, height=height, objects=4,
                                                                   object_speed=0.05))
    rendered = [f.rgb for f in frames]
    rclpy.init()
    node = rclpy.create_node(f"sim_camera_{frame_id}")
    publisher = node.create_publisher(Image, topic, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    deadline = time.monotonic() + 60.0
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    time.sleep(1.0)  # let the node's side of the match settle
    sent: dict[str, list[int]] = {}
    period, start, k = 1.0 / rate, time.monotonic(), 0
    for count, kind in plan:
        for _ in range(count):
            rgb = rendered[k % len(rendered)]
            if kind == "half":
                rgb = rgb[::2, ::2].copy()
            now = node.get_clock().now()
            msg = image_msg(Header(stamp=now.to_msg(), frame_id=frame_id), rgb, "rgb8")
            if kind == "invalid":
                msg.encoding = "yuv422_yuy2"
            publisher.publish(msg)
            sent.setdefault(kind, []).append(now.nanoseconds)
            k += 1
            while (left := start + k * period - time.monotonic()) > 0:
                rclpy.spin_once(node, timeout_sec=min(left, 0.01))
    time.sleep(0.5)
    print(json.dumps(sent), flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
