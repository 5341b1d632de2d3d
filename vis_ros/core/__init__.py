"""ROS-free algorithm core: numpy / OpenCV / torch only, SI units."""
