"""File formats around the core: rosbag2 via the pure-Python `rosbags` package, the InstanceArray wire format (no rclpy)."""
