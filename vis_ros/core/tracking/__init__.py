"""Multi-object tracking with persistent IDs (ROS-free)."""
