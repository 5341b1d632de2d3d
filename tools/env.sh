# Source this (bash) to work in the project's environment: the venv with the
# ROS 2 wheels, the ament prefix they lay out, and this package's install/.
# `make shell` prints the line to use. ROS_DISTRO picks the distribution, as
# `make ... ROS_DISTRO=jazzy` does: kilted (the default) lives in .venv,
# build/, install/; jazzy in .venv-jazzy, build-jazzy/, install-jazzy/.
_vis_ros_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROS_DISTRO="${ROS_DISTRO:-kilted}"
case "${ROS_DISTRO}" in
  kilted) _vis_ros_suffix="" ;;
  jazzy) _vis_ros_suffix="-jazzy" ;;
  *) echo "tools/env.sh: ROS_DISTRO=${ROS_DISTRO} is not supported here: use kilted or jazzy" >&2; return 1 ;;
esac
# shellcheck disable=SC1091
source "${_vis_ros_root}/.venv${_vis_ros_suffix}/bin/activate"
export AMENT_PREFIX_PATH="${_vis_ros_root}/.venv${_vis_ros_suffix}${AMENT_PREFIX_PATH:+:${AMENT_PREFIX_PATH}}"
export CMAKE_PREFIX_PATH="${_vis_ros_root}/.venv${_vis_ros_suffix}${CMAKE_PREFIX_PATH:+:${CMAKE_PREFIX_PATH}}"
if [ -f "${_vis_ros_root}/install${_vis_ros_suffix}/setup.bash" ]; then
  # shellcheck disable=SC1091
  source "${_vis_ros_root}/install${_vis_ros_suffix}/setup.bash"
fi
# The test-only interface packages (test/interfaces, built by `make test`) where
# they were built: vision_msgs and moveit_msgs have no wheels here.
if [ -f "${_vis_ros_root}/build${_vis_ros_suffix}/test_interfaces/install/local_setup.bash" ]; then
  # shellcheck disable=SC1091
  source "${_vis_ros_root}/build${_vis_ros_suffix}/test_interfaces/install/local_setup.bash"
fi
# The installed executables (`vis-ros`, `vis_ros_node`), as `ros2 run` would find them.
_vis_ros_bin="${_vis_ros_root}/install${_vis_ros_suffix}/vis_ros/lib/vis_ros"
case ":${PATH}:" in *":${_vis_ros_bin}:"*) ;; *) export PATH="${_vis_ros_bin}:${PATH}" ;; esac
unset _vis_ros_root _vis_ros_suffix _vis_ros_bin
