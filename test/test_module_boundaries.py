"""The seam, checked on the source: vis_ros/ros/ is exactly the code that needs ROS.

- core/, io/, evaluation/, train/ and processes/ import neither vis_ros.ros nor
  rclpy nor any ROS message package, at module level or inside functions;
- every module in vis_ros/ros/ needs ROS (imports rclpy, a message package or
  another module of vis_ros/ros that does), so nothing ROS-free hides there;
- outside ros/, only the commands that start ROS processes (demo, the node
  benchmark) import vis_ros.ros, and only inside the function that runs them.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vis_ros"
ROS_FREE = ("core", "io", "evaluation", "train", "processes")
MAY_START_ROS = {"commands/demo.py", "bench/node_session.py", "bench/node_bench.py", "bench/cameras_bench.py"}
ROS_MODULES = ("rclpy", "vis_ros.msg", "builtin_interfaces", "std_msgs", "sensor_msgs", "geometry_msgs",
               "visualization_msgs", "diagnostic_msgs", "lifecycle_msgs", "rcl_interfaces", "message_filters",
               "tf2_ros", "cv_bridge", "vision_msgs", "moveit_msgs", "shape_msgs", "object_recognition_msgs")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """List (module, at module level) for every import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top))
            found += [(f"{node.module}.{alias.name}", id(node) in top) for alias in node.names]
    return found


def _is(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _sources(*ROS_FREE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_ros_free_packages_import_nothing_from_ros(path):
    bad = [m for m, _ in _imports(path) if _is(m, "vis_ros.ros") or any(_is(m, r) for r in ROS_MODULES)]
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


@pytest.mark.parametrize("path", [p for p in _sources("ros") if p.name != "__init__.py"],
                         ids=lambda p: p.name)
def test_every_ros_module_needs_ros(path):
    needs = [m for m, _ in _imports(path) if any(_is(m, r) for r in ROS_MODULES + ("vis_ros.ros",))]
    assert needs, f"{path.name} imports no rclpy, message package or ROS-layer module: it belongs outside"


def test_only_the_commands_that_start_ros_processes_import_the_ros_layer():
    users = {}
    for path in _sources("."):
        relative = str(path.relative_to(PACKAGE))
        if relative.startswith("ros/"):
            continue
        uses = [(m, top) for m, top in _imports(path) if _is(m, "vis_ros.ros")]
        if uses:
            users[relative] = uses
    assert set(users) <= MAY_START_ROS, set(users) - MAY_START_ROS
    assert all(not top for uses in users.values() for _, top in uses), users


def test_the_checks_see_imports_inside_functions():
    sample = PACKAGE / "commands" / "demo.py"
    assert ("vis_ros.ros.player", False) in _imports(sample)
