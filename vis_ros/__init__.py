"""vis_ros: instance segmentation with persistent IDs for ROS 2.

`vis_ros.core` is plain numpy/OpenCV and never imports ROS; `vis_ros.ros` is
the thin adapter that does. This file must not import either, nor the
generated `vis_ros.msg`, so the core stays importable without a ROS install.
"""
import pkgutil

# The generated messages (vis_ros.msg) live in the colcon install tree. When a
# source checkout of vis_ros/ comes first on sys.path, extend the package path
# so `vis_ros.msg` is still found there instead of failing to import.
__path__ = pkgutil.extend_path(__path__, __name__)

__version__ = "0.1.0"
