"""Child process: a camera on default middleware settings, VGA rgb8 best effort at 30 Hz.

The test starts it with both Fast DDS profile variables removed from its
environment, as an ordinary camera driver runs: Fast DDS then cannot carry
most 0.9 MB images between processes. Usage: default_camera.py SECONDS TOPIC
"""
from __future__ import annotations

import sys
import time


def main() -> int:
    """Publish for SECONDS, then exit."""
    import numpy as np
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    seconds, topic = float(sys.argv[1]), sys.argv[2]
    rclpy.init()
    node = rclpy.create_node("default_settings_camera")
    publisher = node.create_publisher(Image, topic, qos_profile_sensor_data)
    pixels = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8).tobytes()
    end, period, sent = time.monotonic() + seconds, 1.0 / 30.0, 0
    while time.monotonic() < end:
        msg = Image(height=480, width=640, encoding="rgb8", step=1920, data=pixels)
        msg.header.stamp = node.get_clock().now().to_msg()
        msg.header.frame_id = "camera"
        publisher.publish(msg)
        sent += 1
        rclpy.spin_once(node, timeout_sec=period)
    print(f"sent {sent}", flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
