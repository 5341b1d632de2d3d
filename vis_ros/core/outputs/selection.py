"""Which of the node's optional outputs run, decided once from the settings and what is installed.

vision_msgs, moveit_msgs and tf2_ros are run dependencies, but a robot may
lack one (a source build, a minimal image): then the outputs that need it are
off and the rest runs. Collision objects also need a world-fixed target
frame: in the moving camera frame an object in MoveIt's planning scene is
wrong as soon as the camera moves. Every output that was asked for but cannot
run is named once, with why, in `off` (the node logs it at configure and puts
it on /diagnostics).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vis_ros.core.config.settings import NodeSettings


@dataclass(frozen=True)
class OutputPlan:
    """The optional outputs that run, the ones asked for that cannot (each with why), and whether TF is used."""

    detections: bool = False
    label_info: bool = False
    three_d: bool = False
    detections_3d: bool = False
    collision_objects: bool = False
    listen_to_tf: bool = False
    off: tuple[str, ...] = ()


def plan_outputs(settings: NodeSettings, unavailable: Mapping[str, str]) -> OutputPlan:
    """Decide the optional outputs; `unavailable` maps a package that cannot be imported to why."""
    outputs, depth, three_d = settings.outputs, settings.depth, settings.inputs.use_depth
    off = []
    vision_asked = [name for name, on in (("~/detections", outputs.publish_detections),
                                          ("~/label_info", outputs.publish_label_info),
                                          ("~/detections_3d", three_d and depth.publish_detections_3d)) if on]
    vision = "vision_msgs" not in unavailable
    if vision_asked and not vision:
        off.append(f"{', '.join(vision_asked)}: {unavailable['vision_msgs']}")
    tf = three_d and bool(depth.target_frame) and "tf2_ros" not in unavailable
    if three_d and depth.target_frame and not tf:
        off.append(f"target_frame {depth.target_frame}: {unavailable['tf2_ros']}; 3D outputs stay in the camera"
                   " frame")
    collisions = three_d and depth.publish_collision_objects
    if collisions and not tf:
        why = ("no TF (tf2_ros is not importable)" if depth.target_frame else "no target_frame set") + \
              ": collision objects in the moving camera frame would be wrong; set target_frame to a world-fixed" \
              " frame (map, odom, world) or publish_collision_objects:=false"
        off.append(f"collision objects on {depth.collision_object_topic}: {why}")
        collisions = False
    elif collisions and "moveit_msgs" in unavailable:
        off.append(f"collision objects on {depth.collision_object_topic}: {unavailable['moveit_msgs']}")
        collisions = False
    return OutputPlan(detections=outputs.publish_detections and vision,
                      label_info=outputs.publish_label_info and vision, three_d=three_d,
                      detections_3d=three_d and depth.publish_detections_3d and vision,
                      collision_objects=collisions, listen_to_tf=tf, off=tuple(off))


def packages_needed(settings: NodeSettings) -> tuple[str, ...]:
    """List the optional packages the settings ask for (only these are tried, and reported missing)."""
    outputs, depth, three_d = settings.outputs, settings.depth, settings.inputs.use_depth
    needed = []
    if outputs.publish_detections or outputs.publish_label_info or (three_d and depth.publish_detections_3d):
        needed.append("vision_msgs")
    if three_d and depth.target_frame:
        needed.append("tf2_ros")
    if three_d and depth.publish_collision_objects and depth.target_frame:
        needed.append("moveit_msgs")
    return tuple(needed)
