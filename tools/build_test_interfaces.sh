#!/usr/bin/env bash
# Build the test-only interface packages (test/interfaces: vision_msgs, bond,
# object_recognition_msgs, moveit_msgs) into a prefix of their own,
# OUT/install (default build/test_interfaces, build-jazzy/test_interfaces for
# ROS_DISTRO=jazzy), which tools/env.sh sources when it exists and nothing
# installs. Only the packages that are not importable already are built: on a
# robot with the real ones, the tests use those.
# Run inside the project environment (source tools/env.sh).   usage: tools/build_test_interfaces.sh [OUT]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(realpath -m "${1:-${root}/build/test_interfaces}")"
python="$(command -v python)"  # the environment's venv
missing=()
for package in vision_msgs object_recognition_msgs moveit_msgs bond; do
  if [ -e "${out}/install/${package}" ] || ! "${python}" -c "import ${package}.msg" 2>/dev/null; then
    missing+=("${package}")
  fi
done
mkdir -p "${out}/install"
if [ "${#missing[@]}" -eq 0 ]; then
  echo "build_test_interfaces: every interface package is installed; nothing to build"
  exit 0
fi
colcon --log-base "${out}/log" build --base-paths "${root}/test/interfaces" --packages-select "${missing[@]}" \
  --build-base "${out}/build" --install-base "${out}/install" --event-handlers console_cohesion- \
  --cmake-args -DPython3_EXECUTABLE="${python}" -DBUILD_TESTING=OFF \
    -DPython3_NumPy_INCLUDE_DIR="$("${python}" "${root}/tools/fix_ros_cmake_paths.py" --numpy-include)"
