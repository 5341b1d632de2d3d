"""Where each camera's topics come from: the launch file's remappings.

The node subscribes, per named camera, to `<name>/image`, `<name>/depth` and
`<name>/camera_info` (the unnamed camera: `image`, `depth`, `camera_info`),
and to `.../image/compressed` with `compressed_input`. Drivers publish
elsewhere: the launch arguments say where, with realsense2_camera's layout as
the default. One camera: the `camera` namespace holds the colour image and
its camera_info (`/camera/color/image_raw`, `/camera/color/camera_info`) and
aligned depth sits beside it (`/camera/aligned_depth_to_color/image_raw`).
Named cameras: a template per input with `{name}` for the camera name,
each camera in its own namespace (`camera_namespace:=front`,
`camera_name:=camera`: `/front/camera/color/image_raw`).

ROS-free and free of `launch`, so the tests check every mode here, where
`launch` is not installable, by handing the remappings to a real node.
"""
from __future__ import annotations

import posixpath
from collections.abc import Mapping

import yaml

IMAGE_TEMPLATE = "/{name}/camera/color/image_raw"
DEPTH_TEMPLATE = "/{name}/camera/aligned_depth_to_color/image_raw"
INFO_TEMPLATE = "/{name}/camera/color/camera_info"

# Launch argument -> (default, description): the launch file declares these as they are.
TOPIC_ARGUMENTS: dict[str, tuple[str, str]] = {
    "camera": ("/camera/color", "one camera: the namespace of its colour image and camera_info"),
    "image_topic": ("image_raw", "one camera: the image topic inside `camera`"),
    "depth_topic": ("", "one camera: its depth aligned to colour (empty: `aligned_depth_to_color/image_raw`"
                        " beside `camera`, realsense2_camera's layout)"),
    "camera_info_topic": ("", "one camera: its CameraInfo (empty: `camera_info` inside `camera`)"),
    "cameras": ("", "camera names, e.g. [front,left]: one node, one engine for all; each camera's inputs"
                    " from the templates below"),
    "image_template": (IMAGE_TEMPLATE, "named cameras: each camera's image, {name} = the camera name"),
    "depth_template": (DEPTH_TEMPLATE, "named cameras: each camera's aligned depth"),
    "info_template": (INFO_TEMPLATE, "named cameras: each camera's camera_info"),
}


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
    """Return (node topic, driver topic) remappings for each named camera's inputs."""
    remaps = []
    for name in cameras:
        topics = {}
        for node_topic, template in (("image", image), ("depth", depth), ("camera_info", info)):
            if "{name}" not in template:
                raise ValueError(f"topic template {template!r} has no {{name}} for the camera name")
            topics[node_topic] = template.format(name=name)
        remaps += _inputs(f"{name}/", topics["image"], topics["depth"], topics["camera_info"])
    return remaps


def single_camera_remappings(camera: str, image_topic: str, depth_topic: str = "",
                             camera_info_topic: str = "") -> list[tuple[str, str]]:
    """Return the remappings of the one unnamed camera (empty topics: realsense2_camera's layout)."""
    if not camera.strip("/") and not image_topic.strip("/"):
        raise ValueError("camera and image_topic are both empty: no image topic to read")
    image = posixpath.join(camera, image_topic) if camera else image_topic
    depth = depth_topic or posixpath.join(posixpath.dirname(camera.rstrip("/")), "aligned_depth_to_color",
                                          "image_raw")
    info = camera_info_topic or posixpath.join(camera, "camera_info")
    return _inputs("", image, depth, info)


def launch_remappings(arguments: Mapping[str, str], cameras: list[str]) -> list[tuple[str, str]]:
    """Return the node's remappings from the topic arguments (TOPIC_ARGUMENTS) for the node's camera names.

    `cameras` are the names the node runs with (the argument, else the params
    file's); none or only "": the one unnamed camera.
    """
    cameras = [c for c in cameras if c]
    if cameras:
        return camera_remappings(cameras, arguments["image_template"], arguments["depth_template"],
                                 arguments["info_template"])
    return single_camera_remappings(arguments["camera"], arguments["image_topic"], arguments["depth_topic"],
                                    arguments["camera_info_topic"])


def _inputs(prefix: str, image: str, depth: str, info: str) -> list[tuple[str, str]]:
    return [(f"{prefix}image", image), (f"{prefix}image/compressed", image + "/compressed"),
            (f"{prefix}depth", depth), (f"{prefix}camera_info", info)]
