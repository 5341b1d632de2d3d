"""Where each camera's topics come from: the launch file's per-camera remappings.

The node subscribes, per named camera, to `<name>/image`, `<name>/depth` and
`<name>/camera_info` (the unnamed camera: `image`, `depth`, `camera_info`).
Drivers publish elsewhere; a template per input, with `{name}` for the
camera name, says where. The defaults are realsense2_camera's layout with
each camera in its own namespace (`camera_namespace:=front`,
`camera_name:=camera`): `/front/camera/color/image_raw`. ROS-free, so the
tests check it where `launch` is not installable.
"""
from __future__ import annotations

import yaml

IMAGE_TEMPLATE = "/{name}/camera/color/image_raw"
DEPTH_TEMPLATE = "/{name}/camera/aligned_depth_to_color/image_raw"
INFO_TEMPLATE = "/{name}/camera/color/camera_info"


def parse_cameras(text: str) -> list[str]:
    """Read the launch argument `cameras` ("[front, left]", "front,left" or "" for one unnamed camera)."""
    text = text.strip()
    if not text:
        return []
    value = yaml.safe_load(text) if text.startswith("[") else [part.strip() for part in text.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"cameras must be a list of names like [front, left], got {text!r}")
    return [v for v in value if v]


def camera_remappings(cameras: list[str], image: str = IMAGE_TEMPLATE, depth: str = DEPTH_TEMPLATE,
                      info: str = INFO_TEMPLATE) -> list[tuple[str, str]]:
    """Return (node topic, driver topic) remappings for each named camera's three inputs."""
    remaps = []
    for name in cameras:
        for node_topic, template in (("image", image), ("depth", depth), ("camera_info", info)):
            if "{name}" not in template:
                raise ValueError(f"topic template {template!r} has no {{name}} for the camera name")
            remaps.append((f"{name}/{node_topic}", template.format(name=name)))
            if node_topic == "image":
                remaps.append((f"{name}/image/compressed", template.format(name=name) + "/compressed"))
    return remaps
