"""Stand-ins for a node in its own process, where the real packages are not installed.

A child process cannot see the sys.modules entries the conftest fixtures
make, so for each package that is missing here a small module on PYTHONPATH
puts its contract (helpers/<package>_contract.py) in place, laid out as the
real package is (`bondpy` an empty package with the module `bondpy.bondpy`).
Where the real package is installed, nothing is added and the child imports it.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

# package -> {file under the shim folder: its text}
SHIMS = {
    "tf2_ros": {"tf2_ros.py": "import sys\n\nfrom tf2_ros_contract import module\n\n"
                              "sys.modules[__name__] = module()\n"},
    "bondpy": {"bondpy/__init__.py": "",
               "bondpy/bondpy.py": "from bondpy_contract import Bond  # noqa: F401\n"},
}


def _installed(package: str) -> bool:
    """Whether the real package is installed (a conftest fixture may have put the contract in sys.modules)."""
    module = sys.modules.get(package)
    if module is not None:
        return getattr(module, "__spec__", None) is not None
    return importlib.util.find_spec(package) is not None


def stand_in_env(folder: Path, packages=("tf2_ros", "bondpy")) -> dict:
    """Return what to add to a node process's environment so it imports `packages` (nothing where installed)."""
    missing = [p for p in packages if not _installed(p)]
    if not missing:
        return {}
    for package in missing:
        for name, text in SHIMS[package].items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
    paths = [str(folder), str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}
