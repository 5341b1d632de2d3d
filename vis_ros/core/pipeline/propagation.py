"""Mask propagation between keyframes with dense optical flow (YolactEdge idea).

Flow is computed once per frame, backwards (current -> previous), with
OpenCV's DIS on a downscaled grey image (Farneback is ~40x slower). A mask
moves to the current frame by sampling the previous mask where the backward
flow points: new(x) = old(x + flow(x)). Only each mask's box, grown by the
largest flow in it, is sampled. Propagation reports how much it can be
trusted, so the caller can ask for a keyframe when it cannot. The pipeline
moves all masks of a frame with `warp_masks`: one C call where the kernels
are built (core/native), OpenCV per mask otherwise.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from vis_ros.core import native
from vis_ros.core.data.instances import PixelBox

RESIDUAL_STEP = 2  # low-res pixels between residual samples


@dataclass(frozen=True)
class FlowField:
    """Backward flow at 1/scale resolution, in full-resolution pixels."""

    flow: np.ndarray  # (h, w, 2) float32: x, y displacement to the previous frame
    scale: int
    height: int
    width: int
    # |current - flow-warped previous| grey levels, on every residual_step-th
    # low-res pixel: it only feeds a count of changed pixels, which needs no
    # finer grid, and computing it there costs a quarter.
    residual: np.ndarray | None = None
    residual_step: int = RESIDUAL_STEP

    def crop_full_res(self, roi: PixelBox) -> np.ndarray:
        """Flow over `roi` at full resolution (bilinear), (roi.height, roi.width, 2).

        Upsampling by the integer scale is a plain resize of the low-res crop
        (resize samples source (u + 0.5) / s - 0.5, the same pixel-centre
        convention as the rest of the pipeline). The crop is taken on the
        low-res grid with one pixel of context on each side, so the result
        is what sampling the whole field would give, clamped at its edges.
        """
        s = self.scale
        low_h, low_w = self.flow.shape[:2]
        lx0, ly0 = max(roi.x // s - 1, 0), max(roi.y // s - 1, 0)
        lx1, ly1 = min(-(-roi.x_end // s) + 1, low_w), min(-(-roi.y_end // s) + 1, low_h)
        crop = self.flow[ly0:ly1, lx0:lx1]
        up = cv2.resize(crop, ((lx1 - lx0) * s, (ly1 - ly0) * s), interpolation=cv2.INTER_LINEAR)
        ox, oy = roi.x - lx0 * s, roi.y - ly0 * s
        if ox + roi.width <= up.shape[1] and oy + roi.height <= up.shape[0]:
            return up[oy:oy + roi.height, ox:ox + roi.width]
        # The roi reaches past the last low-res pixel (image size not a multiple
        # of the scale): extend by replicating the border, as sampling would.
        up = cv2.copyMakeBorder(up, 0, max(oy + roi.height - up.shape[0], 0), 0,
                                max(ox + roi.width - up.shape[1], 0), cv2.BORDER_REPLICATE)
        return up[oy:oy + roi.height, ox:ox + roi.width]

    def mean_magnitude(self, mask: np.ndarray | None = None, step: int = 1) -> float:
        """Return the mean flow length over a subsampled mask.

        Mean flow length (full-res px) on every step-th low-res pixel, where `mask`
        (the shape of that subsampled grid) is set; everywhere without one.

        Lengths come from cv2.magnitude on the two channel planes: a fifth of
        the time of gathering the masked (x, y) pairs first, on every
        propagated frame.
        """
        flow = self.flow[::step, ::step]
        lengths = cv2.magnitude(np.ascontiguousarray(flow[..., 0]), np.ascontiguousarray(flow[..., 1]))
        if mask is not None:
            lengths = lengths[mask]
        return float(lengths.mean()) if lengths.size else 0.0


@dataclass(frozen=True)
class Warped:
    """A mask moved by the flow, its new pixel count and its share of the old one."""

    roi: PixelBox
    mask: np.ndarray
    area: int  # pixels of the moved mask
    area_ratio: float  # new / old mask area: far from 1 means the warp is not trusted


FLOW_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


FLOW_MAX_WIDTH = 480  # the automatic scale halves the image until it is at most this wide


def flow_scale_for(width: int) -> int:
    """Return the automatic flow scale: halve once, then until the image is at most FLOW_MAX_WIDTH wide.

    640x480 keeps 2 (320x240 flow, as tuned); 1280x720 gets 4. On the
    tracking sequences at 1280x720 (8 x 90 frames, keyframe-3) scale 4 gave
    the same IDF1 as 2 (0.948) at half the flow time; objects there span
    twice the pixels, so the flow's grid is as fine relative to them as
    scale 2 at 640x480 (docs/benchmarks.md).
    """
    scale = 2
    while width / scale > FLOW_MAX_WIDTH and scale < 8:
        scale *= 2
    return scale


class FlowPropagator:
    """Backward DIS flow between consecutive frames, downscaled.

    Measured on sim sequences (3-frame gap, 640x480): scale 2 + ultrafast is
    both the cheapest and among the most accurate, hence the defaults. A patch
    stride of 5 instead of the preset's 4 costs ~25% less DIS time at the same
    mask IoU and IDF1 (`vis-ros eval --tracking`, 6 x 90 frames); 6 starts
    to lose IDF1. Scale 0 picks the scale per image size (flow_scale_for).
    """

    def __init__(self, scale: int = 0, preset: str = "ultrafast", patch_stride: int = 0):
        if scale not in (0, 1, 2, 4, 8):
            raise ValueError(f"flow scale must be 1, 2, 4 or 8 (0: by image size), got {scale}")
        if preset not in FLOW_PRESETS:
            raise ValueError(f"unknown flow preset {preset!r}; valid: {sorted(FLOW_PRESETS)}")
        self.fixed_scale = scale
        self._dis = cv2.DISOpticalFlow_create(FLOW_PRESETS[preset])
        if patch_stride:
            if not 1 <= patch_stride <= self._dis.getPatchSize():
                raise ValueError(f"flow patch stride must be in [1, {self._dis.getPatchSize()}]"
                                 f" (the patch size), got {patch_stride}")
            self._dis.setPatchStride(patch_stride)
        self._previous: np.ndarray | None = None
        self._grid: tuple[np.ndarray, np.ndarray] | None = None

    def scale_for(self, width: int) -> int:
        """Return the scale this propagator computes flow at for an image this wide."""
        return self.fixed_scale or flow_scale_for(width)

    def _grey(self, rgb: np.ndarray, scale: int) -> np.ndarray:
        """Grey, then area-averaged down by `scale`: one channel to resize, not three.

        Larger scales halve repeatedly (each halving has OpenCV's fast 2x2
        path): 0.05 ms at 640x480 to 160x120, where one 4x4 area resize
        takes 0.16 ms.
        """
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        while scale > 1:
            h, w = grey.shape
            grey = cv2.resize(grey, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            scale //= 2
        return grey

    def observe(self, rgb: np.ndarray, need_flow: bool) -> FlowField | None:
        """Remember this frame; with need_flow, also return flow back to the last one."""
        scale = self.scale_for(rgb.shape[1])
        grey = self._grey(rgb, scale)
        previous, self._previous = self._previous, grey
        if not need_flow or previous is None or previous.shape != grey.shape:
            return None
        flow_low = self._dis.calc(grey, previous, None)
        # What the flow does not explain: the previous frame moved by the flow,
        # compared with this one. Textureless regions with wrong flow still
        # match (same intensity), so only real changes (a new object) remain.
        step = RESIDUAL_STEP
        h, w = grey.shape
        if self._grid is None or self._grid[0].shape != ((h + step - 1) // step, (w + step - 1) // step):
            self._grid = np.meshgrid(np.arange(0, w, step, dtype=np.float32),
                                     np.arange(0, h, step, dtype=np.float32))
        gx, gy = self._grid
        sampled = flow_low[::step, ::step]
        warped = cv2.remap(previous, gx + sampled[..., 0], gy + sampled[..., 1], cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        residual = cv2.absdiff(np.ascontiguousarray(grey[::step, ::step]), warped)
        flow_low *= float(scale)  # low-res pixels -> full-res pixels, in place
        return FlowField(flow_low, scale, rgb.shape[0], rgb.shape[1], residual, step)

    def reset(self) -> None:
        """Forget the previous frame (the next one has no flow)."""
        self._previous = None


def warp_mask(field: FlowField, roi: PixelBox, mask: np.ndarray, area: int | None = None) -> Warped:
    """Move a mask (local to roi, previous frame) into the current frame.

    `area` is the mask's pixel count when the caller already knows it.
    """
    old_area = int(np.count_nonzero(mask)) if area is None else area
    if old_area == 0:
        return Warped(roi, mask, 0, 0.0)
    s = field.scale
    low = field.flow[roi.y // s:(roi.y_end + s - 1) // s, roi.x // s:(roi.x_end + s - 1) // s]
    reach = (int(np.ceil(cv2.norm(low, cv2.NORM_INF))) if low.size else 0) + 2  # largest |flow|
    x0, y0 = max(roi.x - reach, 0), max(roi.y - reach, 0)
    x1, y1 = min(roi.x_end + reach, field.width), min(roi.y_end + reach, field.height)
    flow = field.crop_full_res(PixelBox(x0, y0, x1 - x0, y1 - y0))
    # Sample positions in the mask's own coordinates: pixel + flow - roi origin.
    flow[..., 0] += np.arange(x0 - roi.x, x1 - roi.x, dtype=np.float32)[None, :]
    flow[..., 1] += np.arange(y0 - roi.y, y1 - roi.y, dtype=np.float32)[:, None]
    # Bilinear on 0/1 rounds back to 0/1, so the result is a valid bool view.
    warped = cv2.remap(mask.view(np.uint8), flow, None, cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    bx, by, bw, bh = cv2.boundingRect(warped)  # of the non-zero pixels
    if bw == 0:
        return Warped(PixelBox(x0, y0, 0, 0), np.zeros((0, 0), bool), 0, 0.0)
    new_mask = warped[by:by + bh, bx:bx + bw].view(bool)
    new_area = cv2.countNonZero(new_mask.view(np.uint8))
    return Warped(PixelBox(x0 + bx, y0 + by, bw, bh), new_mask, new_area, new_area / old_area)



class MaskToMove(NamedTuple):
    """A mask in its box and its pixel count (the tracker's LiveMask has these too)."""

    roi: PixelBox
    mask: np.ndarray
    area: int


def warp_masks(field: FlowField, masks: Sequence[MaskToMove]) -> list[Warped]:
    """Move every mask of a frame with the flow.

    warp_mask for each mask (anything with .roi, .mask, .area); all in one C call
    where the kernels are built (core/native), which samples positions exactly
    where OpenCV's remap rounds them to 1/32 pixel.
    """
    if native.kernels is None:
        return [warp_mask(field, m.roi, m.mask, m.area) for m in masks]
    out: list[Warped | None] = [Warped(m.roi, m.mask, 0, 0.0) if m.area == 0 else None for m in masks]
    todo = [k for k, w in enumerate(out) if w is None]
    if todo:
        flow = np.ascontiguousarray(field.flow, np.float32)
        rois = np.array([(masks[k].roi.x, masks[k].roi.y, masks[k].roi.width, masks[k].roi.height)
                         for k in todo], np.int64).reshape(-1, 4)
        moved = native.kernels.warp_masks(flow, flow.shape[:2], field.scale, (field.height, field.width), rois,
                                          len(todo), [np.ascontiguousarray(masks[k].mask) for k in todo])
        for k, (x, y, width, height, data, area) in zip(todo, moved, strict=True):
            mask = np.frombuffer(data, bool).reshape(height, width)
            out[k] = Warped(PixelBox(x, y, width, height), mask, area, area / masks[k].area)
    return out
