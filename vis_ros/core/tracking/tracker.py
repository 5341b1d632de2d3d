"""Tracker: persistent IDs for per-frame detections.

Per frame: predict every track to the image stamp (Kalman, real dt), move its
last mask with the predicted box, match high-score detections to all tracks
on mask + box similarity, then low-score detections to the remaining
confirmed tracks on box IoU (ByteTrack's second pass). Missed confirmed tracks
coast up to max_age_s (reported for report_coasting_s of it), then move to a
re-identification gallery for reid_window_s, where a new detection of the
same class, close enough and looking alike (mask-pooled colour histogram)
takes back the old ID. IDs come from a per-tracker counter and are never
reused.
"""
from __future__ import annotations

import numpy as np

from vis_ros.core.data.detections import Detection
from vis_ros.core.data.instances import Instance2D, TrackState
from vis_ros.core.tracking import kalman
from vis_ros.core.tracking.appearance import describe, similarity
from vis_ros.core.tracking.association import COSTS, assign
from vis_ros.core.tracking.config import TrackerConfig
from vis_ros.core.tracking.overlap import shift_roi
from vis_ros.core.tracking.track import Appearance, LiveMask, LostTrack, MaskedDetection, Track

_DESCRIPTOR_EVERY = 5  # refresh a track's appearance every few matches (cost bound)


class StampWentBackwardsError(ValueError):
    """An image older than the last one (bag loop, clock reset): call reset()."""


class TrackIds:
    """Track ids handed out in order, never twice: shared by the trackers of one node's cameras.

    One source for every camera's tracker makes ids unique across the node,
    so a consumer can merge the cameras' streams without a camera prefix.
    The node's worker is the only thread that takes ids.
    """

    def __init__(self, first: int = 1):
        self._next = first

    def take(self) -> int:
        """Return the next id."""
        value, self._next = self._next, self._next + 1
        return value


class Tracker:
    """Persistent IDs for one camera's detections.

    Live tracks are `tracks`; their Kalman states are the rows of `_means` (N, 8)
    and `_covs` (N, 3, 4), in the same order: kept as arrays across frames, so
    predicting and correcting all tracks is one batched call each, with no
    per-track gathering and scattering.
    """

    def __init__(self, config: TrackerConfig = TrackerConfig(), ids: TrackIds | None = None):
        self.reconfigure(config)
        self._ids = ids if ids is not None else TrackIds()
        self._frame = 0
        self.reset()

    def reconfigure(self, config: TrackerConfig) -> None:
        """Use new thresholds from the next frame on; tracks and IDs are kept."""
        if not isinstance(config, TrackerConfig):
            raise TypeError(f"expected a TrackerConfig, got {type(config).__name__}")
        self.config = config
        self._similarity = COSTS[config.cost]

    def reset(self) -> None:
        """Forget all tracks (IDs keep counting up: never reused within a run)."""
        self.tracks, self._lost, self._last_ns = [], [], None
        self._means, self._covs = np.zeros((0, 8)), np.zeros((0, 3, 4))

    def update(self, detections: list[Detection], stamp_ns: int, image_hw: tuple[int, int],
               rgb: np.ndarray | None = None) -> list[Instance2D]:
        """Advance to `stamp_ns` with this frame's detections; return the tracks to report."""
        dt = self._advance(stamp_ns)
        height, width = image_hw
        predicted = kalman.cxcywh_to_xyxy(self._predict(dt, height, width)[:, :4])
        dets = [MaskedDetection(d, row) for row, d in enumerate(detections)]
        boxes = np.array([d.box for d in detections], np.float64).reshape(-1, 4)  # xyxy, rows follow dets
        cfg = self.config
        high = [d for d in dets if d.det.score >= cfg.high_score]
        low = [d for d in dets if cfg.low_score <= d.det.score < cfg.high_score]
        pairs, free_tracks, free_high = self._match(self.tracks, predicted, high, boxes, cfg.min_similarity,
                                                    self._similarity)
        rows = [i for i in free_tracks if self.tracks[i].state != TrackState.TENTATIVE]
        pairs2, _, _ = self._match([self.tracks[i] for i in rows], predicted[rows], low, boxes, 0.5, COSTS["box"])
        matched = [i for i, _ in pairs] + [rows[i] for i, _ in pairs2]
        self._apply_matches(matched, [high[j] for _, j in pairs] + [low[j] for _, j in pairs2], boxes,
                            stamp_ns, rgb)
        matched_rows = set(matched)
        self._handle_misses([i for i in range(len(self.tracks)) if i not in matched_rows], stamp_ns)
        self._start_or_revive([high[j] for j in free_high], boxes, stamp_ns, rgb)
        self._lost = [e for e in self._lost if (stamp_ns - e.lost_ns) * 1e-9 <= cfg.reid_window_s]
        return self._reported(stamp_ns)

    def forget_lost(self, track_ids) -> None:
        """Stop re-identifying these removed tracks: the object memory gave their ID to another track."""
        ids = set(track_ids)
        self._lost = [e for e in self._lost if e.track.track_id not in ids]

    def appearances(self) -> dict[int, Appearance]:
        """Each live track's colours and classes by id, for the object memory."""
        return {t.track_id: Appearance(t.descriptor, frozenset(t.class_votes)) for t in self.tracks}

    def live_masks(self) -> list[LiveMask]:
        """Every live track's mask, for propagation."""
        return [LiveMask(t.track_id, t.roi, t.mask, t.area) for t in self.tracks]

    def apply_propagated(self, moved: dict, stamp_ns: int, image_hw: tuple[int, int]) -> list[Instance2D]:
        """Advance to `stamp_ns` with masks moved by optical flow instead of detections.

        `moved` maps track id -> object with .roi, .mask and .area (a propagation.Warped).
        Tracks whose mask left the image count as missed; nothing is confirmed
        or started without the engine.
        """
        dt = self._advance(stamp_ns)
        self._predict(dt, *image_hw, move_masks=False)
        kept, boxes, missed = [], [], []
        for row, t in enumerate(self.tracks):
            w = moved.get(t.track_id)
            if w is None or w.roi.width == 0 or w.roi.height == 0:
                missed.append(row)
                continue
            t.take_mask(w.roi, w.mask, w.area)
            kept.append(row)
            boxes.append((w.roi.x, w.roi.y, w.roi.x_end, w.roi.y_end))
        if kept:
            self._correct(kept, kalman.xyxy_to_cxcywh(np.asarray(boxes, np.float64)))
            for t in (self.tracks[row] for row in kept):
                if t.state != TrackState.COASTING:
                    t.last_update_ns = stamp_ns
                    # Followed by the flow since its last detection: that counts
                    # towards confirmation, else keyframe mode confirms N times slower.
                    t.hits += 1
                    if t.hits >= self.config.min_hits:
                        t.state = TrackState.CONFIRMED
        self._handle_misses(missed, stamp_ns)
        return self._reported(stamp_ns)

    def _reported(self, stamp_ns: int) -> list[Instance2D]:
        """Tracks updated in this frame, and coasting ones missed for at most report_coasting_s."""
        window_ns = self.config.report_coasting_s * 1e9
        return [self._instance(t) for t in self.tracks if t.last_update_ns == stamp_ns
                or (t.state == TrackState.COASTING and stamp_ns - t.last_update_ns <= window_ns)]

    # -- steps -------------------------------------------------------------------------
    @property
    def last_stamp_ns(self) -> int | None:
        """The stamp of the last frame tracked (None before the first, and after a reset)."""
        return self._last_ns

    def _advance(self, stamp_ns: int) -> float:
        """Move the tracker's clock to stamp_ns; seconds since the last frame."""
        if self._last_ns is not None and stamp_ns < self._last_ns:
            raise StampWentBackwardsError(f"stamp went backwards ({stamp_ns} < {self._last_ns}); call reset()")
        dt = 0.0 if self._last_ns is None else (stamp_ns - self._last_ns) * 1e-9
        self._last_ns, self._frame = stamp_ns, self._frame + 1
        return dt

    def _predict(self, dt: float, height: int, width: int, move_masks: bool = True) -> np.ndarray:
        """Predict every track to the new stamp.

        Move every track to the new stamp; returns the states (one row per track)
        for association to reuse.
        """
        if not self.tracks or dt <= 0:
            return self._means
        predicted, self._covs = kalman.predict(self._means, self._covs, dt)
        previous, self._means = self._means, predicted
        if not move_masks:
            return predicted
        shifts = np.rint(predicted[:, :2] - previous[:, :2]).astype(int).tolist()
        for t, (dx, dy) in zip(self.tracks, shifts, strict=True):
            if dx or dy:  # carry the mask along with the predicted box
                roi, rows, cols = shift_roi(t.roi, dx, dy, height, width)
                if (roi.width, roi.height) == (t.roi.width, t.roi.height):
                    t.take_mask(roi, t.mask, t.area)  # only moved: same pixels, same array
                else:
                    t.roi, t.mask = roi, t.mask[rows, cols]
        return predicted

    def _match(self, tracks, predicted, dets, boxes, min_similarity, similarity_fn):
        """Match detections to tracks on `similarity_fn`.

        `predicted`: the tracks' predicted boxes (xyxy), rows matching `tracks`;
        `boxes`: the frame's detection boxes, rows are MaskedDetection.row.
        """
        if not tracks or not dets:
            return [], list(range(len(tracks))), list(range(len(dets)))
        det_xyxy = boxes[[d.row for d in dets]]
        sim = similarity_fn(tracks, dets, predicted, det_xyxy, self.config.mask_weight, min_similarity)
        mismatch = (np.array([t.class_id for t in tracks])[:, None]
                    != np.array([d.det.class_id for d in dets])[None, :]).astype(float)
        return assign(sim, mismatch, min_similarity, self.config.class_penalty)

    def _correct(self, rows: list[int], boxes_cxcywh: np.ndarray) -> None:
        """Kalman update of the tracks in `rows` with their measured boxes."""
        kalman.correct_rows(self._means, self._covs, rows, boxes_cxcywh)

    def _apply_matches(self, rows: list[int], dets: list[MaskedDetection], boxes, stamp_ns, rgb) -> None:
        if not rows:
            return
        self._correct(rows, kalman.xyxy_to_cxcywh(boxes[[d.row for d in dets]]))
        for row, d in zip(rows, dets, strict=True):
            t = self.tracks[row]
            t.take_mask(d.roi, d.mask, d.area)
            t.score, t.last_update_ns = d.det.score, stamp_ns
            t.vote(d.det.class_id, d.det.class_name, d.det.score)
            t.hits += 1
            if t.state == TrackState.COASTING or t.hits >= self.config.min_hits:
                t.state = TrackState.CONFIRMED
            if rgb is not None and (t.descriptor is None or t.hits % _DESCRIPTOR_EVERY == 0):
                t.descriptor = describe(rgb, t.roi, t.mask) if t.descriptor is None else \
                    _blend(t.descriptor, describe(rgb, t.roi, t.mask))

    def _handle_misses(self, missed_rows: list[int], stamp_ns: int) -> None:
        removed = set()
        for row in missed_rows:
            t = self.tracks[row]
            t.hits = 0
            if t.state == TrackState.TENTATIVE:
                removed.add(row)
            elif (stamp_ns - t.last_update_ns) * 1e-9 > self.config.max_age_s:
                removed.add(row)
                self._lost.append(LostTrack(t, stamp_ns, self._means[row].copy()))
            else:
                t.state = TrackState.COASTING
        if removed:
            kept = [row for row in range(len(self.tracks)) if row not in removed]
            self.tracks = [self.tracks[row] for row in kept]
            self._means, self._covs = self._means[kept], self._covs[kept]

    def _start_or_revive(self, dets: list[MaskedDetection], boxes, stamp_ns: int, rgb) -> None:
        """Start a track per unmatched high-score detection.

        An old ID from the gallery when one fits, else a new one; each starts
        from a fresh Kalman state.
        """
        if not dets:
            return
        means, covs = kalman.initiate(kalman.xyxy_to_cxcywh(boxes[[d.row for d in dets]]))
        self._means, self._covs = np.concatenate([self._means, means]), np.concatenate([self._covs, covs])
        for d in dets:
            self.tracks.append(self._revive_or_new(d, stamp_ns, rgb))

    def _revive_or_new(self, d: MaskedDetection, stamp_ns: int, rgb) -> Track:
        descriptor = describe(rgb, d.roi, d.mask) if rgb is not None else None
        old = self._reidentify(d, descriptor, stamp_ns)
        if old is not None:
            old.take_mask(d.roi, d.mask, d.area)
            old.score, old.last_update_ns = d.det.score, stamp_ns
            old.state, old.hits = TrackState.CONFIRMED, self.config.min_hits
            old.vote(d.det.class_id, d.det.class_name, d.det.score)
            return old
        track = Track(track_id=self._ids.take(), birth_frame=self._frame, roi=d.roi, mask=d.mask,
                      score=d.det.score, last_update_ns=stamp_ns,
                      descriptor=descriptor, _area=d.area, _area_of=d.mask)
        track.vote(d.det.class_id, d.det.class_name, d.det.score)
        if self.config.min_hits <= 1 or d.det.score >= self.config.confirm_score:
            track.state = TrackState.CONFIRMED
        return track

    def _reidentify(self, d: MaskedDetection, descriptor, stamp_ns: int) -> Track | None:
        best, best_sim = None, self.config.reid_min_similarity
        x0, y0, x1, y1 = d.det.box
        centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        for entry in self._lost:
            t = entry.track
            if t.class_id != d.det.class_id:
                continue
            gap = (stamp_ns - t.last_update_ns) * 1e-9
            mean = entry.mean
            expected = mean[:2] + mean[4:6] * min(gap, 1.0)
            reach = 3.0 * float(np.hypot(mean[2], mean[3])) + 50.0
            if np.hypot(*(centre - expected)) > reach and np.hypot(*(centre - mean[:2])) > reach:
                continue
            s = similarity(descriptor, t.descriptor)
            if s >= best_sim:
                best, best_sim = entry, s
        if best is None:
            return None
        self._lost.remove(best)
        return best.track

    def _instance(self, t: Track) -> Instance2D:
        cid = t.class_id
        return Instance2D(track_id=t.track_id, class_id=cid, class_name=t.class_names[cid],
                          score=float(min(max(t.score, 0.0), 1.0)), state=t.state,
                          age=self._frame - t.birth_frame, box=t.roi, mask=t.mask)


def _blend(old: np.ndarray, new: np.ndarray | None, rate: float = 0.3) -> np.ndarray:
    return old if new is None else (1 - rate) * old + rate * new
