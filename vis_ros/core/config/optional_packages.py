"""The run dependencies a minimal robot image may lack, and what to install for each.

The node works without them and says which of its features are off:
vision_msgs and moveit_msgs (their outputs), tf2_ros (target_frame,
collision objects), bondpy (the bond Nav2's lifecycle manager waits for).
package.xml declares every one of them by its rosdep key (ROSDEP_KEYS; a
test holds the two together), so `rosdep install` brings them all.
"""
from __future__ import annotations

import importlib
from types import ModuleType

# package -> (module to import, rosdep key in package.xml)
OPTIONAL_PACKAGES = {
    "vision_msgs": ("vision_msgs.msg", "vision_msgs"),
    "moveit_msgs": ("moveit_msgs.msg", "moveit_msgs"),
    "tf2_ros": ("tf2_ros", "tf2_ros_py"),  # the Python module; `tf2_ros` is the C++ package
    "bondpy": ("bondpy.bondpy", "bondpy"),  # the package's __init__ is empty: Bond is in its module bondpy
}


def install_hint(package: str) -> str:
    """Return what to install for a package, as apt names it on a ROS machine."""
    key = OPTIONAL_PACKAGES[package][1] if package in OPTIONAL_PACKAGES else package
    return "ros-$ROS_DISTRO-" + key.replace("_", "-")


def import_package(package: str) -> tuple[ModuleType | None, str]:
    """Return the module the node uses of a package, or None and why it cannot be used.

    That is `<package>.msg` for message packages, `tf2_ros`, and bondpy's
    module `bondpy.bondpy`, where its Bond class lives.
    """
    module = OPTIONAL_PACKAGES[package][0] if package in OPTIONAL_PACKAGES else f"{package}.msg"
    try:
        return importlib.import_module(module), ""
    except ImportError as exc:
        return None, f"{package} is not importable ({exc}); install {install_hint(package)}"


def import_packages(packages) -> tuple[dict[str, ModuleType], dict[str, str]]:
    """Import each package: (modules by package, why-not by package for the ones that failed)."""
    modules, unavailable = {}, {}
    for package in packages:
        module, why = import_package(package)
        if module is None:
            unavailable[package] = why
        else:
            modules[package] = module
    return modules, unavailable
