"""Run the end-to-end demo and write its outputs under --out.

Current stage: builds instances in the core, publishes them as an
InstanceArray on a real ROS 2 topic, receives them in a second node, checks
they arrived unchanged and writes a summary. Later stages play a simulated
camera through the node.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")


def _sample_frame():
    from vis_ros.core.instances import Instance2D, InstanceFrame, PixelBox, TrackState

    yy, xx = np.mgrid[:60, :80]
    ellipse = ((yy - 30) / 30) ** 2 + ((xx - 40) / 40) ** 2 <= 1
    instances = [
        Instance2D(track_id=i + 1, class_id=i, class_name=name, score=0.9,
                   state=TrackState.CONFIRMED, age=0, box=PixelBox(100 * i, 50, 80, 60),
                   mask=ellipse)
        for i, name in enumerate(["box", "ball", "cylinder"])
    ]
    return InstanceFrame(stamp_ns=time.time_ns(), frame_id="camera_color_optical_frame",
                         height=480, width=640, keyframe=True, instances=instances)


def run(args: argparse.Namespace) -> int:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from vis_ros.msg import InstanceArray
    from vis_ros.ros.convert import frame_from_msg, frame_to_msg

    args.out.mkdir(parents=True, exist_ok=True)
    sent = _sample_frame()
    rclpy.init()
    try:
        talker = rclpy.create_node("vis_ros_demo_talker")
        listener = rclpy.create_node("vis_ros_demo_listener")
        received = []
        listener.create_subscription(InstanceArray, "demo/instances",
                                     lambda m: received.append(frame_from_msg(m)), 10)
        publisher = talker.create_publisher(InstanceArray, "demo/instances", 10)
        executor = SingleThreadedExecutor()
        executor.add_node(talker)
        executor.add_node(listener)
        deadline = time.monotonic() + 10.0
        while not received and time.monotonic() < deadline:
            publisher.publish(frame_to_msg(sent))
            executor.spin_once(timeout_sec=0.1)
    finally:
        rclpy.shutdown()
    ok = bool(received) and received[0] == sent
    summary = {"instances_sent": len(sent.instances),
               "instances_received": len(received[0].instances) if received else 0,
               "lossless": ok}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
    return 0 if ok else 1
