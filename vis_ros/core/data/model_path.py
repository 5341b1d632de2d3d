"""Where the embedded default model (and other shared files) are, in each way vis_ros can be installed."""
from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_MODEL_NAME = "vis_ros_default.onnx"


def share_file(folder: str, name: str) -> Path:
    """Find a file the package installs under share/vis_ros/<folder>.

    Looked for in the colcon share dir, the pip data dir and the source
    checkout, in that order; the first found wins.
    """
    candidates = []
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory("vis_ros")) / folder)
    except Exception:  # ament index absent, or package not installed with colcon
        pass
    candidates.append(Path(sys.prefix) / "share" / "vis_ros" / folder)
    candidates.append(Path(__file__).resolve().parents[3] / folder)  # vis_ros/core/data/ -> the checkout
    for candidate in candidates:
        if (candidate / name).is_file():
            return candidate / name
    searched = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"{name} not found (searched {searched})")


def default_model_path() -> Path:
    """Return the embedded model's path."""
    return share_file("models", DEFAULT_MODEL_NAME)


def resolve_model(path: str | Path | None) -> Path:
    """Return a user-given model path, or the embedded default when empty."""
    if path in (None, "", "default"):
        return default_model_path()
    return Path(path).expanduser()
