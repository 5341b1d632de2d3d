"""Starting ROS processes from Python without importing rclpy: the node as a child process, Fast DDS profile."""
