"""Tracking metrics via trackeval, on mask IoU.

Tracking metrics (HOTA with DetA/AssA, IDF1, ID switches) via trackeval, on
mask IoU similarity, plus mean mask IoU against ground truth.

trackeval's metric classes take per-frame id lists and similarity matrices;
we supply mask IoU from pycocotools, so the metric code itself is trackeval's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as mask_utils
from scipy.optimize import linear_sum_assignment


def published_masks(instances, height: int, width: int) -> dict[int, np.ndarray]:
    """Map track id -> full-image mask of what the node publishes by default.

    `is_published` decides: tracking is scored on exactly that output.
    """
    from vis_ros.core.data.instances import is_published

    return {i.track_id: i.full_mask(height, width) for i in instances if is_published(i.state)}


def score_playback(frames, stamp_to_index: dict[int, int], dataset, skip_stamps=()) -> SequenceRecorder:
    """Record InstanceFrames received while a SimDataset was played (stamps map back to frames)."""
    from vis_ros.core.sim.ground_truth import gt_masks

    rec = SequenceRecorder()
    for frame in frames:
        index = stamp_to_index.get(frame.stamp_ns)
        if index is None or frame.stamp_ns in skip_stamps:
            continue
        truth = dataset[index]
        rec.add(gt_masks(truth.instance_ids, ((o["id"], o["visible_pixels"]) for o in truth.objects)),
                published_masks(frame.instances, frame.height, frame.width))
    return rec


def _rles(masks: list[np.ndarray]):
    return [mask_utils.encode(np.asfortranarray(m.astype(np.uint8))) for m in masks]


@dataclass
class SequenceRecorder:
    """Collects one sequence's GT and tracker output, frame by frame."""

    gt_ids: list = field(default_factory=list)
    tracker_ids: list = field(default_factory=list)
    similarity: list = field(default_factory=list)
    best_iou: list = field(default_factory=list)  # per GT object-frame, 0 when missed

    def add(self, gt: dict[int, np.ndarray], tracked: dict[int, np.ndarray]) -> None:
        """Gt / tracked: object id -> full-image bool mask for this frame."""
        g_ids, t_ids = list(gt), list(tracked)
        if g_ids and t_ids:
            iou = np.asarray(mask_utils.iou(_rles([tracked[t] for t in t_ids]),
                                            _rles([gt[g] for g in g_ids]), [0] * len(g_ids))).T
            iou = iou.reshape(len(g_ids), len(t_ids))
        else:
            iou = np.zeros((len(g_ids), len(t_ids)))
        self.gt_ids.append(np.array(g_ids, int))
        self.tracker_ids.append(np.array(t_ids, int))
        self.similarity.append(iou)
        best = np.zeros(len(g_ids))
        if iou.size:
            r, c = linear_sum_assignment(-iou)
            best[r] = iou[r, c]
        self.best_iou.extend(best.tolist())

    def trackeval_data(self) -> dict:
        """Ids remapped to 0..n-1 per sequence, as trackeval expects."""
        gt_map = {g: i for i, g in enumerate(sorted({int(g) for f in self.gt_ids for g in f}))}
        tr_map = {t: i for i, t in enumerate(sorted({int(t) for f in self.tracker_ids for t in f}))}
        return {
            "num_timesteps": len(self.gt_ids), "num_gt_ids": len(gt_map), "num_tracker_ids": len(tr_map),
            "num_gt_dets": int(sum(len(f) for f in self.gt_ids)),
            "num_tracker_dets": int(sum(len(f) for f in self.tracker_ids)),
            "gt_ids": [np.array([gt_map[int(g)] for g in f], int) for f in self.gt_ids],
            "tracker_ids": [np.array([tr_map[int(t)] for t in f], int) for f in self.tracker_ids],
            "similarity_scores": self.similarity,
        }


def summarize(recorders: list[SequenceRecorder]) -> dict:
    """Combine sequences into HOTA, IDF1, ID switches and mean mask IoU."""
    from trackeval.metrics import CLEAR, HOTA, Identity

    quiet = {"PRINT_CONFIG": False}
    metrics = {"HOTA": HOTA(quiet), "CLEAR": CLEAR(quiet), "Identity": Identity(quiet)}
    per_sequence = {name: {} for name in metrics}
    for i, rec in enumerate(recorders):
        data = rec.trackeval_data()
        for name, metric in metrics.items():
            per_sequence[name][str(i)] = metric.eval_sequence(data)
    combined = {name: metric.combine_sequences(per_sequence[name]) for name, metric in metrics.items()}
    hota, clear, ident = combined["HOTA"], combined["CLEAR"], combined["Identity"]
    object_frames = int(sum(sum(len(f) for f in r.gt_ids) for r in recorders))
    idsw = int(clear["IDSW"])
    return {
        "HOTA": float(np.mean(hota["HOTA"])), "DetA": float(np.mean(hota["DetA"])),
        "AssA": float(np.mean(hota["AssA"])), "IDF1": float(ident["IDF1"]),
        "MOTA": float(clear["MOTA"]), "IDSW": idsw, "object_frames": object_frames,
        "IDSW_per_1000_object_frames": 1000.0 * idsw / max(object_frames, 1),
        "mean_mask_iou": float(np.mean([v for r in recorders for v in r.best_iou])) if object_frames else 0.0,
    }
