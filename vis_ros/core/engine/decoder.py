"""Decoder for the prototype-coefficient head (YOLACT idea, Ultralytics layouts).

Order of work is what makes it cheap: filter anchors by score first, NMS on
the survivors (raw head only: end-to-end rows come selected, and sorting
them is all that is left), and only then build masks, for kept detections only and only
inside their boxes. A mask is sigmoid(coefficients . prototypes) > threshold;
the probabilities of the box's prototype crop are resampled straight into the box's
source-image pixels by one affine warp (undoing the letterbox and the
stride-4 prototype grid at once). Probabilities, not logits, are
interpolated (as Ultralytics does), so edges agree with user expectations;
the sigmoid runs on the small prototype crop only. With the C kernels built
(core/native), the selection (score filter, NMS, box conversion) and all
masks of a frame are two calls with the same arithmetic; otherwise numpy
and OpenCV do it, the masks one at a time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vis_ros.core import native
from vis_ros.core.data.detections import Detection
from vis_ros.core.data.errors import ModelLayoutError
from vis_ros.core.data.instances import PixelBox
from vis_ros.core.engine.letterbox import Letterbox
from vis_ros.core.engine.model_spec import END_TO_END, RAW_HEAD, Layout

PROTO_STRIDE = 4


@dataclass(frozen=True)
class DecoderConfig:
    """Thresholds of the decoder; raising score_threshold or nms_iou trades recall for fewer false positives."""

    score_threshold: float = 0.25
    nms_iou: float = 0.5
    class_agnostic_nms: bool = False
    max_detections: int = 100
    mask_threshold: float = 0.5

    def __post_init__(self) -> None:
        """Refuse thresholds outside their ranges, naming the value."""
        for name in ("score_threshold", "nms_iou"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        if not 0.0 < self.mask_threshold < 1.0:
            raise ValueError(f"mask_threshold must be in (0, 1), got {self.mask_threshold!r}")
        if self.max_detections < 1:
            raise ValueError(f"max_detections must be >= 1, got {self.max_detections!r}")


def select_detections(raw: np.ndarray, num_classes: int, config: DecoderConfig):
    """Score filter + NMS on one image's detection tensor (4 + nc + nm, A).

    Returns kept anchor indices (best first), their boxes xyxy in input pixels,
    scores and class ids. Few anchors pass the score filter, so everything
    after the per-anchor maximum works on the survivors only: each numpy call
    costs tens of microseconds on caches the engine has just flushed.
    """
    best = raw[4:4 + num_classes].max(axis=0)
    candidates = (best > config.score_threshold).nonzero()[0]
    if candidates.size == 0:
        empty = np.zeros(0, np.int64)
        return empty, np.zeros((0, 4), np.float32), np.zeros(0, np.float32), empty
    picked = raw[:4 + num_classes, candidates]
    cand_classes = picked[4:].argmax(axis=0)
    cand_scores = best[candidates]
    xywh = picked[:4].T.astype(np.float64)  # a copy: (N, 4) centre x, y, w, h
    xywh[:, :2] -= xywh[:, 2:] / 2  # centre -> top-left
    nms_boxes = xywh
    if not config.class_agnostic_nms:
        # Class-aware NMS: shift each class's boxes apart so they never overlap.
        nms_boxes = xywh.copy()
        nms_boxes[:, 0] += cand_classes * 8192.0
    keep = cv2.dnn.NMSBoxes(nms_boxes, cand_scores, config.score_threshold, config.nms_iou,
                            top_k=config.max_detections)
    keep = np.asarray(keep, dtype=np.int64).reshape(-1)[:config.max_detections]
    boxes = xywh[keep]
    boxes[:, 2:] += boxes[:, :2]  # top-left + size -> bottom-right, exact in float64
    boxes = boxes.astype(np.float32)
    return candidates[keep], boxes, cand_scores[keep], cand_classes[keep]


def select_rows(rows: np.ndarray, num_classes: int, config: DecoderConfig):
    """Score filter on one image's end-to-end rows (K, 6 + nm): no NMS, the head has done it.

    Returns the kept rows' indices (best first, at most max_detections),
    boxes xyxy in input pixels, scores and class ids. Rows with a non-finite
    box, score or class are dropped; a class index outside the class list
    means the list does not match the model, which is refused by name.
    """
    head = np.asarray(rows[:, :6], np.float32)
    scores = head[:, 4]
    usable = np.isfinite(head).all(axis=1) & (scores > config.score_threshold)
    kept = usable.nonzero()[0]
    kept = kept[np.argsort(-scores[kept], kind="stable")][:config.max_detections]
    classes = head[kept, 5]
    class_ids = np.rint(classes).astype(np.int64)
    outside = (class_ids < 0) | (class_ids >= num_classes)
    if outside.any():
        raise ModelLayoutError(f"end-to-end row class index {classes[outside][0]:g} is outside the {num_classes}"
                               " class names; the class list does not match the model")
    return kept, head[kept, :4].copy(), scores[kept], class_ids


class Decoder:
    """Turns one image's raw outputs into Detections in source-image pixels."""

    def __init__(self, class_names: tuple[str, ...], config: DecoderConfig = DecoderConfig(),
                 layout: Layout = RAW_HEAD):
        if layout not in tuple(Layout):
            raise ValueError(f"layout must be one of {[str(v) for v in Layout]}, got {layout!r}")
        self.class_names = tuple(class_names)
        self.config = config
        self.layout = layout
        self._tanh_threshold = np.float32(2.0 * config.mask_threshold - 1.0)
        self._selected = None  # output buffers of the C selection, made on first use

    def __call__(self, detections: np.ndarray, prototypes: np.ndarray,
                 letterbox: Letterbox) -> list[Detection]:
        """Decode one image: detections (4 + nc + nm, A) or end-to-end rows (K, 6 + nm), prototypes (nm, h, w)."""
        build = self._masks_native if native.kernels is not None else self._masks_numpy
        if self.layout == END_TO_END:
            boxes_src, rois, scores, classes, coefficients = self._select_rows(detections, letterbox)
        elif native.kernels is not None:
            boxes_src, rois, scores, classes, coefficients = self._select_native(detections, letterbox)
        else:
            boxes_src, rois, scores, classes, coefficients = self._select_numpy(detections, letterbox)
        if len(scores) == 0:
            return []
        out = []
        for box, (left, top, right, bottom), (mask, area), score, cid in zip(
                boxes_src.tolist(), rois.tolist(), build(coefficients, prototypes, rois, letterbox),
                scores.tolist(), classes.tolist(), strict=True):
            if mask is None:  # no pixel centre inside the box
                continue
            out.append(Detection(box=tuple(box), score=score, class_id=cid, class_name=self.class_names[cid],
                                 roi=PixelBox(left, top, right - left, bottom - top), mask=mask, mask_area=area))
        return out

    def _select_numpy(self, detections, letterbox: Letterbox):
        """Kept detections' source boxes, pixel ROIs, scores, classes and mask coefficients (K, nm)."""
        nc = len(self.class_names)
        anchors, boxes_in, scores, classes = select_detections(detections, nc, self.config)
        boxes_src = letterbox.boxes_to_source(boxes_in)
        return boxes_src, _pixel_rois(boxes_src), scores, classes, detections[4 + nc:, anchors].T

    def _select_rows(self, rows, letterbox: Letterbox):
        """Return the same five arrays from end-to-end rows."""
        kept, boxes_in, scores, classes = select_rows(rows, len(self.class_names), self.config)
        boxes_src = letterbox.boxes_to_source(boxes_in)
        return boxes_src, _pixel_rois(boxes_src), scores, classes, np.asarray(rows[kept, 6:], np.float32)

    def _select_native(self, detections, letterbox: Letterbox):
        """Select detections in one C call.

        _select_numpy in one C call, into buffers reused across frames (every
        caller turns the results into lists or consumes them before the next frame).
        """
        detections = np.ascontiguousarray(detections, np.float32)
        rows, count = detections.shape
        cfg, nm = self.config, rows - 4 - len(self.class_names)
        if self._selected is None or self._selected[-1].shape[1] != nm:
            n = cfg.max_detections
            self._selected = (np.empty(n, np.int64), np.empty((n, 4), np.float32), np.empty((n, 4), np.int64),
                              np.empty(n, np.float32), np.empty(n, np.int64), np.empty((n, nm), np.float32))
        anchors, boxes, rois, scores, classes, coefficients = self._selected
        k = native.kernels.select_detections(
            detections, (rows, count), len(self.class_names), cfg.score_threshold, cfg.nms_iou,
            cfg.class_agnostic_nms, cfg.max_detections,
            (letterbox.scale, letterbox.pad_x, letterbox.pad_y, letterbox.source_width, letterbox.source_height),
            anchors, boxes, scores, classes, rois, coefficients)
        return boxes[:k], rois[:k], scores[:k], classes[:k], coefficients[:k]

    def _masks_native(self, coefficients, prototypes, rois, letterbox: Letterbox):
        """Build every mask of a frame in one C call.

        (mask, pixels set) per ROI, (None, 0) for an empty one: all masks in one
        C call (core/native/decode.c), each a view of one buffer.
        """
        sizes = np.maximum(rois[:, 2:] - rois[:, :2], 0)
        pixels = sizes[:, 0] * sizes[:, 1]
        buffer = np.empty(int(pixels.sum()), bool)
        areas = np.empty(len(rois), np.int64)
        prototypes = np.ascontiguousarray(prototypes, np.float32)
        native.kernels.build_masks(
            prototypes, prototypes.shape, np.ascontiguousarray(coefficients, np.float32), rois, len(rois),
            letterbox.scale / PROTO_STRIDE, letterbox.pad_x / PROTO_STRIDE - 0.5,
            letterbox.pad_y / PROTO_STRIDE - 0.5, self.config.mask_threshold, buffer, areas)
        masks, start = [], 0
        for (width, height), n, area in zip(sizes.tolist(), pixels.tolist(), areas.tolist(), strict=True):
            masks.append((buffer[start:start + n].reshape(height, width), area) if n else (None, 0))
            start += n
        return masks

    def _masks_numpy(self, coefficients, prototypes, rois, letterbox: Letterbox):
        """(mask, pixels set) per ROI as _masks_native, one detection at a time."""
        # Halved: sigmoid(x) = (1 + tanh(x / 2)) / 2, and see _mask.
        half = coefficients * np.float32(0.5)
        scale = letterbox.scale / PROTO_STRIDE
        warp = np.array([[scale, 0.0, 0.0], [0.0, scale, 0.0]], np.float32)  # offsets set per mask
        masks = []
        for (left, top, right, bottom), coef in zip(rois.tolist(), half, strict=True):
            if right <= left or bottom <= top:
                masks.append((None, 0))
                continue
            mask = self._mask(coef, prototypes, PixelBox(left, top, right - left, bottom - top), letterbox, warp)
            masks.append((mask, int(np.count_nonzero(mask))))
        return masks

    def _mask(self, half_coef, prototypes, roi: PixelBox, letterbox: Letterbox, warp: np.ndarray) -> np.ndarray:
        """Mask of one detection inside its ROI; `half_coef` is its coefficients / 2.

        The probability sigmoid(x) is (1 + tanh(x / 2)) / 2: an affine map of
        tanh(x / 2). Bilinear resampling commutes with affine maps (its weights
        sum to 1), so resampling tanh(x / 2) and testing it against
        2 * threshold - 1 selects the same pixels as resampling the
        probability and testing it against the threshold, for one numpy
        call per mask instead of four (each costs microseconds here).
        `warp` (2x3) holds the frame's scale; this fills in the mask's offsets.
        """
        nm, ph, pw = prototypes.shape
        s = letterbox.scale / PROTO_STRIDE
        # Prototype coordinate (pixel-centre convention) of source pixel column u:
        #   p = ((u + 0.5) * scale + pad_x) / 4 - 0.5
        px_first = (roi.x + 0.5) * s + letterbox.pad_x / PROTO_STRIDE - 0.5
        py_first = (roi.y + 0.5) * s + letterbox.pad_y / PROTO_STRIDE - 0.5
        px_last = px_first + (roi.width - 1) * s
        py_last = py_first + (roi.height - 1) * s
        cx0, cx1 = max(math.floor(px_first), 0), min(math.floor(px_last) + 2, pw)
        cy0, cy1 = max(math.floor(py_first), 0), min(math.floor(py_last) + 2, ph)
        crop = prototypes[:, cy0:cy1, cx0:cx1]
        prob = (half_coef @ crop.reshape(nm, -1)).reshape(cy1 - cy0, cx1 - cx0)  # logits / 2
        np.tanh(prob, out=prob)  # 2 * sigmoid(logits) - 1
        warp[0, 2], warp[1, 2] = px_first - cx0, py_first - cy0
        sampled = cv2.warpAffine(prob, warp, (roi.width, roi.height),
                                 flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_REPLICATE)
        # The ROI holds exactly the pixels whose centres lie in the box, so
        # thresholding it is also the crop to the box.
        return sampled > self._tanh_threshold


def _pixel_rois(boxes: np.ndarray) -> np.ndarray:
    """Round source boxes to the pixels they cover.

    Integer pixel rectangles (left, top, right, bottom), right/bottom exclusive,
    of exactly the pixels whose centre (u + 0.5) lies in each box.
    """
    rois = np.empty(boxes.shape, np.int64)
    boxes = boxes.astype(np.float64)
    rois[:, :2] = np.ceil(boxes[:, :2] - 0.5)
    rois[:, 2:] = np.floor(boxes[:, 2:] - 0.5) + 1
    return rois
