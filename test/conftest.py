"""Shared test set-up: an isolated ROS graph for this test session.

Every test process (and every child it starts) uses one random ROS_DOMAIN_ID
and keeps discovery on loopback, so parallel CI jobs and other ROS users on
the machine never see each other's topics. Under pytest-xdist each worker
takes the next domain after the session's, so the workers' tests, which use
the same node and topic names, never see each other either.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hypothesis import settings

# CI replays the same examples every run (reproducible); local runs explore.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ...: a worker's parent is the session
_SESSION_PID = os.getppid() if _XDIST_WORKER else os.getpid()
_SESSION_DOMAIN = int(os.environ.get("ROS_DOMAIN_ID") or random.Random(_SESSION_PID).randint(1, 90))
os.environ["ROS_DOMAIN_ID"] = str(_SESSION_DOMAIN + int(_XDIST_WORKER[2:] or 0))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
# Camera-sized images between processes over shared memory, as the node sets
# it up for itself; child processes inherit it.
from vis_ros.processes.fastdds_profile import use_large_message_transport  # noqa: E402

use_large_message_transport()


def pytest_collection_modifyitems(items):
    """Put the modules with slow tests first, each module's tests in their order.

    `make test` runs two pytest-xdist workers, one module at a time each: the
    long modules start first and the quick ones fill in at the end, instead
    of one worker finishing a long module while the other waits.
    """
    slow_modules = {item.module.__name__ for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module.__name__ not in slow_modules)


def _use_kernels(monkeypatch, path: str):
    from vis_ros.core import native

    if path == "numpy":
        monkeypatch.setattr(native, "kernels", None)
        return None
    assert native._kernels is not None, "C kernels not built into the install (see test_native_kernels)"
    monkeypatch.setattr(native, "kernels", native._kernels)
    return native._kernels


@pytest.fixture
def compiled_kernels(monkeypatch):
    """Make the compiled kernels active whatever VIS_ROS_NUMPY_KERNELS says.

    For tests that compare them with the numpy reference (which they reach
    with monkeypatch).
    """
    return _use_kernels(monkeypatch, "c")


@pytest.fixture(params=["c", "numpy"])
def kernel_path(request, monkeypatch):
    """Run the test on each kernel path.

    Behaviour tests (tracker, decoder, propagation, Kalman, run lengths) run once on
    the C kernels and once on the numpy fallback, in every run of the suite.
    """
    _use_kernels(monkeypatch, request.param)
    return request.param


@pytest.fixture
def tf2_ros(monkeypatch):
    """Provide the real tf2_ros where it is installed, else its contract (helpers/tf2_ros_contract)."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("tf2_ros") is None:
        import tf2_ros_contract

        monkeypatch.setitem(sys.modules, "tf2_ros", tf2_ros_contract.module())
    return importlib.import_module("tf2_ros")


@pytest.fixture
def bondpy(monkeypatch):
    """Provide bondpy's module `bondpy.bondpy` (where Bond is): the real one where installed, else its contract.

    The contract (helpers/bondpy_contract) is laid out as the real package:
    an empty `bondpy` package and the module `bondpy.bondpy`.
    """
    import importlib
    import importlib.util

    if importlib.util.find_spec("bondpy") is None:
        import bondpy_contract

        for name, module in bondpy_contract.modules().items():
            monkeypatch.setitem(sys.modules, name, module)
    return importlib.import_module("bondpy.bondpy")


@pytest.fixture
def rclpy_context():
    """Yield a fresh rclpy context, shut down after the test."""
    rclpy = pytest.importorskip("rclpy", reason="rclpy is needed for ROS tests")
    context = rclpy.context.Context()
    rclpy.init(context=context)
    yield context
    rclpy.shutdown(context=context)

# Test helpers (ONNX graph builders, child-process scripts) live in test/helpers;
# only that folder goes on sys.path, never the repository root (which would
# shadow the installed vis_ros and its generated messages).
import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent / "helpers"))
