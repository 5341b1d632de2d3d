"""Tracker behaviour, stepped frame by frame on scripted detections."""
from __future__ import annotations

import numpy as np
import pytest

from vis_ros.core.data.detections import Detection
from vis_ros.core.data.instances import PixelBox, TrackState
from vis_ros.core.tracking.config import TrackerConfig
from vis_ros.core.tracking.tracker import Tracker

# Every scenario runs on the C kernels and on the numpy fallback (conftest.kernel_path).
pytestmark = pytest.mark.usefixtures("kernel_path")

H, W = 480, 640
FRAME_NS = 33_333_333


def det(cx, cy, w=40, h=40, score=0.9, class_id=0):
    x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
    x0c, y0c = max(x0, 0), max(y0, 0)
    x1c, y1c = min(x0 + w, W), min(y0 + h, H)
    roi = PixelBox(x0c, y0c, max(x1c - x0c, 0), max(y1c - y0c, 0))
    yy, xx = np.mgrid[y0c:y1c, x0c:x1c]
    mask = ((yy + 0.5 - cy) / (h / 2)) ** 2 + ((xx + 0.5 - cx) / (w / 2)) ** 2 <= 1.0
    return Detection(box=(float(x0c), float(y0c), float(x1c), float(y1c)), score=score,
                     class_id=class_id, class_name=f"class{class_id}", roi=roi, mask=mask)


def image_with(*patches):
    rgb = np.full((H, W, 3), 90, np.uint8)
    for cx, cy, colour in patches:
        rgb[int(cy) - 20:int(cy) + 20, int(cx) - 20:int(cx) + 20] = colour
    return rgb


def run(tracker, frames, start=0):
    """frames: list of (detections, rgb or None); returns per-frame {track_id: instance}."""
    out = []
    for i, (dets, rgb) in enumerate(frames):
        result = tracker.update(dets, (start + i) * FRAME_NS, (H, W), rgb)
        out.append({inst.track_id: inst for inst in result})
    return out


def ids_near(frame_out, x, tol=25):
    return [tid for tid, inst in frame_out.items()
            if abs(inst.box.x + inst.box.width / 2 - x) < tol]


def test_object_keeps_its_id_through_a_full_occlusion():
    tracker = Tracker(TrackerConfig(report_coasting_s=1.0))  # report the whole prediction
    frames = [([det(100 + 5 * i, 200)] if not 20 <= i < 32 else [], None) for i in range(50)]
    out = run(tracker, frames)
    first = out[10]
    (tid,) = first
    assert first[tid].state == TrackState.CONFIRMED
    assert out[25][tid].state == TrackState.COASTING  # predicted through the occlusion
    assert abs(out[25][tid].box.x + 20 - (100 + 5 * 25)) <= 2  # where the object is now, mask along
    assert list(out[40]) == [tid] and out[40][tid].state == TrackState.CONFIRMED


def test_coasting_tracks_are_reported_only_for_report_coasting_s_but_still_matched():
    tracker = Tracker(TrackerConfig(report_coasting_s=0.05, max_age_s=1.0))  # 0.05 s: one 30 Hz frame
    frames = [([det(100 + 5 * i, 200)] if not 20 <= i < 26 else [], None) for i in range(30)]
    out = run(tracker, frames)
    (tid,) = out[19]
    assert out[20][tid].state == TrackState.COASTING  # a one-frame dropout is bridged
    assert all(out[i] == {} for i in range(21, 26))  # then hidden: not painted any more
    assert list(out[26]) == [tid] and out[26][tid].state == TrackState.CONFIRMED  # same id back
    silent = run(Tracker(TrackerConfig(report_coasting_s=0.0)), frames)
    assert silent[20] == {} and list(silent[26]) == [list(silent[19])[0]]


def test_crossing_objects_of_the_same_class_keep_their_ids():
    tracker = Tracker()
    frames = []
    for i in range(60):
        a, b = 100 + 8 * i, 572 - 8 * i
        overlapping = abs(a - b) < 40
        dets = [det(a, 240)] + ([] if overlapping else [det(b, 240)])  # b hidden while crossing
        frames.append((dets, None))
    out = run(tracker, frames)
    left_id = ids_near(out[5], 140)[0]
    right_id = ids_near(out[5], 532)[0]
    assert left_id != right_id
    assert ids_near(out[55], 100 + 8 * 55) == [left_id]
    assert ids_near(out[55], 572 - 8 * 55) == [right_id]


@pytest.mark.parametrize("offset_y", [20, 10])
def test_crossing_objects_that_stay_visible_while_they_overlap_keep_their_ids(offset_y):
    """Check crossing objects keep their IDs while both are visible.

    Both detected in every frame, their boxes overlapping for several frames (box IoU
    up to 0.33 and 0.6): the association must not swap them where they meet.
    """
    tracker = Tracker()
    frames = [([det(100 + 8 * i, 240), det(572 - 8 * i, 240 + offset_y)], None) for i in range(60)]
    out = run(tracker, frames)
    overlapping = [i for i in range(60) if abs((100 + 8 * i) - (572 - 8 * i)) < 40]
    assert len(overlapping) >= 4 and all(len(out[i]) == 2 for i in overlapping)
    left_id, right_id = ids_near(out[5], 140)[0], ids_near(out[5], 532)[0]
    assert left_id != right_id
    for i in range(5, 60):  # every frame, through the overlap
        by_id = {tid: inst.box.y for tid, inst in out[i].items()}
        assert set(by_id) == {left_id, right_id}, i
        assert by_id[right_id] > by_id[left_id], i  # the lower one is still the one from the right


def test_object_leaving_and_reentering_gets_its_old_id_back():
    tracker = Tracker(TrackerConfig(max_age_s=0.5, reid_window_s=3.0))
    red, green = (220, 30, 30), (30, 200, 40)
    frames = []
    for i in range(90):
        visible = not 20 <= i < 65  # gone for 1.5 s, longer than max_age_s
        dets = [det(300, 200)] if visible else []
        dets.append(det(500, 350, class_id=1))
        rgb = image_with(*([(300, 200, red)] if visible else []), (500, 350, green))
        frames.append((dets, rgb))
    out = run(tracker, frames)
    red_id = ids_near(out[10], 300)[0]
    assert ids_near(out[45], 300) == []  # removed meanwhile, not coasting
    assert ids_near(out[80], 300) == [red_id]
    assert len({tid for f in out for tid in f}) == 2


def test_different_looking_object_does_not_take_an_old_id():
    tracker = Tracker(TrackerConfig(max_age_s=0.3))
    frames = [([det(300, 200)], image_with((300, 200, (220, 30, 30)))) for _ in range(15)]
    frames += [([], image_with()) for _ in range(20)]
    frames += [([det(300, 200)], image_with((300, 200, (30, 30, 220)))) for _ in range(5)]
    out = run(tracker, frames)
    assert ids_near(out[5], 300) != ids_near(out[38], 300)


def test_class_flicker_keeps_one_id_and_a_stable_class():
    tracker = Tracker()
    frames = [([det(200 + 2 * i, 200, class_id=0 if i % 3 else 1)], None) for i in range(30)]
    out = run(tracker, frames)
    assert len({tid for f in out for tid in f}) == 1
    assert {inst.class_id for f in out[5:] for inst in f.values()} == {0}


def test_timestamp_gap_uses_real_time_for_prediction():
    """30 Hz, then 8 frames dropped while the object keeps moving: same ID after the gap."""
    tracker = Tracker()
    speed = 6  # px per frame
    out = run(tracker, [([det(100 + speed * i, 300)], None) for i in range(15)])
    (tid,) = out[-1]
    gap_frame = 15 + 8
    later = tracker.update([det(100 + speed * gap_frame, 300)], gap_frame * FRAME_NS, (H, W))
    assert [i.track_id for i in later] == [tid]


def test_burst_of_200_detections_then_empty_frames():
    tracker = Tracker()
    rng = np.random.default_rng(0)
    # A burst of clutter: scores above high_score but below confirm_score.
    burst = [det(rng.uniform(20, W - 20), rng.uniform(20, H - 20), 20, 20, score=0.55) for _ in range(200)]
    out = run(tracker, [(burst, None), ([], None), ([], None)])
    assert len(out[0]) == 200 and all(i.state == TrackState.TENTATIVE for i in out[0].values())
    assert out[1] == {} and tracker.tracks == []  # unconfirmed tracks do not coast


def test_a_confident_first_detection_confirms_at_once_a_doubtful_one_needs_min_hits():
    tracker = Tracker(TrackerConfig(min_hits=2, confirm_score=0.8))
    out = run(tracker, [([det(100, 100, score=0.85), det(400, 300, score=0.7)], None)] * 2)
    states = {round(i.box.x): i.state for i in out[0].values()}
    assert states == {80: TrackState.CONFIRMED, 380: TrackState.TENTATIVE}
    assert all(i.state == TrackState.CONFIRMED for i in out[1].values())
    with pytest.raises(ValueError, match="confirm_score"):
        TrackerConfig(confirm_score=1.5)


def test_empty_frames_coast_then_remove_and_ids_are_never_reused():
    tracker = Tracker(TrackerConfig(max_age_s=0.2, reid_window_s=0.0))
    out = run(tracker, [([det(200, 200)], None)] * 5 + [([], None)] * 10 + [([det(200, 200)], None)] * 3)
    (first,) = out[4]
    assert out[5][first].state == TrackState.COASTING
    assert out[14] == {}
    (second,) = out[17]
    assert second > first


def test_low_score_detections_extend_tracks_but_never_start_them():
    tracker = Tracker()
    out = run(tracker, [([det(200, 200)], None)] * 5 + [([det(202, 200, score=0.3)], None)] * 5
              + [([det(400, 400, score=0.3)], None)] * 3)
    (tid,) = out[4]
    assert out[8][tid].state == TrackState.CONFIRMED
    assert ids_near(out[12], 400, 10) == []


def test_stamp_going_backwards_is_an_error():
    tracker = Tracker()
    tracker.update([det(100, 100)], 10 * FRAME_NS, (H, W))
    with pytest.raises(ValueError, match="stamp went backwards"):
        tracker.update([], 5 * FRAME_NS, (H, W))


@pytest.mark.parametrize("kwargs, message", [
    ({"low_score": 0.6, "high_score": 0.5}, "low_score <= high_score"),
    ({"min_hits": 0}, "min_hits"),
    ({"max_age_s": -1}, "max_age_s"),
    ({"cost": "iou3d"}, r"unknown cost 'iou3d'; valid: \['box', 'mask_box'\]"),
])
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrackerConfig(**kwargs)


def test_detection_reaching_past_the_image_edge_does_not_break_appearance():
    from vis_ros.core.tracking.appearance import describe

    rgb = np.full((H, W, 3), 100, np.uint8)
    roi = PixelBox(620, 460, 40, 40)  # 20 px past the right and bottom edges
    assert describe(rgb, roi, np.ones((40, 40), bool)).shape == (72,)
    assert describe(rgb, PixelBox(W, 0, 10, 10), np.ones((10, 10), bool)) is None


def test_a_large_patch_is_described_from_samples_as_from_every_pixel():
    import cv2

    from vis_ros.core.tracking.appearance import describe, similarity

    rng = np.random.default_rng(4)
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:, :W // 2] = (200, 40, 40)
    rgb[:, W // 2:] = (40, 40, 200)
    rgb = cv2.add(rgb, rng.integers(0, 30, rgb.shape, np.uint8))  # a little texture
    roi = PixelBox(100, 100, 400, 300)  # 120,000 pixels, sampled
    mask = np.ones((300, 400), bool)
    mask[:, :100] = False  # three quarters of it red on the left, blue on the right: not uniform
    every_pixel = cv2.calcHist([cv2.cvtColor(rgb[100:400, 100:500], cv2.COLOR_RGB2HSV)], [0, 1],
                               mask.view(np.uint8), [12, 6], [0, 180, 0, 256]).ravel()
    every_pixel /= every_pixel.sum()
    assert similarity(describe(rgb, roi, mask), every_pixel) > 0.995
    thin = np.zeros((300, 400), bool)
    thin[:, 201] = True  # one column: may fall between the samples
    assert describe(rgb, roi, thin) is not None


def test_box_iou_of_integer_and_float_boxes_agree_with_the_definition():
    from vis_ros.core.tracking.overlap import box_iou_matrix

    a = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [20, 20, 20, 30]])  # the last one has no area
    b = np.array([[0, 0, 10, 10], [10, 10, 20, 20]])
    expected = np.array([[1.0, 0.0], [25 / 175, 25 / 175], [0.0, 0.0]])
    for boxes_a, boxes_b in ((a, b), (a.astype(float), b.astype(float))):
        np.testing.assert_allclose(box_iou_matrix(boxes_a, boxes_b), expected, atol=1e-9)
    assert box_iou_matrix(a[:0], b).shape == (0, 2)
