"""A published frame as the bytes of its outputs: the one place both sinks get their messages from.

The node's publishers (ros/outputs.py) and process-bag's writer
(io/bag_outputs.py) each keep a CameraMessages per camera and ask it for a
frame's messages; they differ only in what they do with them (the node
publishes, skipping what nobody subscribes to; the bag writes). Which
outputs exist is the catalogue's (core/outputs/catalogue.py); how each is
built is BUILDERS' below, with the messages of io/output_messages.py.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from vis_ros.core.config.output_selection import switched_on
from vis_ros.core.config.settings import NodeSettings
from vis_ros.core.outputs.catalogue import OutputSpec, Scope
from vis_ros.core.pipeline.results import Published2D, Published3D
from vis_ros.io.instance_wire import serialize_instance_array
from vis_ros.io.marker_messages import MarkerState
from vis_ros.io.output_messages import OutputMessages


class CameraMessages:
    """One camera's outputs as bytes, with what they remember between frames (the markers shown)."""

    def __init__(self, messages: OutputMessages, outputs: Sequence[OutputSpec]):
        self.messages, self.outputs = messages, tuple(outputs)
        self.markers = MarkerState(messages)
        self.remembered_sent: tuple | None = None  # (id, last seen) of the list sent last on ~/remembered

    def of_2d(self, result: Published2D, settings: NodeSettings,
              wanted: Callable[[OutputSpec], bool] = lambda spec: True) -> Iterator[tuple[OutputSpec, bytes]]:
        """Yield (output, bytes) for a published 2D frame: every IMAGE output switched on and wanted."""
        return self._of(Scope.IMAGE, result, settings, wanted)

    def of_3d(self, result: Published3D, settings: NodeSettings,
              wanted: Callable[[OutputSpec], bool] = lambda spec: True) -> Iterator[tuple[OutputSpec, bytes]]:
        """Yield (output, bytes) for a fused frame (in the frame its sink chose): every DEPTH output on and wanted."""
        return self._of(Scope.DEPTH, result, settings, wanted)

    def _of(self, scope: Scope, result, settings: NodeSettings, wanted) -> Iterator[tuple[OutputSpec, bytes]]:
        for spec in self.outputs:
            if spec.scope is scope and switched_on(spec, settings) and wanted(spec):
                data = BUILDERS[spec.name](self, result, settings)
                if data is not None:  # None: a latched output whose content did not change
                    yield spec, data


def _detections_2d(camera: CameraMessages, result: Published2D, settings: NodeSettings) -> bytes:
    return camera.messages.detections_2d(result.frame, settings.outputs.detection_class_id)


def _points(camera: CameraMessages, result: Published3D, settings: NodeSettings) -> bytes:
    frame3d = result.fused.frame
    return camera.messages.points(frame3d.stamp_ns, frame3d.frame_id, result.fused.points)


def _detections_3d(camera: CameraMessages, result: Published3D, settings: NodeSettings) -> bytes:
    return camera.messages.detections_3d(result.fused.frame, settings.outputs.detection_class_id)


def _remembered(camera: CameraMessages, result: Published3D, settings: NodeSettings) -> bytes | None:
    objects = result.fused.remembered
    content = tuple((o.object_id, o.last_seen_ns) for o in objects)
    if content == camera.remembered_sent:
        return None
    camera.remembered_sent = content
    return camera.messages.remembered(result.fused.frame.stamp_ns, result.fused.frame.frame_id, objects)


# output name -> (camera's messages, published result, settings) -> bytes (None: nothing to send)
BUILDERS: dict[str, Callable[[CameraMessages, Any, NodeSettings], bytes | None]] = {
    "instances": lambda camera, result, settings: serialize_instance_array(result.frame),
    "labels": lambda camera, result, settings: camera.messages.labels(result.frame),
    "overlay": lambda camera, result, settings: camera.messages.overlay(result.frame, result.rgb),
    "detections": _detections_2d,
    "instances_3d": lambda camera, result, settings: camera.messages.instances_3d(result.fused.frame),
    "markers": lambda camera, result, settings: camera.markers.markers(result.fused.frame, result.fused.remembered),
    "points": _points,
    "detections_3d": _detections_3d,
    "remembered": _remembered,
}
