"""File formats around the core, no rclpy: rosbag2 (via `rosbags`) and the InstanceArray wire format."""
