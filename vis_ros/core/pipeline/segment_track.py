"""Segmentation + tracking per frame, with keyframes and flow propagation between.

With keyframe_interval 1 the engine runs on every frame. With N > 1 it runs
every N-th frame, and in between the tracked masks are moved with optical
flow; a frame becomes a keyframe early when the flow says propagation cannot
be trusted (masks shrink or grow too much), when the scene moves a lot, or
when something moves where no tracked object is (a new object, probably).
The output says which frames were keyframes and why.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from vis_ros.core.data.instances import InstanceFrame
from vis_ros.core.engine.decoder import DecoderConfig
from vis_ros.core.engine.segmenter import SegmentationResult, Segmenter
from vis_ros.core.pipeline.propagation import FlowField, FlowPropagator, warp_masks
from vis_ros.core.tracking.config import TrackerConfig
from vis_ros.core.tracking.tracker import StampWentBackwardsError, Tracker


@dataclass(frozen=True)
class PipelineConfig:
    """When to run the engine and how to propagate between.

    Only keyframe_interval is a node parameter; the others were tuned on sim
    sequences (docs/benchmarks.md) and are fixed.
    """

    keyframe_interval: int = 1
    min_propagation_confidence: float = 0.6  # min over tracks of min(area ratio, 1 / ratio)
    max_motion_px: float = 30.0  # mean flow over tracked objects, full-res pixels
    new_object_fraction: float = 0.01  # share of untracked pixels the flow cannot explain
    residual_levels: float = 40.0  # grey-level change left after flow compensation that counts
    tracked_margin: float = 0.5  # grow tracked boxes by this share of their size (shadows, edges)
    confidence_min_area: int = 400  # tracks smaller than this (px) do not decide confidence
    flow_scale: int = 0  # 0: by image size (2 up to 960 px wide, 4 above; propagation.flow_scale_for)
    flow_preset: str = "ultrafast"
    flow_patch_stride: int = 5  # DIS patch stride (ultrafast's own is 4); 0 keeps the preset's

    def __post_init__(self) -> None:
        """Refuse values that would disable the keyframe triggers or mean nothing."""
        if self.confidence_min_area < 0:
            raise ValueError(f"confidence_min_area must be >= 0, got {self.confidence_min_area}")
        if not 1 <= self.keyframe_interval <= 100:
            raise ValueError(f"keyframe_interval must be in [1, 100], got {self.keyframe_interval}")
        if not 0.0 <= self.min_propagation_confidence <= 1.0:
            raise ValueError(f"min_propagation_confidence must be in [0, 1], got {self.min_propagation_confidence}")
        for name in ("max_motion_px", "new_object_fraction", "residual_levels"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


class KeyframeReason(StrEnum):
    """Why the engine ran on a frame; NONE (false, "") for a propagated frame."""

    NONE = ""
    FIRST = "first"  # also after a reset or an image size change
    INTERVAL = "interval"
    NO_FLOW = "no_flow"  # keyframe_interval raised at run time: no previous frame kept
    LOW_CONFIDENCE = "low_confidence"  # masks shrank or grew too much under the flow
    LARGE_MOTION = "large_motion"
    NEW_OBJECT = "new_object"  # something moves where no tracked object is

    @property
    def regular(self) -> bool:
        """A scheduled keyframe (not one the flow asked for)."""
        return self in (KeyframeReason.FIRST, KeyframeReason.INTERVAL)


_FLOW_FIELDS = ("flow_scale", "flow_preset", "flow_patch_stride")


@dataclass(frozen=True)
class PipelineOutput:
    """One frame's result: what to publish, why the engine ran (or not), stage times in seconds."""

    frame: InstanceFrame
    keyframe_reason: KeyframeReason
    timings_s: dict = field(default_factory=dict)
    resized_from: tuple[int, int] | None = None  # (height, width) before a size change reset tracking


@dataclass(frozen=True)
class EngineRequest:
    """A frame that needs the engine: what begin() decided, for complete() to finish."""

    rgb: np.ndarray
    stamp_ns: int
    frame_id: str
    reason: KeyframeReason
    timings_s: dict
    resized_from: tuple[int, int] | None
    known_tracks: frozenset  # track ids before a NEW_OBJECT keyframe (did the engine find anything new?)


class SegmentTrackPipeline:
    """Segmenter + tracker for one camera, with keyframes and flow propagation between them."""

    def __init__(self, segmenter: Segmenter, tracker: Tracker, config: PipelineConfig = PipelineConfig(),
                 camera=None):
        self.segmenter, self.tracker, self.config = segmenter, tracker, config
        self.camera = camera  # this camera's key in a segmenter shared by several
        self.propagator = FlowPropagator(config.flow_scale, config.flow_preset, config.flow_patch_stride)
        self._since_keyframe: int | None = None
        # A "new object" keyframe whose engine run found nothing new mutes that
        # trigger until the next regular keyframe: the unexplained motion is
        # something the engine does not detect, and re-running it is wasted.
        self._new_object_muted = False
        self._image_hw: tuple[int, int] | None = None

    def reconfigure(self, config: PipelineConfig, tracker: TrackerConfig | None = None,
                    decoder: DecoderConfig | None = None) -> None:
        """Use new settings from the next frame on.

        Tracks are kept; a change of the flow's resolution or preset restarts
        propagation (the next frame is a keyframe).
        """
        if any(getattr(config, n) != getattr(self.config, n) for n in _FLOW_FIELDS):
            self.propagator = FlowPropagator(config.flow_scale, config.flow_preset, config.flow_patch_stride)
            self._since_keyframe = None
        self.config = config
        if tracker is not None:
            self.tracker.reconfigure(tracker)
        if decoder is not None:
            self.segmenter.reconfigure(decoder)

    def reset(self) -> None:
        """Forget tracks and flow history (after stamps went backwards); IDs keep counting."""
        self.tracker.reset()
        self.propagator.reset()
        self._since_keyframe = None
        self._new_object_muted = False

    def process(self, rgb: np.ndarray, stamp_ns: int, frame_id: str = "") -> PipelineOutput:
        """Segment (or propagate) and track one RGB image taken at `stamp_ns`."""
        step = self.begin(rgb, stamp_ns, frame_id)
        if isinstance(step, PipelineOutput):
            return step
        return self.complete(step, self.segmenter.segment_batch([(self.camera, rgb)])[0])

    def begin(self, rgb: np.ndarray, stamp_ns: int, frame_id: str = "") -> PipelineOutput | EngineRequest:
        """Everything before the engine: a propagated frame's output, or the request for the engine.

        The stream runner runs begin() for every camera's frame, the engine
        once for all the requests, then complete() for each. A stamp older
        than the last frame's is refused here, before any work (the runner
        resets and begins again), so the engine never runs for a frame the
        tracker would then refuse.
        """
        last = self.tracker.last_stamp_ns
        if last is not None and stamp_ns < last:
            raise StampWentBackwardsError(f"stamp went backwards ({stamp_ns} < {last}); call reset()")
        height, width = rgb.shape[:2]
        resized_from = None
        if self._image_hw not in (None, (height, width)):
            resized_from = self._image_hw
            self.reset()  # tracks on the old pixel grid mean nothing on the new one
        self._image_hw = (height, width)
        timings: dict[str, float] = {}
        if self._since_keyframe is None:
            reason = KeyframeReason.FIRST
        elif self._since_keyframe + 1 >= self.config.keyframe_interval:
            reason = KeyframeReason.INTERVAL
        else:
            reason = KeyframeReason.NONE
        t0 = time.perf_counter()
        flow = None
        if not reason or self.config.keyframe_interval > 1:  # frame by frame never needs flow
            flow = self.propagator.observe(rgb, need_flow=not reason)
        if flow is not None:
            timings["flow"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            moved, reason = self._propagate(flow)
            timings["propagate"] = time.perf_counter() - t1
        elif not reason:
            reason = KeyframeReason.NO_FLOW
        if reason:
            known = frozenset(t.track_id for t in self.tracker.tracks) if reason is KeyframeReason.NEW_OBJECT \
                else frozenset()
            return EngineRequest(rgb, stamp_ns, frame_id, reason, timings, resized_from, known)
        t2 = time.perf_counter()
        instances = self.tracker.apply_propagated(moved, stamp_ns, (height, width))
        self._since_keyframe += 1
        return self._output(rgb, stamp_ns, frame_id, reason, instances, timings, t2, resized_from)

    def complete(self, request: EngineRequest, result: SegmentationResult) -> PipelineOutput:
        """Track the engine's detections for a frame begin() asked the engine for."""
        timings = {**request.timings_s, **result.timings_s}
        t2 = time.perf_counter()
        height, width = request.rgb.shape[:2]
        instances = self.tracker.update(result.detections, request.stamp_ns, (height, width), request.rgb)
        self._since_keyframe = 0
        reason = request.reason
        if reason is KeyframeReason.NEW_OBJECT:
            self._new_object_muted = {t.track_id for t in self.tracker.tracks} <= request.known_tracks
        elif reason.regular:
            self._new_object_muted = False
        return self._output(request.rgb, request.stamp_ns, request.frame_id, reason, instances, timings, t2,
                            request.resized_from)

    @staticmethod
    def _output(rgb, stamp_ns, frame_id, reason, instances, timings, track_start, resized_from) -> PipelineOutput:
        height, width = rgb.shape[:2]
        frame = InstanceFrame(stamp_ns=stamp_ns, frame_id=frame_id, height=height, width=width,
                              keyframe=bool(reason), instances=tuple(instances))
        timings["track"] = time.perf_counter() - track_start  # the tracker, its bookkeeping and the output frame
        return PipelineOutput(frame, reason, timings, resized_from)

    def _propagate(self, flow: FlowField) -> tuple[dict, KeyframeReason]:
        """Warp every tracked mask; return them and the reason to run the engine instead (NONE if none)."""
        cfg = self.config
        live = self.tracker.live_masks()
        moved = {m.track_id: w for m, w in zip(live, warp_masks(flow, live), strict=True)}
        h, w = flow.height, flow.width
        ratios = [moved[m.track_id].area_ratio for m in live
                  if m.area >= cfg.confidence_min_area
                  and m.roi.x > 0 and m.roi.y > 0 and m.roi.x_end < w and m.roi.y_end < h]
        confidence = min((min(r, 1.0 / r) if r > 0 else 0.0 for r in ratios), default=1.0)
        if confidence < cfg.min_propagation_confidence:
            return moved, KeyframeReason.LOW_CONFIDENCE
        # Tracked boxes (grown by the margin) on the grid the residual is sampled on,
        # which also serves the motion check: every residual_step-th low-res pixel.
        step = flow.residual_step
        cell = flow.scale * step  # full-res pixels per grid cell
        low_h, low_w = flow.flow.shape[:2]
        tracked = np.zeros(((low_h + step - 1) // step, (low_w + step - 1) // step), bool)
        for roi in (m.roi for m in live):
            mx, my = int(roi.width * cfg.tracked_margin), int(roi.height * cfg.tracked_margin)
            tracked[max(roi.y - my, 0) // cell:(roi.y_end + my + cell - 1) // cell,
                    max(roi.x - mx, 0) // cell:(roi.x_end + mx + cell - 1) // cell] = True
        if tracked.any() and flow.mean_magnitude(tracked, step) > cfg.max_motion_px:
            return moved, KeyframeReason.LARGE_MOTION
        if flow.residual is not None and not self._new_object_muted:
            untracked = ~tracked
            unexplained = (flow.residual > cfg.residual_levels) & untracked
            if untracked.any() and unexplained.sum() > cfg.new_object_fraction * untracked.sum():
                return moved, KeyframeReason.NEW_OBJECT
        return moved, KeyframeReason.NONE

