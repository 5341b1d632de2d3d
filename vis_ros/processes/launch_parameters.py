"""What vis_ros.launch.py hands the node: the user's params file, then only what the launch must add.

A value given as a launch argument wins; a value only in the params file
reaches the node; the node's declared defaults apply otherwise. A launch
argument left empty is not given and overrides nothing. The one default of
the launch's own is autostart: true (a node launched without a lifecycle
manager starts itself), added only where neither the argument nor the params
file names autostart; under Nav2's lifecycle_manager say autostart:=false or
put `autostart: false` in the params file.

How rcl reads parameter files decides the layout (the tests hold this to a
real node): sections are keyed by node name, with `*` for one name token
and `**` for any number; the sections of every file given are merged by key,
a later file's values replacing an earlier one's, and the keys that match
the node are applied in the order each key first appeared, the last one
winning. launch_ros writes a dict of parameters under the node's own name,
which a user's file may already use before a `/**` section, and that
section would then win over the launch's arguments. So the launch writes
its additions itself, under a key the user's file does not use: it comes
last and wins.

What the launch itself needs to know (which cameras to remap, whether rviz
shows 3D) is read the same way: the argument, else the params file, else the
default. ROS-free and free of `launch`, so the tests check it where `launch`
is not installable, by handing the result to a real node.
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from vis_ros.core.config.parameters import BY_NAME
from vis_ros.processes.camera_topics import parse_cameras

LAUNCH_DEFAULTS = {"autostart": True}
# launch argument -> how its text becomes the parameter's value
OVERRIDES = {"model": str, "autostart": "bool", "qos_reliability": str, "use_sim_time": "bool",
             "use_depth": "bool", "cameras": "cameras"}


def given_arguments(texts: Mapping[str, str]) -> dict[str, Any]:
    """Return the parameter values of the OVERRIDES arguments that were given (non-empty), typed.

    ValueError names an argument whose text is not a value of its kind.
    """
    given = {}
    for name, kind in OVERRIDES.items():
        text = texts.get(name, "").strip()
        if not text:
            continue
        if kind == "bool":
            if text.lower() not in ("true", "false"):
                raise ValueError(f"launch argument {name}:={text} must be true or false")
            given[name] = text.lower() == "true"
        elif kind == "cameras":
            given[name] = parse_cameras(text) or [""]
        else:
            given[name] = text
    return given


def node_name(namespace: str, name: str) -> str:
    """Return the node's fully qualified name ("robot1" or "/robot1/" alike)."""
    return "/" + "/".join(part for part in (namespace.strip("/"), name) if part)


def _matches(key: str, fqn: str) -> bool:
    """Whether a params-file section key matches the node `fqn`: `*` is one name token, `**` any number."""
    def match(keys: list[str], names: list[str]) -> bool:
        if not keys:
            return not names
        if keys[0] == "**":
            return any(match(keys[1:], names[i:]) for i in range(len(names) + 1))
        return bool(names) and keys[0] in ("*", names[0]) and match(keys[1:], names[1:])

    return match([k for k in key.split("/") if k], [n for n in fqn.split("/") if n])


def _sections(document: Any, prefix: str = ""):
    """Yield (node key, ros__parameters) of a params file, flat or nested by namespace, in file order."""
    if not isinstance(document, dict):
        return
    for key, value in document.items():
        path = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, dict) and "ros__parameters" in value:
            yield path, value["ros__parameters"] if isinstance(value["ros__parameters"], dict) else {}
        elif isinstance(value, dict):
            yield from _sections(value, path)


def params_file_sections(path: str | Path) -> dict[str, dict[str, Any]]:
    """Return a params file's sections by key as written, merged as rcl merges them (first position, later values).

    A key without a leading slash matches as if relative to the root
    ("vis_ros" matches /vis_ros) but stays a section of its own, as in rcl.
    ValueError names a file that cannot be read.
    """
    try:
        document = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"params_file {path}: {exc}") from None
    merged: dict[str, dict[str, Any]] = {}
    for key, parameters in _sections(document):
        merged.setdefault(key, {}).update(parameters)
    return merged


def _values(sections: Mapping[str, Mapping[str, Any]], fqn: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, parameters in sections.items():
        if _matches(key, fqn):
            values.update(parameters)
    return values


def params_file_values(path: str | Path, fqn: str) -> dict[str, Any]:
    """Return the values a params file gives the node `fqn`: its matching sections in order, the last winning."""
    return _values(params_file_sections(path), fqn)


def launch_additions(given: Mapping[str, Any], from_file: Mapping[str, Any]) -> dict[str, Any]:
    """Return what the launch adds after the params file: the given arguments and the launch defaults it lacks."""
    added = {name: value for name, value in LAUNCH_DEFAULTS.items() if name not in from_file}
    added.update(given)
    return added


def additions_key(fqn: str, taken: Iterable[str]) -> str:
    """Return a section key that matches only names like the node's and that the user's file does not use.

    Merged after the user's file, such a key is applied last, so it wins.
    """
    name = fqn.rsplit("/", 1)[-1]
    taken = set(taken)
    for key in (fqn, f"/**/{name}", f"/**/**/{name}"):
        if key not in taken and _matches(key, fqn):
            return key
    raise ValueError(f"the params file uses every section key the launch could add {fqn}'s arguments under"
                     f" ({fqn}, /**/{name}, ...); give the arguments in the params file instead")


def write_additions(added: Mapping[str, Any], key: str, folder: str | None = None) -> str:
    """Write the launch's additions as a params file (under `key`) and return its path (launch_ros does the same)."""
    with tempfile.NamedTemporaryFile("w", prefix="vis_ros_launch_", suffix=".yaml", dir=folder,
                                     delete=False) as file:
        yaml.safe_dump({key: {"ros__parameters": dict(added)}}, file)
    return file.name


def node_parameters(params_file: str, given: Mapping[str, Any], fqn: str, folder: str | None = None) -> list[str]:
    """Return the node's parameter files, in order: the user's (if any), then the launch's additions (if any)."""
    sections = params_file_sections(params_file) if params_file else {}
    added = launch_additions(given, _values(sections, fqn))
    files = [params_file] if params_file else []
    if added:
        files.append(write_additions(added, additions_key(fqn, sections), folder))
    return files


def effective_value(name: str, given: Mapping[str, Any], from_file: Mapping[str, Any]) -> Any:
    """Return what the node will run with: the argument, else the params file, else the launch's or node's default."""
    if name in given:
        return given[name]
    if name in from_file:
        return from_file[name]
    return LAUNCH_DEFAULTS.get(name, BY_NAME[name].default)
