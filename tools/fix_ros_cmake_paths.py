"""Repair the build-machine paths baked into the ROS 2 PyPI wheels' CMake files.

The kilted wheels export `/opt/python/cp311-cp311/include/python3.11` and that
machine's numpy include directory as INTERFACE_INCLUDE_DIRECTORIES, and CMake
refuses to generate a project whose imported targets name missing
directories. This rewrites both to the running interpreter's.

numpy's headers are referenced through a copy under the user cache
(~/.cache/vis_ros/numpy-<version>-include), not inside .venv: the venv lives
in the package's source tree, and CMake rejects exported include directories
"prefixed in the source directory".

Idempotent: the rewrite matches the baked paths and its own earlier output, so
a second run changes nothing and a numpy upgrade is picked up.

The same copy must be given to CMake as Python3_NumPy_INCLUDE_DIR, since
rosidl_generator_py also asks FindPython for numpy; `--numpy-include` prints it.

Usage: python tools/fix_ros_cmake_paths.py PREFIX | --numpy-include
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import sysconfig
from pathlib import Path

import numpy

# `INTERFACE_INCLUDE_DIRECTORIES "<python include>;<numpy include>"`
_INCLUDE_PAIR = re.compile(
    r'INTERFACE_INCLUDE_DIRECTORIES "[^";]*/include/python3\.\d+;[^";]*numpy[^";]*"'
)


def numpy_include_outside_tree() -> Path:
    """Return numpy's include dir as CMake must see it (outside the wheel's build tree)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vis_ros"
    target = cache / f"numpy-{numpy.__version__}-include"
    if not (target / "numpy" / "ndarrayobject.h").is_file():
        tmp = cache / f".numpy-{numpy.__version__}-include.{os.getpid()}"
        shutil.copytree(numpy.get_include(), tmp, dirs_exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    return target


def fix_prefix(prefix: Path) -> int:
    """Rewrite every cmake file under PREFIX/share; return how many changed."""
    wanted = (
        'INTERFACE_INCLUDE_DIRECTORIES "'
        f'{sysconfig.get_paths()["include"]};{numpy_include_outside_tree()}"'
    )
    changed = 0
    for path in sorted((prefix / "share").glob("*/cmake/*.cmake")):
        text = path.read_text()
        fixed = _INCLUDE_PAIR.sub(wanted.replace("\\", "\\\\"), text)
        if fixed != text:
            path.write_text(fixed)
            changed += 1
    return changed


def main() -> int:
    """Rewrite the wheels' hard-coded build paths; --numpy-include prints the include dir."""
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    if sys.argv[1] == "--numpy-include":
        print(numpy_include_outside_tree())
        return 0
    prefix = Path(sys.argv[1]).resolve()
    if not (prefix / "share").is_dir():
        print(f"error: {prefix}/share does not exist; is {prefix} a venv with the ROS wheels?",
              file=sys.stderr)
        return 1
    changed = fix_prefix(prefix)
    print(f"fix_ros_cmake_paths: {changed} cmake file(s) repaired under {prefix}/share")
    return 0


if __name__ == "__main__":
    sys.exit(main())
