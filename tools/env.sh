# Source this (bash) to work in the project's environment: the venv with the
# ROS 2 wheels, the ament prefix they lay out, and this package's install/.
# `make shell` prints the line to use.
_vis_ros_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "${_vis_ros_root}/.venv/bin/activate"
export AMENT_PREFIX_PATH="${_vis_ros_root}/.venv${AMENT_PREFIX_PATH:+:${AMENT_PREFIX_PATH}}"
export CMAKE_PREFIX_PATH="${_vis_ros_root}/.venv${CMAKE_PREFIX_PATH:+:${CMAKE_PREFIX_PATH}}"
if [ -f "${_vis_ros_root}/install/setup.bash" ]; then
  # shellcheck disable=SC1091
  source "${_vis_ros_root}/install/setup.bash"
fi
# The test-only interface packages (test/interfaces, built by `make test`) where
# they were built: vision_msgs and moveit_msgs have no wheels here.
if [ -f "${_vis_ros_root}/build/test_interfaces/install/local_setup.bash" ]; then
  # shellcheck disable=SC1091
  source "${_vis_ros_root}/build/test_interfaces/install/local_setup.bash"
fi
unset _vis_ros_root
# The installed executables (`vis-ros`, `vis_ros_node`), as `ros2 run` would find them.
_vis_ros_bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/install/vis_ros/lib/vis_ros"
case ":${PATH}:" in *":${_vis_ros_bin}:"*) ;; *) export PATH="${_vis_ros_bin}:${PATH}" ;; esac
unset _vis_ros_bin
