"""File formats around the core: rosbag2 via the pure-Python `rosbags` package (no rclpy)."""
