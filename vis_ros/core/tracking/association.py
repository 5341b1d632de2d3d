"""Association costs by name and the optimal assignment over them.

Association costs between tracks and detections, chosen by name, and the
optimal assignment over them (scipy's linear_sum_assignment).
"""
from __future__ import annotations

from collections import Counter

import numpy as np
from scipy.optimize import linear_sum_assignment

from vis_ros.core import native
from vis_ros.core.tracking.overlap import box_iou_matrix, mask_intersection

INFEASIBLE = 1e6


def similarity_mask_box(tracks, detections, predicted_xyxy, det_xyxy, mask_weight, min_similarity=0.0):
    """mask_weight * mask IoU (crops) + (1 - mask_weight) * box IoU vs prediction.

    Mask IoU is computed only where it can change the assignment: for pairs
    that share their track or their detection with another overlapping pair,
    or whose box term alone would not clear `min_similarity` (> 0). A pair
    that overlaps nothing else and clears the bar on boxes is matched whatever
    its mask IoU, as every other pair in its row and column is infeasible; so
    there mask IoU is taken equal to box IoU (most pairs, when objects are
    apart). Pairs whose boxes do not overlap have mask IoU 0.

    The overlapping pairs are few (about one per track) and are walked in
    plain Python: a dozen numpy calls on (N, M) masks cost more, per frame,
    than the pairs themselves. Where the C kernels are built (core/native)
    the whole of it is one call with the same arithmetic.
    """
    if native.kernels is not None and mask_weight != 0.0 and len(tracks) and len(detections):
        similarity = np.empty((len(tracks), len(detections)))
        native.kernels.similarity_mask_box(
            np.ascontiguousarray(predicted_xyxy, np.float64), np.ascontiguousarray(det_xyxy, np.float64),
            len(tracks), len(detections), mask_weight, min_similarity, list(tracks), list(detections), similarity)
        return similarity
    similarity = box_iou_matrix(predicted_xyxy, det_xyxy)
    if mask_weight == 0.0:
        return similarity
    rows, cols = (index.tolist() for index in np.nonzero(similarity))
    per_row, per_col = Counter(rows), Counter(cols)
    box_weight = 1.0 - mask_weight
    for i, j, box in zip(rows, cols, similarity[rows, cols].tolist(), strict=True):
        mask = box  # stands in for mask IoU where that cannot change the matching
        if min_similarity <= 0 or per_row[i] > 1 or per_col[j] > 1 or box_weight * box < min_similarity:
            t, d = tracks[i], detections[j]
            inter = mask_intersection(t.roi, t.mask, d.roi, d.mask)
            union = t.area + d.area - inter
            mask = inter / union if union > 0 else 0.0
        similarity[i, j] = mask_weight * mask + box_weight * box
    return similarity


def similarity_box(tracks, detections, predicted_xyxy, det_xyxy, mask_weight, min_similarity=0.0):
    """Box IoU against the Kalman prediction only (for box-only input, e.g. MOT files)."""
    return box_iou_matrix(predicted_xyxy, det_xyxy)


COSTS = {"mask_box": similarity_mask_box, "box": similarity_box}


def assign(similarity: np.ndarray, class_mismatch: np.ndarray, min_similarity: float,
           class_penalty: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Optimal matching; returns (pairs, unmatched rows, unmatched columns)."""
    rows, cols = similarity.shape
    if rows == 0 or cols == 0:
        return [], list(range(rows)), list(range(cols))
    cost = 1.0 - similarity + class_penalty * class_mismatch
    cost[similarity < min_similarity] = INFEASIBLE
    r, c = linear_sum_assignment(cost)
    pairs = [(i, j) for i, j, x in zip(r.tolist(), c.tolist(), cost[r, c].tolist(), strict=True) if x < INFEASIBLE]
    matched_r, matched_c = {i for i, _ in pairs}, {j for _, j in pairs}
    return pairs, [i for i in range(rows) if i not in matched_r], [j for j in range(cols) if j not in matched_c]
