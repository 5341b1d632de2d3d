"""The C kernels, or None where they are not built or VIS_ROS_NUMPY_KERNELS=1.

C kernels for the per-frame work that numpy does slowly, one file per
concern: the decoder's selection and masks (decode.c), mask propagation
(propagation.c), the tracker's Kalman filter and association similarity
(tracking.c), mask run lengths (codecs.c) and depth fusion's per-instance
points (fusion.c). `vis-ros bench --kernels` times each against its numpy
twin; each moves a target a user feels (docs/benchmarks.md has the figures:
the tracker and run-length kernels are small alone, but the node's overhead
budget on fast CPUs has less room than they save).

colcon (CMakeLists.txt) and pip (setup.py) compile them into `_kernels`.
Where that module is missing (a source checkout used without building),
`kernels` is None and each caller uses its numpy / OpenCV implementation,
which the tests hold the kernels to. `VIS_ROS_NUMPY_KERNELS=1` forces that
path (to compare the two in one installed tree).
"""
from __future__ import annotations

import os

try:
    from vis_ros.core.native import _kernels
except ImportError:  # not built: numpy fallback
    _kernels = None

kernels = None if os.environ.get("VIS_ROS_NUMPY_KERNELS") == "1" else _kernels


def describe() -> str:
    """Which implementation the per-instance work runs on, for the node's start-up log."""
    if kernels is not None:
        return "C kernels"
    if _kernels is not None:
        return "numpy (VIS_ROS_NUMPY_KERNELS=1)"
    return "numpy (C kernels not built: build the package with colcon or pip)"
