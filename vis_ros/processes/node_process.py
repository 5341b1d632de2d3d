"""Start and stop vis_ros_node in its own process (demo, bench, end-to-end tests)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def start_node_process(parameters: dict, log_path: Path, cwd: Path,
                       remaps: dict | None = None, env: dict | None = None) -> subprocess.Popen:
    """Start the node with autostart in its own process and session.

    The node with autostart, as `python -P -m vis_ros.ros.node --ros-args ...`.

    -P keeps the working directory off sys.path, so the installed package
    (with its generated messages) is the one imported. The node applies the
    large-message Fast DDS profile itself (vis_ros.ros.node.main).
    """
    args = [sys.executable, "-P", "-m", "vis_ros.ros.node", "--ros-args", "-p", "autostart:=true"]
    for name, value in parameters.items():
        args += ["-p", f"{name}:={_yaml_value(value)}"]
    for source, target in ({"image": "/camera/color/image_raw"} if remaps is None else remaps).items():
        args += ["-r", f"{source}:={target}"]
    with open(log_path, "w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True,
                                env=None if env is None else {**os.environ, **env})


def _yaml_value(value) -> str:
    """Command-line parameter values are YAML: quote strings (an empty one too)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def stop_node_process(proc: subprocess.Popen, timeout_s: float = 10.0) -> int:
    """SIGINT (clean lifecycle shutdown), then SIGKILL if it does not exit."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout_s)
    return proc.returncode
