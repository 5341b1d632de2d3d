"""The seam, checked on the source: vis_ros/ros/ is exactly the code that needs ROS.

- core/, io/, evaluation/, train/ and processes/ import neither vis_ros.ros nor
  rclpy nor any ROS message package, at module level or inside functions;
- every module in vis_ros/ros/ needs ROS (imports rclpy, a message package or
  another module of vis_ros/ros that does), so nothing ROS-free hides there;
- outside ros/, only the commands that start ROS processes (demo, the node
  benchmark) import vis_ros.ros, and only inside the function that runs them;
- core/ imports nothing of vis_ros outside core/ (io, evaluation, commands,
  bench, processes, train, ros build on it, never the other way round);
- no module of vis_ros takes part in an import cycle, counting imports inside
  functions too (a lazy import that hides a cycle is still a cycle);
- inside core/, the folders are layered (CORE_LAYERS, bottom first): a folder
  imports only from the folders below it, so no arrow runs back up. The
  composition root (config/factories.py, which builds runners and segmenters
  from the settings) sits on top of what it composes.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vis_ros"
ROS_FREE = ("core", "io", "evaluation", "train", "processes")
MAY_START_ROS = {"commands/demo.py", "bench/node_bench.py", "bench/soak_bench.py", "bench/cameras_bench.py"}
ROS_MODULES = ("rclpy", "vis_ros.msg", "builtin_interfaces", "std_msgs", "sensor_msgs", "geometry_msgs",
               "visualization_msgs", "diagnostic_msgs", "lifecycle_msgs", "rcl_interfaces", "message_filters",
               "tf2_ros", "cv_bridge", "vision_msgs", "moveit_msgs", "shape_msgs", "object_recognition_msgs")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """List (module, at module level) for every import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top))
            found += [(f"{node.module}.{alias.name}", id(node) in top) for alias in node.names]
    return found


def _is(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _sources(*ROS_FREE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_ros_free_packages_import_nothing_from_ros(path):
    bad = [m for m, _ in _imports(path) if _is(m, "vis_ros.ros") or any(_is(m, r) for r in ROS_MODULES)]
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


@pytest.mark.parametrize("path", [p for p in _sources("ros") if p.name != "__init__.py"],
                         ids=lambda p: p.name)
def test_every_ros_module_needs_ros(path):
    needs = [m for m, _ in _imports(path) if any(_is(m, r) for r in ROS_MODULES + ("vis_ros.ros",))]
    assert needs, f"{path.name} imports no rclpy, message package or ROS-layer module: it belongs outside"


def test_only_the_commands_that_start_ros_processes_import_the_ros_layer():
    users = {}
    for path in _sources("."):
        relative = str(path.relative_to(PACKAGE))
        if relative.startswith("ros/"):
            continue
        uses = [(m, top) for m, top in _imports(path) if _is(m, "vis_ros.ros")]
        if uses:
            users[relative] = uses
    assert set(users) <= MAY_START_ROS, set(users) - MAY_START_ROS
    assert all(not top for uses in users.values() for _, top in uses), users


def test_the_checks_see_imports_inside_functions():
    sample = PACKAGE / "commands" / "demo.py"
    assert ("vis_ros.ros.player", False) in _imports(sample)


@pytest.mark.parametrize("path", _sources("core"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_imports_nothing_of_vis_ros_outside_core(path):
    outside = [m for m, _ in _imports(path) if _is(m, "vis_ros") and not _is(m, "vis_ros.core")]
    assert not outside, f"{path.relative_to(PACKAGE)} imports {outside}"


# core/'s folders, bottom first: each may import the ones before it, never one after
CORE_LAYERS = ("data", "native", "codecs", "engine", "tracking", "fusion", "streaming", "pipeline", "outputs",
               "config", "model_tools", "sim")


def _core_folder(module: str) -> str:
    return module.split(".")[2] if module.count(".") >= 2 else ""


@pytest.mark.parametrize("path", [p for p in _sources("core") if p.parent != PACKAGE / "core"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_folders_import_only_the_layers_below_them(path):
    own = path.relative_to(PACKAGE / "core").parts[0]
    assert own in CORE_LAYERS, f"core/{own}/ is not in CORE_LAYERS: place it in the order"
    above = [m for m, _ in _imports(path) if _is(m, "vis_ros.core") and _core_folder(m)
             and _core_folder(m) != own and CORE_LAYERS.index(_core_folder(m)) > CORE_LAYERS.index(own)]
    assert not above, f"core/{own}/{path.name} imports {above}: an arrow back up the layers"


def test_the_layer_check_sees_an_arrow_back_up():
    assert CORE_LAYERS.index("config") > CORE_LAYERS.index("pipeline") > CORE_LAYERS.index("data")
    assert _core_folder("vis_ros.core.config.settings") == "config"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Map each module to the vis_ros modules it imports (a `from package import name` counts the module `name`)."""
    modules = {_module_name(p): p for p in _sources(".")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported, _ in _imports(path):
            while imported and imported not in modules:  # an attribute: its module
                imported = imported.rpartition(".")[0]
            if imported and imported != name and modules[imported].name != "__init__.py":
                targets.add(imported)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_in_vis_ros():
    assert _cycles(_import_graph()) == []


def test_the_cycle_check_finds_a_cycle_through_an_import_inside_a_function():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert "vis_ros.ros.outputs" in _import_graph()


# A dependency that one command needs is imported by that command's code only, and only when it runs.
ONE_COMMAND = {"ray": "io/fleet.py", "pyarrow": "io/bag_index.py"}


@pytest.mark.parametrize("dependency", sorted(ONE_COMMAND))
def test_a_dependency_of_one_command_is_imported_where_that_command_runs_only(dependency):
    home = ONE_COMMAND[dependency]
    home_module = "vis_ros." + home[:-3].replace("/", ".")
    for path in _sources("."):
        relative = str(path.relative_to(PACKAGE))
        imports = _imports(path)
        if relative != home:
            assert not [m for m, _ in imports if _is(m, dependency)], f"{relative} imports {dependency}"
        if relative not in ONE_COMMAND.values():  # those are loaded by their command only themselves
            assert not [m for m, top in imports if top and _is(m, home_module)], \
                f"{relative} imports {home_module} at module level: every command would load {dependency}"
