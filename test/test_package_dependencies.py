"""package.xml declares what the code imports, by keys `rosdep install` resolves.

On a minimal robot image plus `rosdep install`, an import without a key
fails: declared as `tf2_ros` (the C++ package), the Python module was
missing and target_frame and collision objects were off. Every import of a
package outside the standard library maps here to its package.xml key, or is
named as pip-only (no rosdep key exists) with the README saying how to get it.
Keys were checked against rosdep's database and the kilted distribution file.
"""
from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from vis_ros.core.config.optional_packages import OPTIONAL_PACKAGES

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*sorted((ROOT / "vis_ros").rglob("*.py")), ROOT / "launch" / "vis_ros.launch.py",
           ROOT / "scripts" / "vis-ros", ROOT / "scripts" / "vis_ros_node"]

# import -> package.xml key: ROS packages by name, Python libraries by rosdep key
ROSDEP_KEYS = {
    "ament_index_python": "ament_index_python", "builtin_interfaces": "builtin_interfaces",
    "diagnostic_msgs": "diagnostic_msgs", "geometry_msgs": "geometry_msgs", "launch": "launch",
    "launch_ros": "launch_ros", "message_filters": "message_filters", "rcl_interfaces": "rcl_interfaces",
    "rclpy": "rclpy", "sensor_msgs": "sensor_msgs", "shape_msgs": "shape_msgs", "std_msgs": "std_msgs",
    "visualization_msgs": "visualization_msgs",
    "cv2": "python3-opencv", "numpy": "python3-numpy", "onnxruntime": "python3-onnxruntime-pip",
    "rosbags": "python3-rosbags-pip", "scipy": "python3-scipy", "tqdm": "python3-tqdm", "yaml": "python3-yaml",
    **{module.split(".")[0]: key for module, key in OPTIONAL_PACKAGES.values()},
}
# import -> why it has no key (rosdep has none); the README's install section names each one
PIP_ONLY = {
    "onnx": "the precision of a user's model, vis-ros quantize",
    "ray": "vis-ros process-bags", "pyarrow": "vis-ros process-bags",
    "torch": "vis-ros build-engine and the TensorRT backend's CUDA buffers",
    "tensorrt": "installed with NVIDIA's TensorRT (JetPack)",
    "pycocotools": "vis-ros eval", "trackeval": "vis-ros eval",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _declared() -> set[str]:
    root = ET.parse(ROOT / "package.xml").getroot()
    return {e.text for e in root if e.tag in ("depend", "exec_depend")}


def test_every_import_maps_to_a_key_or_is_named_pip_only():
    imported = set().union(*(_imports(p) for p in SOURCES)) - set(sys.stdlib_module_names) - {"vis_ros"}
    imported |= {module.split(".")[0] for module, _ in OPTIONAL_PACKAGES.values()}  # imported by name
    unmapped = imported - set(ROSDEP_KEYS) - set(PIP_ONLY)
    assert not unmapped, f"add these imports to ROSDEP_KEYS (and package.xml) or PIP_ONLY: {sorted(unmapped)}"


def test_package_xml_declares_every_key_and_not_the_cpp_tf2_ros():
    declared = _declared()
    missing = {module: key for module, key in ROSDEP_KEYS.items() if key not in declared}
    assert not missing, f"package.xml lacks exec_depend for {missing}"
    assert "tf2_ros" not in declared and "tf2_ros_py" in declared


def test_the_readme_says_how_to_install_the_pip_only_ones():
    readme = (ROOT / "README.md").read_text()
    install = readme[readme.index("### On a robot"):]
    for module in ("onnx", "ray", "pyarrow"):
        assert module in install, module
