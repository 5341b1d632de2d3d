"""tf2_ros for a node in its own process, where the real one is not installed: the contract stands in."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path


def _real_tf2_ros() -> bool:
    """Whether the real tf2_ros is installed (the conftest fixture may have put the contract in sys.modules)."""
    module = sys.modules.get("tf2_ros")
    if module is not None:
        return getattr(module, "__spec__", None) is not None
    return importlib.util.find_spec("tf2_ros") is not None


def tf2_ros_env(folder: Path) -> dict:
    """Return what to add to a node process's environment so it imports tf2_ros (nothing where it is installed)."""
    if _real_tf2_ros():
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tf2_ros.py").write_text("import sys\n\nfrom tf2_ros_contract import module\n\n"
                                       "sys.modules[__name__] = module()\n")
    paths = [str(folder), str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}
