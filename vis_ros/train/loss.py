"""Training loss of the embedded model.

Training loss: task-aligned assignment, GIoU box loss, IoU-aware class
targets and box-cropped mask BCE on sigmoid(coefficients . prototypes).

Assignment follows the task-aligned idea of TOOD / YOLOv8: an anchor is a
candidate for a ground truth when its centre lies in the box; among those the
top-k by score^alpha * IoU^beta become positives; the class target is that
alignment, normalised per object to its best IoU, so scores learn to rank by
localisation quality (what mAP rewards).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

EPS = 1e-9


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of xyxy boxes, (N, 4) x (M, 4) -> (N, M)."""
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter + EPS)


def giou_aligned(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Generalised IoU of matching rows of two (N, 4) xyxy tensors."""
    lt = torch.maximum(a[:, :2], b[:, :2])
    rb = torch.minimum(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(-1)
    union = area_a + area_b - inter + EPS
    hull = (torch.maximum(a[:, 2:], b[:, 2:]) - torch.minimum(a[:, :2], b[:, :2])).prod(-1) + EPS
    return inter / union - (hull - union) / hull


@dataclass(frozen=True)
class LossWeights:
    """Weights of the box, class and mask terms (YOLOv8's proportions)."""

    box: float = 7.5
    cls: float = 1.0
    mask: float = 7.5


@torch.no_grad()
def assign(pred_boxes, pred_scores, points, gt_boxes, gt_classes, topk=10, alpha=0.5, beta=6.0):
    """Positives and targets for one image.

    Returns (foreground (A,) bool, matched gt index (A,), class targets (A, nc)).
    """
    num_anchors, num_classes = pred_scores.shape
    if len(gt_boxes) == 0:
        return (torch.zeros(num_anchors, dtype=torch.bool), torch.zeros(num_anchors, dtype=torch.long),
                torch.zeros_like(pred_scores))
    px, py = points[:, 0:1], points[:, 1:2]
    inside = (px > gt_boxes[:, 0]) & (px < gt_boxes[:, 2]) & (py > gt_boxes[:, 1]) & (py < gt_boxes[:, 3])
    # Objects smaller than a grid cell still get the anchor nearest their centre.
    centres = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
    nearest = torch.cdist(points, centres).argmin(0)
    inside[nearest, torch.arange(len(gt_boxes))] = True
    ious = box_iou(pred_boxes, gt_boxes).clamp(min=0)
    align = pred_scores[:, gt_classes].pow(alpha) * ious.pow(beta) * inside
    k = min(topk, num_anchors)
    top = align.topk(k, dim=0).indices
    candidate = torch.zeros_like(inside)
    candidate.scatter_(0, top, True)
    candidate &= inside
    candidate[nearest, torch.arange(len(gt_boxes))] = True
    # An anchor claimed by several objects goes to the one it overlaps most.
    several = candidate.sum(1) > 1
    if several.any():
        best = F.one_hot(ious[several].argmax(1), len(gt_boxes)).bool()
        candidate[several] = best
    foreground = candidate.any(1)
    matched = candidate.float().argmax(1)
    align = align * candidate
    norm = align * ((ious * candidate).amax(0) / (align.amax(0) + EPS))
    quality = norm.amax(1)
    targets = torch.zeros_like(pred_scores)
    targets[foreground, gt_classes[matched[foreground]]] = quality[foreground]
    return foreground, matched, targets


def image_loss(boxes, logits, coefs, protos, points, gt_boxes, gt_classes, gt_masks,
               weights: LossWeights = LossWeights()):
    """Loss of one image. boxes (A,4) xyxy input px; logits (A,nc); coefs (A,32); protos (32,h,w)."""
    scores = logits.sigmoid()
    foreground, matched, targets = assign(boxes.detach(), scores.detach(), points, gt_boxes, gt_classes)
    target_sum = targets.sum().clamp(min=1.0)
    cls_loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="sum") / target_sum
    if not foreground.any():
        zero = boxes.sum() * 0 + coefs.sum() * 0 + protos.sum() * 0
        return weights.cls * cls_loss + zero, {"cls": cls_loss.item(), "box": 0.0, "mask": 0.0}
    gt_idx = matched[foreground]
    weight = targets[foreground].sum(1)
    giou = giou_aligned(boxes[foreground], gt_boxes[gt_idx])
    box_loss = ((1.0 - giou) * weight).sum() / target_sum

    h, w = protos.shape[1:]
    mask_logits = (coefs[foreground] @ protos.reshape(protos.shape[0], -1)).reshape(-1, h, w)
    target_masks = gt_masks[gt_idx].float()
    per_pixel = F.binary_cross_entropy_with_logits(mask_logits, target_masks, reduction="none")
    # Only pixels inside the object's box count (the decoder crops to the box too).
    scale = torch.tensor([w, h, w, h], dtype=gt_boxes.dtype) / torch.tensor(
        [w * 4, h * 4, w * 4, h * 4], dtype=gt_boxes.dtype)
    crop_boxes = gt_boxes[gt_idx] * scale
    xs = torch.arange(w, dtype=crop_boxes.dtype) + 0.5
    ys = torch.arange(h, dtype=crop_boxes.dtype) + 0.5
    in_x = (xs[None] >= crop_boxes[:, 0:1]) & (xs[None] <= crop_boxes[:, 2:3])
    in_y = (ys[None] >= crop_boxes[:, 1:2]) & (ys[None] <= crop_boxes[:, 3:4])
    crop = (in_y[:, :, None] & in_x[:, None, :]).float()
    area = crop.sum((1, 2)).clamp(min=1.0)
    mask_loss = ((per_pixel * crop).sum((1, 2)) / area).mean()
    total = weights.box * box_loss + weights.cls * cls_loss + weights.mask * mask_loss
    return total, {"cls": cls_loss.item(), "box": box_loss.item(), "mask": mask_loss.item()}
