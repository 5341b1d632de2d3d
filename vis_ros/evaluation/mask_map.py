"""Mask and box mAP with pycocotools (the COCO reference implementation).

Ground truth: objects with at least MIN_VISIBLE_PIXELS visible pixels; smaller
slivers are marked crowd so that detecting them is neither rewarded nor
punished.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from vis_ros.core.data.detections import Detection
from vis_ros.core.sim.ground_truth import MIN_VISIBLE_PIXELS


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


@dataclass
class MapAccumulator:
    """Collects predictions and ground truth image by image for one pycocotools evaluation."""

    class_names: tuple[str, ...]
    images: list = field(default_factory=list)
    annotations: list = field(default_factory=list)
    results: list = field(default_factory=list)

    def add(self, instance_ids: np.ndarray, objects, detections: list[Detection]) -> None:
        """One frame: GT id map + per-object truths (with class_id), and detections."""
        image_id = len(self.images) + 1
        h, w = instance_ids.shape
        self.images.append({"id": image_id, "height": h, "width": w})
        for obj in objects:
            mask = instance_ids == obj.object_id
            area = int(mask.sum())
            if area == 0:
                continue
            ys, xs = np.nonzero(mask)
            self.annotations.append({
                "id": len(self.annotations) + 1, "image_id": image_id,
                "category_id": obj.class_id + 1, "segmentation": _rle(mask), "area": area,
                "bbox": [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                         float(ys.max() - ys.min() + 1)],
                "iscrowd": int(area < MIN_VISIBLE_PIXELS),
            })
        for d in detections:
            x0, y0, x1, y1 = d.box
            self.results.append({"image_id": image_id, "category_id": d.class_id + 1,
                                 "segmentation": _rle(d.full_mask(h, w)), "score": d.score,
                                 "bbox": [x0, y0, x1 - x0, y1 - y0]})

    def summarize(self) -> dict:
        """Return mask mAP50-95 and mAP50 (and per-class AP) over everything added."""
        gt = COCO()
        gt.dataset = {"images": self.images, "annotations": self.annotations,
                      "categories": [{"id": i + 1, "name": n} for i, n in enumerate(self.class_names)]}
        with contextlib.redirect_stdout(io.StringIO()):
            gt.createIndex()
        out = {"images": len(self.images),
               "objects": sum(1 for a in self.annotations if not a["iscrowd"]),
               "detections": len(self.results)}
        for iou_type in ("segm", "bbox"):
            prefix = "mask" if iou_type == "segm" else "box"
            if not self.results:
                out.update({f"{prefix}_map50_95": 0.0, f"{prefix}_map50": 0.0})
                continue
            with contextlib.redirect_stdout(io.StringIO()):
                dt = gt.loadRes([dict(r) for r in self.results])
                ev = COCOeval(gt, dt, iou_type)
                ev.evaluate()
                ev.accumulate()
                ev.summarize()
            out[f"{prefix}_map50_95"] = float(ev.stats[0])
            out[f"{prefix}_map50"] = float(ev.stats[1])
            if iou_type == "segm":
                # Per-class AP50: precision[T=0 (IoU .5), R, K, A=all, M=100 dets]
                precision = ev.eval["precision"][0, :, :, 0, -1]
                out["mask_ap50_per_class"] = {
                    n: float(np.mean(precision[:, k][precision[:, k] > -1]))
                    if np.any(precision[:, k] > -1) else None
                    for k, n in enumerate(self.class_names)}
        return out
