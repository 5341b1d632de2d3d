"""pip install of the vis_ros library and its `vis-ros` console script.

colcon builds this package with CMake (CMakeLists.txt), which also generates
the ROS messages; this file is for using the ROS-free core without ROS, e.g.
`pip install .[dev]` on a workstation. The embedded model and config files are
installed to <prefix>/share/vis_ros/{models,config}, where colcon puts them.
"""
import sys
from pathlib import Path

from setuptools import Extension, find_packages, setup

shared = {folder: sorted(str(p) for p in Path(folder).glob("*") if p.is_file())
          for folder in ("models", "config", "msg")}
kernels = ("module", "decode", "propagation", "tracking", "codecs", "fusion")

setup(
    name="vis_ros",
    version="0.1.0",
    description="Instance segmentation with persistent IDs and 3D instances for ROS 2",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["vis_ros", "vis_ros.*"]),
    # vision_msgs' definitions, for writing its messages to bags where the package is not installed.
    package_data={"vis_ros.io": ["interfaces/*/msg/*.msg"]},
    data_files=[(f"share/vis_ros/{folder}", files) for folder, files in shared.items() if files],
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "opencv-python-headless>=4.8",
        "onnx>=1.15",
        "onnxruntime>=1.17",
        "PyYAML>=6",
        "rosbags>=0.10",
        "tqdm>=4",
    ],
    extras_require={
        "tensorrt": ["tensorrt>=10", "cuda-python>=12"],
        "train": ["torch>=2.1"],
        "fleet": ["ray>=2.40", "pyarrow>=15"],  # vis-ros process-bags and its Parquet index
        "dev": ["pytest>=8", "hypothesis>=6", "pycocotools>=2.0"],
    },
    # The per-frame kernels (vis_ros/core/native); optional: without a compiler the
    # package falls back to its numpy implementation.
    ext_modules=[Extension("vis_ros.core.native._kernels",
                           [f"vis_ros/core/native/{name}.c" for name in kernels],
                           depends=["vis_ros/core/native/kernels.h"], optional=True,
                           extra_compile_args=[] if sys.platform == "win32" else ["-ffp-contract=off"])],
    entry_points={"console_scripts": ["vis-ros = vis_ros.cli:main"]},
)
