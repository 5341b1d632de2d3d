"""The node's settings as typed, validated values, built once from parameter values.

The ROS layer reads its parameters into a plain mapping only at the boundary
(`NodeSettings.from_values`); everything after that (the runner, the node's
outputs, process-bag, the evaluation) receives these frozen dataclasses, so a
misspelt key is an AttributeError at the first test rather than a KeyError
on the first frame, and a run-time change swaps one whole, validated object.
Field names are the parameter names of vis_ros.core.config.parameters.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from vis_ros.core.config.parameters import checked_values
from vis_ros.core.engine.decoder import DecoderConfig
from vis_ros.core.fusion.memory_config import MemoryConfig
from vis_ros.core.pipeline.results import RunnerOptions
from vis_ros.core.pipeline.segment_track import PipelineConfig
from vis_ros.core.tracking.config import TrackerConfig


@dataclass(frozen=True)
class EngineSettings:
    """What configure loads: fixed until the next cleanup + configure."""

    model: str
    precision: str
    backend: str
    device: str
    threads: int
    opencv_threads: int
    labels_file: str


CAMERA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*")


def check_camera_names(names: tuple[str, ...]) -> None:
    """Refuse camera names that cannot prefix ROS topics, and duplicates; ValueError naming the value."""
    for name in names:
        if not CAMERA_NAME.fullmatch(name) or "__" in name:
            raise ValueError(f"cameras: {name!r} is not a valid ROS name (letters, digits and single"
                             " underscores, starting with a letter; '/' between parts)")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"cameras: {duplicates} named more than once")


@dataclass(frozen=True)
class InputSettings:
    """What activate subscribes to, and how."""

    cameras: tuple[str, ...]  # () is the one unnamed camera (topics as for a single-camera node)
    compressed_input: bool
    qos_reliability: str
    qos_depth: int
    use_depth: bool
    sync_slop: float
    sync_queue_size: int


@dataclass(frozen=True)
class BatchSettings:
    """How the cameras' frames share engine calls."""

    max_batch: int
    batch_wait_ms: float


@dataclass(frozen=True)
class OutputSettings:
    """What the 2D outputs carry; run-time changeable except the frame and period."""

    publish_tentative: bool
    class_filter: tuple[str, ...]
    publish_labels: bool
    publish_overlay: bool
    publish_detections: bool
    detection_class_id: str
    publish_label_info: bool
    frame_id_override: str
    diagnostics_period: float


@dataclass(frozen=True)
class DepthSettings:
    """The 3D branch (with use_depth): depth units, TF and which 3D outputs."""

    depth_scale: float
    depth_wait: float
    target_frame: str
    publish_markers: bool
    publish_points: bool
    publish_detections_3d: bool
    publish_collision_objects: bool
    collision_object_topic: str
    collision_object_rate: float
    collision_object_classes: tuple[str, ...]
    object_memory: bool
    object_memory_capacity: int
    object_memory_keep: float
    object_memory_forget: float

    @property
    def memory(self) -> MemoryConfig:
        """Return the object memory's limits (core/fusion/object_memory.py; `object_memory` turns it on)."""
        return MemoryConfig(self.object_memory_capacity, self.object_memory_keep, self.object_memory_forget)


@dataclass(frozen=True)
class NodeSettings:
    """All of the node's settings, grouped by what each part of the node needs."""

    engine: EngineSettings
    inputs: InputSettings
    batch: BatchSettings
    outputs: OutputSettings
    depth: DepthSettings
    decoder: DecoderConfig
    tracker: TrackerConfig
    pipeline: PipelineConfig
    autostart: bool = False
    bond_heartbeat_period: float = 0.1  # seconds; 0: no bond with a lifecycle manager

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> NodeSettings:
        """Build settings from every parameter's value; ValueError naming the first bad one."""
        values = checked_values(values)
        names = list(values["cameras"])
        if "" in names and names != [""]:
            raise ValueError(f"cameras: {names} has an empty name; name every camera, or give [''] (the default)"
                             " for one unnamed camera")
        inputs = _group(InputSettings, values)
        check_camera_names(inputs.cameras)
        return cls(engine=_group(EngineSettings, values), inputs=inputs, batch=_group(BatchSettings, values),
                   outputs=_group(OutputSettings, values), depth=_group(DepthSettings, values),
                   decoder=_decoder_config(values), tracker=_tracker_config(values),
                   pipeline=PipelineConfig(keyframe_interval=values["keyframe_interval"]),
                   autostart=values["autostart"], bond_heartbeat_period=values["bond_heartbeat_period"])

    @property
    def runner(self) -> RunnerOptions:
        """What the stream runner and its 3D stage take of these settings."""
        return RunnerOptions(decoder=self.decoder, pipeline=self.pipeline, tracker=self.tracker,
                             frame_id_override=self.outputs.frame_id_override,
                             publish_tentative=self.outputs.publish_tentative,
                             class_filter=self.outputs.class_filter, depth_wait_s=self.depth.depth_wait,
                             depth_scale=self.depth.depth_scale)

    def value(self, name: str) -> Any:
        """Return the setting of the parameter `name` (the groups' fields are named after the parameters)."""
        for group in (self.engine, self.inputs, self.batch, self.outputs, self.depth):
            if name in {f.name for f in fields(group)}:
                return getattr(group, name)
        raise KeyError(f"no setting of a parameter {name!r}")


def _group(kind, values: Mapping[str, Any]):
    """One settings group from the parameters of the same names (lists become tuples)."""
    picked = {f.name: values[f.name] for f in fields(kind)}
    return kind(**{k: tuple(c for c in v if c) if isinstance(v, (list, tuple)) else v
                   for k, v in picked.items()})


def _decoder_config(v: Mapping[str, Any]) -> DecoderConfig:
    # The engine keeps low-score detections for the tracker's second pass.
    return DecoderConfig(score_threshold=min(v["score_threshold"], v["track_low_score"]),
                         nms_iou=v["nms_iou"], class_agnostic_nms=v["class_agnostic_nms"],
                         max_detections=v["max_instances"], mask_threshold=v["mask_threshold"])


def _tracker_config(v: Mapping[str, Any]) -> TrackerConfig:
    # Tracks start and lead from the stricter of the two thresholds (see shadowed_settings).
    high = max(v["track_high_score"], v["score_threshold"])
    return TrackerConfig(high_score=high, low_score=min(v["track_low_score"], high),
                         min_hits=v["track_min_hits"], confirm_score=v["track_confirm_score"],
                         max_age_s=v["track_max_age"], report_coasting_s=v["track_report_coasting"],
                         reid_window_s=v["track_reid_window"])


def node_defaults(**overrides: Any) -> NodeSettings:
    """Build the node's settings as shipped, with `overrides`.

    For tools that run the same pipeline outside ROS (evaluation, process-bag,
    benchmarks).
    """
    from vis_ros.core.config.parameters import default_values

    return NodeSettings.from_values({**default_values(), **overrides})
