"""~/markers: a box and a label per measured instance, and grey ones for the objects the memory keeps.

Built with the same type store as every other output (io/output_messages.py),
for the node and for bags alike.
"""
from __future__ import annotations

from collections.abc import Sequence

from vis_ros.core.data.instances import Instance3D, Instance3DFrame
from vis_ros.core.fusion.memory_records import RememberedObject
from vis_ros.core.fusion.transform import quaternion_matrix
from vis_ros.core.outputs.overlay import colour_for
from vis_ros.io.output_messages import OutputMessages

MARKER_NAMESPACE = "vis_ros"
MIN_MARKER_SIZE_M = 0.005


class MarkerState:
    """One camera's markers: a box and a label per track, DELETE for tracks that vanish.

    Marker ids are the track ids, so a track's markers are updated in place
    and a vanished track leaves nothing behind in rviz.
    """

    def __init__(self, messages: OutputMessages, namespace: str = MARKER_NAMESPACE):
        self.messages, self.namespace = messages, namespace
        self._shown: set[int] = set()
        self._remembered_shown: dict[int, int] = {}  # object ID -> its last-seen stamp, as sent

    def markers(self, frame: Instance3DFrame, remembered: Sequence[RememberedObject] = ()) -> bytes:
        """Write ~/markers for this frame (measured instances), with DELETE for the ones gone since the last.

        Objects the memory keeps out of view are grey boxes (namespace
        `<ns>/remembered`), sent when they change.
        """
        m = self.messages
        kinds = m.t["visualization_msgs/msg/Marker"]
        header = m.header(frame.stamp_ns, frame.frame_id)
        markers, current = [], set()
        for inst in frame.instances:
            if inst.confidence <= 0:
                continue
            current.add(inst.track_id)
            r, g, b = (c / 255.0 for c in colour_for(inst.track_id))
            size = tuple(max(s, MIN_MARKER_SIZE_M) for s in inst.size)
            label_at = _above(inst, 0.03)
            markers.append(m.marker(header, f"{self.namespace}/boxes", _marker_id(inst.track_id), kinds.CUBE,
                                    kinds.ADD, m.pose(inst.position, inst.orientation), size, (r, g, b, 0.5)))
            markers.append(m.marker(header, f"{self.namespace}/labels", _marker_id(inst.track_id),
                                    kinds.TEXT_VIEW_FACING, kinds.ADD, m.pose(label_at, (0.0, 0.0, 0.0, 1.0)),
                                    (0.0, 0.0, 0.04), (1.0, 1.0, 1.0, 1.0), f"{inst.track_id} {inst.class_name}"))
        for gone in sorted(self._shown - current):
            for ns in ("boxes", "labels"):
                markers.append(m.marker(header, f"{self.namespace}/{ns}", _marker_id(gone), kinds.ARROW,
                                        kinds.DELETE))
        self._shown = current
        markers += self._remembered(header, remembered)
        return m.serialize(m.t["visualization_msgs/msg/MarkerArray"](markers=markers))

    def _remembered(self, header, remembered: Sequence[RememberedObject]) -> list:
        """Grey boxes for the remembered objects, sent when they change: rviz keeps a marker until it is deleted.

        Sending all of them every frame cost 12 ms a frame at 200 objects.
        """
        m, kinds = self.messages, self.messages.t["visualization_msgs/msg/Marker"]
        markers, current = [], {obj.object_id: obj.last_seen_ns for obj in remembered}
        for obj in remembered:
            if self._remembered_shown.get(obj.object_id) == obj.last_seen_ns:
                continue
            size = tuple(max(s, MIN_MARKER_SIZE_M) for s in obj.size)
            markers.append(m.marker(header, f"{self.namespace}/remembered", _marker_id(obj.object_id), kinds.CUBE,
                                    kinds.ADD, m.pose(obj.position, obj.orientation), size, (0.5, 0.5, 0.5, 0.35)))
            markers.append(m.marker(header, f"{self.namespace}/remembered_labels", _marker_id(obj.object_id),
                                    kinds.TEXT_VIEW_FACING, kinds.ADD, m.pose(obj.position, (0.0, 0.0, 0.0, 1.0)),
                                    (0.0, 0.0, 0.04), (0.7, 0.7, 0.7, 1.0),
                                    f"{obj.object_id} {obj.class_name} (out of view)"))
        for gone in sorted(self._remembered_shown.keys() - current.keys()):
            for ns in ("remembered", "remembered_labels"):
                markers.append(m.marker(header, f"{self.namespace}/{ns}", _marker_id(gone), kinds.ARROW,
                                        kinds.DELETE))
        self._remembered_shown = current
        return markers


def _above(instance: Instance3D, margin_m: float) -> tuple[float, float, float]:
    """Return the point `margin_m` above the box's top, along its up axis (-y), in whatever frame it is."""
    down = quaternion_matrix(instance.orientation)[:, 1]
    reach = instance.size[1] / 2 + margin_m
    return tuple(float(p - reach * d) for p, d in zip(instance.position, down, strict=True))


def _marker_id(track_id: int) -> int:
    return int((track_id - 1) % (2**31 - 1)) + 1  # Marker.id is int32
