"""What process-bag writes: the node's outputs per camera, as the node would publish them.

The stream runner's FrameSink for a bag. Per camera, under `<output_ns>`:
instances, labels, detections and, with depth, instances_3d, markers,
points, detections_3d; once for the bag, label_info. The bytes are the
node's (vis_ros.io.output_messages, io.instance_wire), written at the
record time of the image they belong to. Outputs the node builds only
while someone subscribes (labels, detections) are always written: a bag is
for whoever reads it later. Each published instance also becomes a row of
the bag's instance index (bag_index.py), with its 3D centre, size and
distance where it was fused.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from rosbags.rosbag2 import Writer

from vis_ros.core.config.settings import NodeSettings
from vis_ros.core.pipeline.results import Published2D, Published3D
from vis_ros.io.instance_wire import serialize_instance_array
from vis_ros.io.output_messages import MarkerState, OutputMessages


@dataclass(frozen=True)
class BagCamera:
    """One image topic of the bag, its camera name, where its outputs go, and its depth topics ("" for none)."""

    topic: str
    name: str
    output_ns: str
    depth_topic: str = ""
    info_topic: str = ""


class BagOutputs:
    """The runner's FrameSink into the output bag; see the module docstring."""

    def __init__(self, writer: Writer, messages: OutputMessages, cameras: list[BagCamera], settings: NodeSettings,
                 bag_name: str):
        self.writer, self.messages, self.settings, self.bag_name = writer, messages, settings, bag_name
        self.cameras = cameras
        store = messages.store
        self._topics = []
        for camera in cameras:
            kinds = {"instances": "vis_ros/msg/InstanceArray", "labels": "sensor_msgs/msg/Image"}
            if settings.outputs.publish_detections:
                kinds["detections"] = "vision_msgs/msg/Detection2DArray"
            if camera.depth_topic:
                kinds["instances_3d"] = "vis_ros/msg/Instance3DArray"
                if settings.depth.publish_markers:
                    kinds["markers"] = "visualization_msgs/msg/MarkerArray"
                if settings.depth.publish_points:
                    kinds["points"] = "sensor_msgs/msg/PointCloud2"
                if settings.depth.publish_detections_3d:
                    kinds["detections_3d"] = "vision_msgs/msg/Detection3DArray"
            self._topics.append({kind: writer.add_connection(f"{camera.output_ns}/{kind}", msgtype, typestore=store)
                                 for kind, msgtype in kinds.items()})
        self._markers = [MarkerState(messages) for _ in cameras]
        self.rows: list[dict] = []
        self._row_of: dict[tuple[int, int, int], dict] = {}  # (camera, stamp, track id) -> its row

    def label_info(self, output_ns: str, record_ns: int, class_names, threshold: float) -> None:
        """Write ~/label_info once, at the bag's first record (the node sends it at activate)."""
        if not self.settings.outputs.publish_label_info:
            return
        connection = self.writer.add_connection(f"{output_ns}/label_info", "vision_msgs/msg/LabelInfo",
                                                typestore=self.messages.store)
        self.writer.write(connection, record_ns, self.messages.label_info(record_ns, class_names, threshold))

    def publish_2d(self, result: Published2D) -> None:
        """FrameSink: write one frame's 2D outputs and index its instances."""
        frame, index = result.frame, result.camera.index
        topics, record_ns = self._topics[index], result.arrival.arrival_ns
        self.writer.write(topics["instances"], record_ns, serialize_instance_array(frame))
        self.writer.write(topics["labels"], record_ns, self.messages.labels(frame))
        if "detections" in topics:
            self.writer.write(topics["detections"], record_ns,
                              self.messages.detections_2d(frame, self.settings.outputs.detection_class_id))
        camera = self.cameras[index]
        for instance in frame.instances:
            box = instance.box
            row = {"bag": self.bag_name, "camera": camera.name or camera.topic, "stamp_ns": frame.stamp_ns,
                   "frame_id": frame.frame_id, "track_id": instance.track_id, "class_id": instance.class_id,
                   "class_name": instance.class_name, "score": float(instance.score), "state": int(instance.state),
                   "box_x": box.x, "box_y": box.y, "box_width": box.width, "box_height": box.height,
                   "x": math.nan, "y": math.nan, "z": math.nan, "size_x": math.nan, "size_y": math.nan,
                   "size_z": math.nan, "distance": math.nan}
            self.rows.append(row)
            if camera.depth_topic:  # its 3D comes later, or never
                self._row_of[(index, frame.stamp_ns, instance.track_id)] = row

    def publish_3d(self, result: Published3D) -> None:
        """FrameSink: write one frame's 3D outputs (camera frame) and add the 3D to its instances' rows."""
        index, fused = result.camera.index, result.fused
        topics, record_ns, frame3d = self._topics[index], result.arrival.arrival_ns, fused.frame
        self.writer.write(topics["instances_3d"], record_ns, self.messages.instances_3d(frame3d))
        if "markers" in topics:
            self.writer.write(topics["markers"], record_ns, self._markers[index].markers(frame3d))
        if "points" in topics:
            self.writer.write(topics["points"], record_ns,
                              self.messages.points(frame3d.stamp_ns, frame3d.frame_id, fused.points))
        if "detections_3d" in topics:
            self.writer.write(topics["detections_3d"], record_ns,
                              self.messages.detections_3d(frame3d, self.settings.outputs.detection_class_id))
        for instance in frame3d.instances:
            row = self._row_of.pop((index, frame3d.stamp_ns, instance.track_id), None)
            if row is None or instance.confidence <= 0:
                continue
            (x, y, z), (sx, sy, sz) = instance.position, instance.size
            row.update(x=x, y=y, z=z, size_x=sx, size_y=sy, size_z=sz, distance=math.sqrt(x * x + y * y + z * z))
