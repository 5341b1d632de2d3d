"""Depth-fusion accuracy against simulator ground truth.

Fusion is fed ground-truth masks and the sensor-model depth (noise, holes,
flying pixels), which isolates it from segmentation errors. Compared with:
  the visible-surface centroid (GT mask pixels back-projected with exact depth),
  for each object in range [0.5, 4] m: error / range;
  box size: the object's full ground-truth box, dimensions compared in sorted
            order (the estimate's axes follow the camera, the truth's the object),
            and the distance between the box centres;
  static jitter: std over 30 frames of a static scene's smoothed centroids near 1 m.
Speed is measured by `vis-ros bench` (fusion_bench), not here.
"""
from __future__ import annotations

import numpy as np

from vis_ros.core.data.instances import InstanceFrame
from vis_ros.core.fusion.fuse import fuse_instance
from vis_ros.core.fusion.fuser import DepthFuser
from vis_ros.core.fusion.support_plane import SupportPlane
from vis_ros.core.sim.ground_truth import gt_instances
from vis_ros.core.sim.scene import SimOptions
from vis_ros.core.sim.sequence import generate_sequence, sequence_frames

FUSION_SEED_BASE = 3_000_000


def _visible_points(frame, object_id, k):
    ys, xs = np.nonzero(frame.instance_ids == object_id)
    z = frame.depth_true_m[ys, xs].astype(np.float64)
    return np.stack([(xs - k.cx) * z / k.fx, (ys - k.cy) * z / k.fy, z], 1)


def evaluate_fusion(sequences: int = 20, frames_per_sequence: int = 5, jitter: bool = True) -> dict:
    """Score depth fusion against the simulator's ground-truth boxes."""
    centroid_rel, size_rel, centre_err = [], [], []
    for i in range(sequences):
        camera, it = sequence_frames(FUSION_SEED_BASE + i, range(0, frames_per_sequence * 10, 10),
                                     SimOptions(objects=12))
        for frame in it:
            depth = frame.depth_mm.astype(np.float32) * 0.001
            instances = gt_instances(frame.instance_ids, frame.objects)
            up = SupportPlane().update(depth, camera, [inst.box for inst in instances])
            estimates = [fuse_instance(inst.box, inst.mask, depth, camera, up=up) for inst in instances]
            truths = {o.object_id: o for o in frame.objects}
            for inst, est in zip(instances, estimates, strict=True):
                truth = _visible_points(frame, inst.track_id, camera)
                gt_centroid = truth.mean(0)
                if est.confidence == 0 or not 0.5 <= gt_centroid[2] <= 4.0:
                    continue
                centroid_rel.append(np.linalg.norm(est.centroid - gt_centroid) / gt_centroid[2])
                gt = truths[inst.track_id]
                size_rel.extend(np.abs(np.sort(est.box_size) - np.sort(gt.box_size)) / np.sort(gt.box_size))
                centre_err.append(float(np.linalg.norm(est.box_center - gt.box_center)))
    return {
        "objects": len(centroid_rel),
        "centroid_error_over_range": {"median": float(np.median(centroid_rel)),
                                      "p90": float(np.percentile(centroid_rel, 90))},
        "box_size_error_vs_gt_box": {"median": float(np.median(size_rel)),
                                     "p90": float(np.percentile(size_rel, 90))},
        "box_centre_error_m": {"median": float(np.median(centre_err)),
                               "p90": float(np.percentile(centre_err, 90))},
        "static_jitter_mm_near_1m": static_jitter_mm() if jitter else None,
    }


def static_jitter_mm(frames: int = 30) -> dict:
    """Std (mm) over `frames` of smoothed centroids of static objects 0.8-1.2 m away."""
    options = SimOptions(objects=8, object_speed=0.0)
    per_object = []
    for seed in range(FUSION_SEED_BASE + 100, FUSION_SEED_BASE + 110):
        camera, it = generate_sequence(seed, frames, options)
        fuser, tracks = DepthFuser(), {}
        for frame in it:
            instances = gt_instances(frame.instance_ids, frame.objects)
            frame2d = InstanceFrame(frame.stamp_ns, "cam", camera.height, camera.width, True, instances)
            frame3d, _, _ = fuser(frame2d, frame.depth_mm.astype(np.float32) * 0.001, camera)
            for inst in frame3d.instances:
                if inst.confidence > 0:
                    tracks.setdefault(inst.track_id, []).append(inst.position)
        for positions in tracks.values():
            p = np.array(positions)
            if len(p) == frames and 0.8 <= p[:, 2].mean() <= 1.2:
                per_object.append(1000 * float(np.linalg.norm(p[10:].std(axis=0))))
    return {"objects": len(per_object),
            "median": float(np.median(per_object)) if per_object else None,
            "max": float(np.max(per_object)) if per_object else None}
