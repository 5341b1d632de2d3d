"""What process-bag writes: the node's outputs per camera, as the node would publish them.

The stream runner's FrameSink for a bag. Per camera, under `<output_ns>`,
every output of the catalogue that bags get (core/outputs/catalogue.py):
instances, labels, detections and, for a camera with depth, instances_3d,
markers, points, detections_3d; once for the bag, label_info. The bytes are
the node's (io/frame_messages.py), written at the record time of the image
they belong to. Outputs the node builds only while someone subscribes are
always written: a bag is for whoever reads it later. The instance index is
a sink of its own (io/bag_index.py), beside this one when asked for.
"""
from __future__ import annotations

from dataclasses import dataclass

from rosbags.rosbag2 import Writer

from vis_ros.core.config.output_selection import plan_outputs
from vis_ros.core.config.settings import NodeSettings
from vis_ros.core.data.instances import InstanceFrame
from vis_ros.core.outputs.catalogue import BY_NAME, Scope, output_topic
from vis_ros.core.pipeline.results import Published2D, Published3D
from vis_ros.io.frame_messages import CameraMessages
from vis_ros.io.output_messages import OutputMessages


@dataclass(frozen=True)
class BagCamera:
    """One image topic of the bag, its camera name, where its outputs go, and its depth topics ("" for none)."""

    topic: str
    name: str
    output_ns: str
    depth_topic: str = ""
    info_topic: str = ""

    @property
    def key(self) -> str:
        """How the summary and the index name the camera: its name, or its topic for the one unnamed camera."""
        return self.name or self.topic


class BagOutputs:
    """The runner's FrameSink into the output bag; see the module docstring."""

    def __init__(self, writer: Writer, messages: OutputMessages, cameras: list[BagCamera], settings: NodeSettings):
        self.writer, self.messages, self.settings = writer, messages, settings
        self.plan = plan_outputs(settings, {}, for_bags=True)  # vision_msgs: written from its definitions
        self.track_ids: list[set[int]] = [set() for _ in cameras]  # per camera, for the summary
        self._frames, self._connections = [], []
        for camera in cameras:
            outputs = [spec for spec in self.plan.outputs
                       if spec.scope is Scope.IMAGE or (spec.scope is Scope.DEPTH and camera.depth_topic)]
            self._frames.append(CameraMessages(messages, outputs))
            self._connections.append({spec.name: writer.add_connection(f"{camera.output_ns}/{spec.name}",
                                                                       spec.msg_type, typestore=messages.store)
                                      for spec in outputs})

    def label_info(self, output_ns: str, record_ns: int, class_names, threshold: float) -> None:
        """Write ~/label_info once, at the bag's first record (the node sends it at activate)."""
        if not self.plan.has("label_info"):
            return
        spec = BY_NAME["label_info"]
        connection = self.writer.add_connection(f"{output_ns}/{output_topic(spec)}", spec.msg_type,
                                                typestore=self.messages.store)
        self.writer.write(connection, record_ns, self.messages.label_info(record_ns, class_names, threshold))

    def publish_2d(self, result: Published2D) -> None:
        """FrameSink: write one frame's 2D outputs."""
        index = result.camera.index
        self.track_ids[index].update(i.track_id for i in result.frame.instances)
        self._write(index, result.arrival.arrival_ns, self._frames[index].of_2d(result, self.settings))

    def publish_3d(self, result: Published3D) -> None:
        """FrameSink: write one fused frame's 3D outputs (camera frame)."""
        index = result.camera.index
        self._write(index, result.arrival.arrival_ns, self._frames[index].of_3d(result, self.settings))

    def without_3d(self, camera: int, frame: InstanceFrame) -> None:
        """FrameSink: nothing is written for a frame without 3D."""

    def _write(self, camera: int, record_ns: int, messages) -> None:
        connections = self._connections[camera]
        for spec, data in messages:
            self.writer.write(connections[spec.name], record_ns, data)
