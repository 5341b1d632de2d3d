"""rviz / Nav2 / MoveIt outputs of 3D instances: MarkerArray and PointCloud2.

Marker ids are the track ids (one box and one text marker per track), so a
track's markers are updated in place, and tracks that vanish get DELETE
(no blinking, no leftovers). The point cloud carries an `instance_id` field
next to x, y, z (what obstacle layers and octomaps consume).
"""
from __future__ import annotations

import numpy as np
from geometry_msgs.msg import Point, Pose, Quaternion, Vector3
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from vis_ros.core.outputs.overlay import colour_for


class MarkerTracker:
    """Remembers which track ids have markers, to DELETE the ones that vanish."""

    def __init__(self, namespace: str = "vis_ros"):
        self.namespace = namespace
        self._shown: set[int] = set()

    def build(self, header, frame3d) -> MarkerArray:
        """Build the frame's box and label markers, with DELETE for tracks that vanished."""
        array = MarkerArray()
        current = set()
        for inst in frame3d.instances:
            if inst.confidence <= 0:
                continue
            current.add(inst.track_id)
            r, g, b = (c / 255.0 for c in colour_for(inst.track_id))
            pose = Pose(position=Point(x=inst.position[0], y=inst.position[1], z=inst.position[2]),
                        orientation=Quaternion(x=inst.orientation[0], y=inst.orientation[1],
                                               z=inst.orientation[2], w=inst.orientation[3]))
            box = Marker(header=header, ns=f"{self.namespace}/boxes", id=_marker_id(inst.track_id),
                         type=Marker.CUBE, action=Marker.ADD, pose=pose,
                         scale=Vector3(x=max(inst.size[0], 0.005), y=max(inst.size[1], 0.005),
                                       z=max(inst.size[2], 0.005)),
                         color=ColorRGBA(r=r, g=g, b=b, a=0.5))
            text_pose = Pose(position=Point(x=inst.position[0], y=inst.position[1] - inst.size[1] / 2 - 0.03,
                                            z=inst.position[2]), orientation=Quaternion(w=1.0))
            text = Marker(header=header, ns=f"{self.namespace}/labels", id=_marker_id(inst.track_id),
                          type=Marker.TEXT_VIEW_FACING, action=Marker.ADD, pose=text_pose,
                          scale=Vector3(z=0.04), color=ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0),
                          text=f"{inst.track_id} {inst.class_name}")
            array.markers += [box, text]
        for gone in sorted(self._shown - current):
            for ns in ("boxes", "labels"):
                array.markers.append(Marker(header=header, ns=f"{self.namespace}/{ns}",
                                            id=_marker_id(gone), action=Marker.DELETE))
        self._shown = current
        return array


def _marker_id(track_id: int) -> int:
    return int((track_id - 1) % (2**31 - 1)) + 1  # Marker.id is int32


def points_cloud(header, points_by_track: dict[int, np.ndarray]) -> PointCloud2:
    """x, y, z float32 + instance_id uint32, unorganised."""
    dtype = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("instance_id", "<u4")])
    total = sum(len(p) for p in points_by_track.values())
    data = np.empty(total, dtype)
    offset = 0
    for track_id, pts in points_by_track.items():
        n = len(pts)
        data["x"][offset:offset + n], data["y"][offset:offset + n], data["z"][offset:offset + n] = pts.T
        data["instance_id"][offset:offset + n] = track_id % 2**32
        offset += n
    fields = [PointField(name=n, offset=o, datatype=t, count=1) for n, o, t in
              (("x", 0, PointField.FLOAT32), ("y", 4, PointField.FLOAT32), ("z", 8, PointField.FLOAT32),
               ("instance_id", 12, PointField.UINT32))]
    msg = PointCloud2(header=header, height=1, width=total, fields=fields, is_bigendian=False,
                      point_step=16, row_step=16 * total, is_dense=True)
    msg.data = data.tobytes()
    return msg
