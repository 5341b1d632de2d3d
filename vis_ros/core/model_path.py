"""Where the embedded default model is, in each way vis_ros can be installed."""
from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_MODEL_NAME = "vis_ros_default.onnx"


def default_model_path() -> Path:
    """The embedded model: colcon share dir, pip data dir, or the source checkout."""
    candidates = []
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory("vis_ros")) / "models")
    except Exception:  # ament index absent, or package not installed with colcon
        pass
    candidates.append(Path(sys.prefix) / "share" / "vis_ros" / "models")
    candidates.append(Path(__file__).resolve().parents[2] / "models")
    for folder in candidates:
        if (folder / DEFAULT_MODEL_NAME).is_file():
            return folder / DEFAULT_MODEL_NAME
    searched = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"embedded model {DEFAULT_MODEL_NAME} not found (searched {searched})")


def resolve_model(path: str | Path | None) -> Path:
    """A user-given model path, or the embedded default when empty."""
    if path in (None, "", "default"):
        return default_model_path()
    return Path(path).expanduser()
