"""Which outputs run, decided once from the catalogue, the settings and what is installed.

vision_msgs, moveit_msgs and tf2_ros are run dependencies, but a robot may
lack one (a source build, a minimal image): then the outputs that need it are
off and the rest runs. The object memory's list (`world_frame` in the
catalogue) runs only with a target frame. Collision objects also need a
world-fixed target frame: in the moving camera frame an object in MoveIt's
planning scene is wrong as soon as the camera moves. Every output that was asked for but cannot
run is named once, with why, in `off` (the node logs it at configure and puts
it on /diagnostics).

An output whose switch is a run-time parameter (labels, overlay, markers,
points) runs in the node whatever the switch says now: its publisher exists,
and the switch is read frame by frame. A bag takes the settings as they are.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vis_ros.core.config.parameters import BY_NAME as PARAMETERS
from vis_ros.core.config.settings import NodeSettings
from vis_ros.core.outputs.catalogue import OUTPUTS, OutputSpec, Scope


@dataclass(frozen=True)
class OutputPlan:
    """The outputs that run, the ones asked for that cannot (each with why), collision objects and TF."""

    outputs: tuple[OutputSpec, ...] = ()
    collision_objects: bool = False
    listen_to_tf: bool = False
    off: tuple[str, ...] = ()

    @property
    def three_d(self) -> bool:
        """Whether fused 3D is published (use_depth)."""
        return bool(self.of(Scope.DEPTH))

    def has(self, name: str) -> bool:
        """Whether the output `name` runs."""
        return any(spec.name == name for spec in self.outputs)

    def of(self, scope: Scope) -> tuple[OutputSpec, ...]:
        """Return the running outputs made from `scope`, in catalogue order."""
        return tuple(spec for spec in self.outputs if spec.scope is scope)


def switched_on(spec: OutputSpec, settings: NodeSettings) -> bool:
    """Whether the output's switch is on in these settings (an output without one always is)."""
    return not spec.switch or bool(settings.value(spec.switch))


def plan_outputs(settings: NodeSettings, unavailable: Mapping[str, str], for_bags: bool = False) -> OutputPlan:
    """Decide the outputs; `unavailable` maps a package that cannot be imported to why.

    `for_bags`: what process-bag writes (3D for the cameras with depth,
    decided per camera; switches as set; no collision objects).
    """
    depth_settings, three_d = settings.depth, settings.inputs.use_depth or for_bags
    running, missing = [], {}
    for spec in OUTPUTS:
        if (spec.scope is Scope.DEPTH and not three_d) or (for_bags and not spec.in_bags):
            continue
        on = switched_on(spec, settings) or (not for_bags and not PARAMETERS[spec.switch].read_only)
        if not on or (spec.world_frame and not depth_settings.target_frame):
            continue
        package = "tf2_ros" if spec.world_frame and not for_bags else spec.package  # a bag's TF is its own
        if package in unavailable:
            missing.setdefault(package, []).append(f"~/{spec.name}")
        else:
            running.append(spec)
    off = [f"{', '.join(names)}: {unavailable[package]}" for package, names in missing.items()]
    if for_bags:
        return OutputPlan(tuple(running), off=tuple(off))
    tf = three_d and bool(depth_settings.target_frame) and "tf2_ros" not in unavailable
    if three_d and depth_settings.target_frame and not tf:
        off.append(f"target_frame {depth_settings.target_frame}: {unavailable['tf2_ros']}; 3D outputs stay in the"
                   " camera frame")
    collisions = three_d and depth_settings.publish_collision_objects
    if collisions and not tf:
        why = ("no TF (tf2_ros is not importable)" if depth_settings.target_frame else "no target_frame set") + \
              ": collision objects in the moving camera frame would be wrong; set target_frame to a world-fixed" \
              " frame (map, odom, world) or publish_collision_objects:=false"
        off.append(f"collision objects on {depth_settings.collision_object_topic}: {why}")
        collisions = False
    elif collisions and "moveit_msgs" in unavailable:
        off.append(f"collision objects on {depth_settings.collision_object_topic}: {unavailable['moveit_msgs']}")
        collisions = False
    return OutputPlan(tuple(running), collisions, tf, tuple(off))


def packages_needed(settings: NodeSettings) -> tuple[str, ...]:
    """List the optional packages the settings ask for (only these are tried, and reported missing)."""
    depth_settings, three_d = settings.depth, settings.inputs.use_depth
    needed = []
    for spec in OUTPUTS:
        if spec.package and spec.package not in needed and switched_on(spec, settings) and (
                spec.scope is not Scope.DEPTH or three_d):
            needed.append(spec.package)
    if three_d and depth_settings.target_frame:
        needed.append("tf2_ros")
    if three_d and depth_settings.publish_collision_objects and depth_settings.target_frame:
        needed.append("moveit_msgs")
    return tuple(needed)
