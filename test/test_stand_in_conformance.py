"""Every stand-in held to the real package, where the real package is importable.

A stand-in is our reading of a package the suite cannot install here:
bondpy (helpers/bondpy_contract.py), tf2_ros (helpers/tf2_ros_contract.py),
TensorRT (helpers/fake_tensorrt.py) and the interface packages built from
test/interfaces. Our reading was wrong once (bondpy's Bond is in the module
`bondpy.bondpy`, not the package), and every test against the stand-in
passed while every robot failed. So where the real package is importable
(a robot, or ../shared/realpkgs here), this compares what the node uses:
the import path, every public class, function and enum member the stand-in
offers (its own tools, named in STAND_IN_TOOLS, aside), every method and
property of those classes, the signatures where both can be read (parameter
names, kinds, which are required), and each message's fields, types and
constants. Elsewhere each test skips, saying which package is missing.
"""
from __future__ import annotations

import enum
import importlib
import importlib.util
import inspect
import re
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HELPERS = ROOT / "test" / "helpers"
TEST_INTERFACES = ROOT / "test" / "interfaces"

# the module the node imports -> the stand-in's module (helpers/...), what the stand-in has that the real one need not
STAND_INS = {
    "bondpy.bondpy": ("bondpy_contract", {"TRANSITIONS", "modules"}),
    "tf2_ros": ("tf2_ros_contract", {"module"}),
    "tensorrt": ("fake_tensorrt", {"MAGIC", "make_plan", "FakeCudaMemory", "yolo_seg_tensors",
                                   "BUILT_PLAN_BOXES"}),
}


def _ours(origin: str | None) -> bool:
    """Whether a module file is one of this project's stand-ins (helpers, the test-only interface build)."""
    return origin is not None and (str(HELPERS) in origin or "test_interfaces" in origin)


def _real(module: str) -> types.ModuleType:
    """Import the real package's module, or skip saying it is not installed here."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    if spec is None or _ours(spec.origin):
        where = ("full TensorRT is not installable on these machines; a GPU machine with TensorRT 10 runs this"
                 if module == "tensorrt" else "../shared/realpkgs builds it from source; robots have it")
        pytest.skip(f"the real {module} is not installed here ({where})")
    return importlib.import_module(module)


def _public(namespace) -> dict:
    return {name: value for name, value in vars(namespace).items() if not name.startswith("_")}


def _members(cls) -> set[str]:
    """Public methods and properties a stand-in class defines (its own, not inherited from object)."""
    return {name for name, value in vars(cls).items()
            if not name.startswith("_") and (callable(value) or isinstance(value, property))} | (
        {"__init__"} if "__init__" in vars(cls) else set())


def _signature(obj):
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):  # compiled (pybind11) callables often have none to read
        return None


def _check_signature(ours, real, where: str) -> None:
    """Every parameter of ours is in the real one, of the same kind, required exactly where it is required."""
    mine, theirs = _signature(ours), _signature(real)
    if mine is None or theirs is None:
        return
    for name, parameter in mine.parameters.items():
        assert name in theirs.parameters, f"{where}: the real one has no parameter {name!r} ({theirs})"
        real_parameter = theirs.parameters[name]
        assert parameter.kind == real_parameter.kind, f"{where}({name}): {parameter.kind} vs {real_parameter.kind}"
        required = parameter.default is inspect.Parameter.empty
        assert required == (real_parameter.default is inspect.Parameter.empty), f"{where}({name}): required?"
    required_real = [n for n, p in theirs.parameters.items() if p.default is inspect.Parameter.empty
                     and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    assert set(required_real) <= set(mine.parameters), f"{where}: the real one also requires {required_real}"


@pytest.mark.parametrize("module", sorted(STAND_INS))
def test_the_stand_in_offers_only_what_the_real_package_has(module):
    real = _real(module)
    stand_in_name, tools = STAND_INS[module]
    stand_in = importlib.import_module(stand_in_name)
    if module == "bondpy.bondpy":  # where Bond lives: the module, not the package, in both
        assert "Bond" not in vars(importlib.import_module("bondpy"))
        laid_out = stand_in.modules()
        assert "Bond" not in vars(laid_out["bondpy"]) and laid_out["bondpy.bondpy"].Bond is stand_in.Bond
    offered = {name: value for name, value in _public(stand_in).items()
               if name not in tools and not isinstance(value, types.ModuleType)
               and getattr(value, "__module__", stand_in_name) == stand_in_name}
    assert offered, f"{stand_in_name} offers nothing?"
    for name, ours in offered.items():
        assert hasattr(real, name), f"{module} has no {name} (the stand-in does)"
        theirs = getattr(real, name)
        if isinstance(ours, type) and issubclass(ours, enum.Enum):
            missing = set(ours.__members__) - set(getattr(theirs, "__members__", {}) or dir(theirs))
            assert not missing, f"{module}.{name} lacks {missing}"
        elif isinstance(ours, type):
            for member in _members(ours):
                assert hasattr(theirs, member), f"{module}.{name} has no {member} (the stand-in does)"
                _check_signature(getattr(ours, member), getattr(theirs, member), f"{module}.{name}.{member}")
        elif callable(ours):
            _check_signature(ours, theirs, f"{module}.{name}")


def test_a_real_bond_has_what_the_node_reaches_into(rclpy_context):
    """The node's teardown uses Bond's pub, sub, thread, connect_timer and is_shutdown, besides its methods."""
    real = _real("bondpy.bondpy")
    import rclpy

    node = rclpy.create_node("conformance", context=rclpy_context)
    try:
        for bond_module in (real, importlib.import_module("bondpy_contract")):
            bond = bond_module.Bond(node, "bond", "conformance")
            assert hasattr(bond, "pub") and not hasattr(bond, "sub") and bond.is_shutdown is False
            bond.heartbeat_period, bond.heartbeat_timeout = 0.1, 4.0
            bond.start()
            assert hasattr(bond, "sub") and bond.thread.is_alive() and callable(bond.connect_timer.cancel)
            bond.shutdown()
            node.destroy_subscription(bond.sub)
            node.destroy_publisher(bond.pub)
            bond.thread.join(timeout=2.0)
            assert not bond.thread.is_alive()
    finally:
        node.destroy_node()


def test_the_real_tensorrt_is_version_10():
    real = _real("tensorrt")
    assert int(real.__version__.split(".")[0]) == 10, real.__version__


# -- interface packages --------------------------------------------------------------------------------
_PRIMITIVES = {"float64": "double", "float32": "float", "byte": "octet", "char": "uint8", "bool": "boolean"}


def _field_type(package: str, text: str) -> str:
    """Return the type of a .msg field as rosidl's get_fields_and_field_types() spells it."""
    array = re.fullmatch(r"(.+)\[(<=)?(\d*)\]", text)
    base = array.group(1) if array else text
    if "/" not in base and base[0].isupper():
        base = f"{package}/{base}"
    base = _PRIMITIVES.get(base, base)
    if not array:
        return base
    bounded, size = array.group(2), array.group(3)
    if not size:
        return f"sequence<{base}>"
    return f"sequence<{base}, {size}>" if bounded else f"{base}[{size}]"


def _definition(path: Path):
    """Fields [(name, type)] and constants {name: text} of a .msg file."""
    package = path.parents[1].name
    fields, constants = [], {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        kind, rest = line.split(None, 1)
        if "=" in rest:
            name, value = (part.strip() for part in rest.split("=", 1))
            constants[name] = (kind, value)
        else:
            fields.append((rest.split()[0], _field_type(package, kind)))
    return fields, constants


MESSAGES = sorted((p.parents[1].name, p.stem) for p in TEST_INTERFACES.glob("*/msg/*.msg"))


@pytest.mark.parametrize("package, message", MESSAGES, ids=[f"{p}/{m}" for p, m in MESSAGES])
def test_each_test_only_message_matches_the_real_package(package, message):
    real = getattr(_real(f"{package}.msg"), message)
    fields, constants = _definition(TEST_INTERFACES / package / "msg" / f"{message}.msg")
    assert list(real.get_fields_and_field_types().items()) == fields
    for name, (kind, text) in constants.items():
        value = getattr(real, name)
        if kind == "string":
            assert value == text, name
        elif kind.startswith("float"):
            assert value == pytest.approx(float(text)), name
        else:
            assert value == (bytes([int(text)]) if kind == "byte" else int(text)), name


def _tf2_ros(which: str):
    if which == "real":
        return _real("tf2_ros")
    return importlib.import_module("tf2_ros_contract").module()


@pytest.mark.parametrize("which", ["stand-in", "real"])
def test_tf2_answers_the_node_reads_here_not_yet_and_never(which):
    """The node's transform source (ros/transforms.py) on tf2's Buffer: the same answers from both."""
    from geometry_msgs.msg import TransformStamped

    from vis_ros.ros.transforms import Tf2Transforms

    tf2_ros = _tf2_ros(which)
    buffer = tf2_ros.Buffer()

    def add(parent, child, stamp_ns, x, static=False):
        msg = TransformStamped()
        msg.header.frame_id, msg.child_frame_id = parent, child
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 10**9)
        msg.transform.translation.x, msg.transform.rotation.w = x, 1.0
        (buffer.set_transform_static if static else buffer.set_transform)(msg, "conformance")

    second = 10**9
    add("base_link", "camera", 0, 0.5, static=True)
    add("odom", "base_link", 1 * second, 1.0)
    add("odom", "base_link", 2 * second, 2.0)
    add("elsewhere", "lidar", 0, 0.0, static=True)
    add("odom", "wheel", 1 * second, 0.3)  # one transform so far
    source = Tf2Transforms(tf2_ros, buffer, "odom")
    here = source.lookup("camera", 3 * second // 2)
    assert here.transform is not None and here.transform.translation[0] == pytest.approx(2.0)
    one_link = source.lookup("base_link", 2 * second)
    assert one_link.transform.translation == (2.0, 0.0, 0.0) and one_link.transform.rotation == (0.0, 0.0, 0.0, 1.0)
    later = source.lookup("camera", 3 * second)
    assert later.transform is None and later.may_still_come and "future" in later.reason
    earlier = source.lookup("camera", second // 2)
    assert earlier.transform is None and not earlier.may_still_come and "past" in earlier.reason
    for frame in ("nowhere", "lidar", "wheel"):  # not heard of yet; in a tree not joined (yet); one sample, older
        found = source.lookup(frame, 3 * second // 2)
        assert found.transform is None and found.may_still_come and found.reason, frame
    before_the_only = source.lookup("wheel", second // 2)
    assert before_the_only.transform is None and not before_the_only.may_still_come
