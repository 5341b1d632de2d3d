"""Every node parameter, declared once: name, default, description, range, read-only.

Read-only parameters shape what configure builds (model, backend, topics,
QoS); changing them needs a cleanup + configure, so ROS refuses run-time
sets. The others are validated by building the typed settings from the
candidate values (vis_ros.core.config.settings); a bad value is rejected with a
message naming it. ROS-free: process-bag and the evaluation run the node's
pipeline from the same table.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vis_ros.core.fusion.memory_config import MemoryConfig
from vis_ros.core.tracking.config import TrackerConfig


@dataclass(frozen=True)
class ParamSpec:
    """One node parameter: its default, what it does, its range or choices, and whether run-time sets are refused."""

    name: str
    default: Any
    description: str
    low: float | None = None
    high: float | None = None
    read_only: bool = False
    choices: tuple[str, ...] = ()
    set_by_launch: bool = False  # how the node is started decides it: the shipped file names it only in a comment

    def coerce(self, value: Any) -> Any:
        """Return `value` as this parameter's type; ValueError naming the parameter and its type.

        An integer is a double too (`score_threshold:=1` is how people type it);
        nothing else converts, so a typo never becomes a silent default.
        """
        kind = type(self.default)
        if kind is float and type(value) is int:
            return float(value)
        if kind is list:
            if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                return list(value)
        elif type(value) is kind:
            return value
        raise ValueError(f"{self.name} expects {_KIND_NAMES[kind]} (default {self.default!r}),"
                         f" got {_KIND_NAMES.get(type(value), type(value).__name__)} {value!r}")


_KIND_NAMES = {bool: "a boolean", int: "an integer", float: "a double", str: "a string",
               list: "a string array"}


_TRACKER = TrackerConfig()  # the tracker's defaults are the core's, not a second copy
_MEMORY = MemoryConfig()

PARAMS = (
    ParamSpec("model", "", "ONNX model or TensorRT engine; empty = the embedded default model", read_only=True),
    ParamSpec("precision", "auto", "embedded model: fp32, int8, or auto (int8 when the engine runs on a CPU with"
              " AVX2 / VNNI / AMX / Arm dot-product instructions); a given model runs at its own precision, and"
              " asking for another is refused", read_only=True, choices=("auto", "fp32", "int8")),
    ParamSpec("backend", "auto", "inference backend", read_only=True, choices=("auto", "onnxruntime", "tensorrt")),
    ParamSpec("device", "auto", "auto: best installed ONNX Runtime provider; cpu: force CPU", read_only=True,
              choices=("auto", "cpu", "cuda")),
    ParamSpec("threads", 0, "ONNX Runtime intra-op threads (0: all cores)", 0, 64, read_only=True),
    ParamSpec("opencv_threads", 1, "OpenCV threads, process-wide (0: OpenCV's default, all cores); 1 is"
              " fastest for the node's small images (masks, boxes, 320x240 flow), where waking a pool"
              " costs more than it saves", 0, 64, read_only=True),
    ParamSpec("cameras", [""], "camera names, e.g. [front, left]: per camera <name>/image (+ <name>/depth,"
              " <name>/camera_info) in and ~/<name>/... out, one engine for all; empty: one camera on image,"
              " outputs as ~/instances", read_only=True),
    ParamSpec("max_batch", 4, "most cameras' frames in one engine call (a fixed-batch model runs them one"
              " after another)", 1, 64, read_only=True),
    ParamSpec("batch_wait_ms", 5.0, "milliseconds a batch waits for more cameras' frames (only for cameras"
              " expected within it)", 0.0, 100.0),
    ParamSpec("labels_file", "", "class names, one per line (overrides model metadata)", read_only=True),
    ParamSpec("score_threshold", 0.4, "minimum score for a detection to start or lead a track"
              " (lower-scored ones down to track_low_score only extend tracks)", 0.0, 1.0),
    ParamSpec("nms_iou", 0.5, "NMS IoU threshold (raw-head models; end-to-end ones come with their rows selected)",
              0.0, 1.0),
    ParamSpec("class_agnostic_nms", True, "suppress overlapping boxes across classes (one object, one instance;"
              " raw-head models)"),
    ParamSpec("mask_threshold", 0.5, "mask probability threshold", 0.01, 0.99),
    ParamSpec("max_instances", 100, "maximum instances per image", 1, 1000),
    ParamSpec("class_filter", [""], "only publish these class names (empty: all)"),
    ParamSpec("track_high_score", _TRACKER.high_score, "tracker: score for first-pass matching and new tracks",
              0.0, 1.0),
    ParamSpec("track_low_score", _TRACKER.low_score, "tracker: lowest score used to extend tracks", 0.0, 1.0),
    ParamSpec("track_min_hits", _TRACKER.min_hits, "tracker: matches before a track is confirmed", 1, 100),
    ParamSpec("track_confirm_score", _TRACKER.confirm_score, "tracker: a new track this confident is confirmed"
              " at once (1.0: always wait for track_min_hits)", 0.0, 1.0),
    ParamSpec("track_max_age", _TRACKER.max_age_s, "tracker: seconds a lost track coasts (kept for matching)",
              0.0, 30.0),
    ParamSpec("track_report_coasting", _TRACKER.report_coasting_s, "tracker: seconds a lost track is still"
              " published with its predicted box and mask (state COASTING); up to track_max_age", 0.0, 30.0),
    ParamSpec("track_reid_window", _TRACKER.reid_window_s, "tracker: seconds a removed track can be re-identified",
              0.0, 60.0),
    ParamSpec("publish_tentative", False, "also publish tracks not yet confirmed"),
    ParamSpec("keyframe_interval", 1, "run the engine every N frames, propagate masks with optical flow between",
              1, 100),
    ParamSpec("use_depth", False, "subscribe to aligned depth + camera_info and publish 3D instances",
              read_only=True),
    ParamSpec("depth_scale", 0.001, "metres per unit of 16UC1 depth (0.001: millimetres)", 1e-6, 1.0),
    ParamSpec("sync_slop", 0.02, "seconds depth, camera_info and image stamps may differ", 0.0, 1.0,
              read_only=True),
    ParamSpec("depth_wait", 0.1, "seconds a frame's 3D waits for depth + camera_info that arrive after its image"
              " (2D never waits); then the frame counts as without 3D", 0.0, 1.0),
    ParamSpec("sync_queue_size", 10, "depth/camera_info messages kept while pairing", 1, 100, read_only=True),
    ParamSpec("target_frame", "", "a world-fixed TF frame (map, odom) to fuse, smooth and publish 3D in, at the"
              " image stamp; a frame's 3D waits up to depth_wait for the transform (empty: camera frame;"
              " needs tf2_ros)", read_only=True),
    ParamSpec("object_memory", True, "with depth and a target_frame, remember objects that leave the view and"
              " give one that comes back (same class, place and colours) its old ID", read_only=True),
    ParamSpec("object_memory_capacity", _MEMORY.capacity, "most objects remembered (the least recently seen is"
              " forgotten first)", 1, 100000, read_only=True),
    ParamSpec("object_memory_keep", _MEMORY.keep_s, "seconds an object is remembered after it was last seen",
              1.0, 86400.0, read_only=True),
    ParamSpec("object_memory_forget", _MEMORY.forget_s, "seconds a remembered object's place may be in view,"
              " unhidden and empty, before the object is forgotten (it was taken away)", 0.1, 60.0,
              read_only=True),
    ParamSpec("publish_markers", True, "publish ~/markers (boxes and labels) with depth on"),
    ParamSpec("publish_points", True, "publish ~/points (segmented points, instance_id field) with depth on"),
    ParamSpec("publish_detections_3d", True, "publish ~/detections_3d (vision_msgs/Detection3DArray) with depth"
              " on, while someone subscribes; needs vision_msgs", read_only=True),
    ParamSpec("publish_collision_objects", True, "with depth on and a target_frame, keep confirmed tracks in"
              " MoveIt's planning scene as box moveit_msgs/CollisionObject (ADD, MOVE, REMOVE); needs"
              " moveit_msgs", read_only=True),
    ParamSpec("collision_object_topic", "/collision_object", "topic of the collision objects (MoveIt's"
              " planning scene monitor listens on /collision_object)", read_only=True),
    ParamSpec("collision_object_rate", 2.0, "most MOVE updates per collision object per second (image time)",
              0.1, 30.0),
    ParamSpec("collision_object_classes", [""], "only these class names become collision objects (empty: every"
              " published class)"),
    ParamSpec("compressed_input", False, "subscribe to sensor_msgs/CompressedImage on image/compressed",
              read_only=True),
    ParamSpec("qos_reliability", "best_effort", "subscription reliability", read_only=True,
              choices=("best_effort", "reliable")),
    ParamSpec("qos_depth", 5, "subscription history depth", 1, 100, read_only=True),
    ParamSpec("publish_labels", True, "publish ~/labels (16UC1 track ids) while someone subscribes"),
    ParamSpec("publish_overlay", True, "publish ~/overlay while someone subscribes"),
    ParamSpec("publish_detections", True, "publish ~/detections (vision_msgs/Detection2DArray) while someone"
              " subscribes; needs vision_msgs", read_only=True),
    ParamSpec("detection_class_id", "id", "what vision_msgs' ObjectHypothesis.class_id holds: id, the class"
              " index as a string, which ~/label_info maps to its name (the vision_msgs convention); or name, the"
              " class name itself", choices=("id", "name")),
    ParamSpec("publish_label_info", True, "publish ~/label_info (vision_msgs/LabelInfo, transient local) at"
              " activate and when the score tracks start from changes; needs vision_msgs", read_only=True),
    ParamSpec("frame_id_override", "", "frame_id for outputs (empty: the image's)", read_only=True),
    ParamSpec("diagnostics_period", 1.0, "seconds between /diagnostics messages", 0.1, 60.0, read_only=True),
    ParamSpec("autostart", False, "configure and activate on start (unmanaged use); vis_ros.launch.py sets it"
              " true unless its autostart argument or the params file says otherwise; false under Nav2's"
              " lifecycle_manager", read_only=True, set_by_launch=True),
    ParamSpec("bond_heartbeat_period", 0.1, "seconds between the heartbeats of the bond Nav2's lifecycle_manager"
              " forms with the node at activate (Nav2's parameter, needs bondpy); 0: no bond", 0.0, 10.0,
              read_only=True),
)
BY_NAME = {p.name: p for p in PARAMS}


def checked_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the values converted to their parameters' types, after checking choices and ranges.

    The node declares its parameters with dynamic typing, so that this (not
    rclpy's nameless "Wrong parameter type") words every refusal; ROS checks
    descriptor ranges on set, but not for every source of values (tools
    outside ROS, choices, which descriptors cannot express). ValueError names
    the first bad value.
    """
    checked = {}
    for name, value in values.items():
        spec = BY_NAME.get(name)
        if spec is None:
            raise ValueError(f"unknown parameter {name!r}")
        checked[name] = value = spec.coerce(value)
        if spec.choices and value not in spec.choices:
            raise ValueError(f"{name} must be one of {list(spec.choices)}, got {value!r}")
        if spec.low is not None and not spec.low <= value <= spec.high:
            raise ValueError(f"{name} must be in [{spec.low}, {spec.high}], got {value!r}")
    return checked


def shadowed_settings(v: Mapping[str, Any]) -> list[str]:
    """List valid settings that another one overrides.

    Worth a warning, not a refusal: a user lowering one of two thresholds and
    seeing no change is otherwise left guessing.
    """
    notes = []
    start = max(v["track_high_score"], v["score_threshold"])
    if v["track_high_score"] < v["score_threshold"]:
        notes.append(f"track_high_score {v['track_high_score']} is below score_threshold"
                     f" {v['score_threshold']}: tracks start and lead from {start}; lower both")
    if v["track_low_score"] > start:
        notes.append(f"track_low_score {v['track_low_score']} is above the start score {start}:"
                     " no second pass for low-score detections")
    if v["track_report_coasting"] > v["track_max_age"]:
        notes.append(f"track_report_coasting {v['track_report_coasting']} is longer than track_max_age"
                     f" {v['track_max_age']}: lost tracks are removed after track_max_age")
    return notes


def default_values() -> dict:
    """Map every parameter to its default.

    The node as shipped, for tools that run the same pipeline outside ROS
    (evaluation, process-bag).
    """
    return {spec.name: spec.default for spec in PARAMS}
