"""Frame-level depth fusion: InstanceFrame + depth + camera -> Instance3DFrame.

Depth at another resolution than colour is handled by scaling the intrinsics
and resampling each mask onto the depth grid (the caller logs the returned
notice once).

Each instance is measured in the camera's optical frame, then, with a
transform to a target frame (a world-fixed one: map, odom), expressed there
before it is smoothed: the per-track filters (centroid and velocity, box yaw
and extents) then see a static object as static while the camera moves, and
the velocity is the object's, not the camera's.
"""
from __future__ import annotations

import cv2
import numpy as np

from vis_ros.core.data.instances import Instance3D, Instance3DFrame, InstanceFrame, PixelBox
from vis_ros.core.fusion.box_smoothing import BoxSmoother
from vis_ros.core.fusion.camera import PinholeCamera
from vis_ros.core.fusion.fuse import Estimate3D, FusionConfig, fuse_instance
from vis_ros.core.fusion.smoothing import CentroidSmoother
from vis_ros.core.fusion.support_plane import SupportPlane
from vis_ros.core.fusion.transform import Rigid, matrix_quaternion


def _mask_on_depth_grid(roi: PixelBox, mask: np.ndarray, sx: float, sy: float, dw: int, dh: int):
    x0, y0 = int(np.floor(roi.x * sx)), int(np.floor(roi.y * sy))
    x1, y1 = min(int(np.ceil(roi.x_end * sx)), dw), min(int(np.ceil(roi.y_end * sy)), dh)
    if x1 <= x0 or y1 <= y0:
        return PixelBox(x0, y0, 0, 0), np.zeros((0, 0), bool)
    resized = cv2.resize(mask.astype(np.uint8), (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    return PixelBox(x0, y0, x1 - x0, y1 - y0), resized.astype(bool)


class DepthFuser:
    """Depth fusion of a whole frame: support plane, per-instance boxes, smoothing over time."""

    def __init__(self, config: FusionConfig = FusionConfig(), smoother: CentroidSmoother | None = None):
        self.config = config
        self.smoother = smoother or CentroidSmoother()
        self.boxes = BoxSmoother()
        self.support = SupportPlane()

    def __call__(self, frame: InstanceFrame, depth_m: np.ndarray, camera: PinholeCamera,
                 to_target: Rigid | None = None, target_frame: str = ""
                 ) -> tuple[Instance3DFrame, dict[int, Estimate3D], list[str]]:
        """3D instances (smoothed), the raw estimates by track id (camera frame), and notices to log once.

        With `to_target` (the camera's pose in `target_frame` at the image
        stamp) the instances are in `target_frame`, else in the image's frame.
        """
        notices = []
        dh, dw = depth_m.shape
        if (camera.width, camera.height) != (dw, dh):
            camera = camera.scaled_to(dw, dh)
        sx, sy = dw / frame.width, dh / frame.height
        if (dw, dh) != (frame.width, frame.height):
            notices.append(f"depth is {dw}x{dh}, colour {frame.width}x{frame.height}:"
                           " masks resampled and intrinsics scaled to the depth image")
        regions = []
        for inst in frame.instances:
            roi, mask = inst.box, inst.mask
            if notices:
                roi, mask = _mask_on_depth_grid(roi, mask, sx, sy, dw, dh)
            regions.append((roi, mask))
        up = self.support.update(depth_m, camera, [roi for roi, _ in regions])
        instances, estimates = [], {}
        for inst, (roi, mask) in zip(frame.instances, regions, strict=True):
            est = fuse_instance(roi, mask, depth_m, camera, self.config, up)
            estimates[inst.track_id] = est
            centroid, centre, rotation = est.centroid, est.box_center, est.rotation
            if to_target is not None:
                centroid, centre = to_target.points(np.stack([centroid, centre]))
                rotation = to_target.matrix @ rotation
            position, velocity, size = centre, np.zeros(3), est.box_size
            if est.confidence > 0:
                smoothed, velocity = self.smoother.update(inst.track_id, frame.stamp_ns, centroid,
                                                          float(est.centroid[2]))
                position = centre + (smoothed - centroid)
                rotation, size = self.boxes.update(inst.track_id, frame.stamp_ns, rotation, size)
            instances.append(Instance3D(
                track_id=inst.track_id, class_id=inst.class_id, class_name=inst.class_name,
                score=inst.score, position=tuple(position), orientation=matrix_quaternion(rotation),
                size=tuple(size), velocity=tuple(velocity), num_points=est.num_points,
                confidence=est.confidence))
        self.smoother.prune(frame.stamp_ns)
        self.boxes.prune(frame.stamp_ns)
        frame_id = target_frame if to_target is not None else frame.frame_id
        return Instance3DFrame(frame.stamp_ns, frame_id, tuple(instances)), estimates, notices
