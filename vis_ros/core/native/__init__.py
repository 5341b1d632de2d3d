"""The C kernels, or None where they are not built or VIS_ROS_NUMPY_KERNELS=1.

C kernels for the per-frame work that numpy does slowly: the decoder's
selection and masks (decode.c), mask propagation (propagation.c) and depth
fusion's per-instance points (fusion.c). Each stays because `vis-ros bench
--kernels` shows it moves a target a user feels (docs/benchmarks.md); the
ones that did not (the Kalman filter, the association similarity, run
lengths) were removed and their numpy code is the one path.

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
