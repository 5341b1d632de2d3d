"""Depth fusion: instance masks + aligned depth -> 3D instances (ROS-free)."""
