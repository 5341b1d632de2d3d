"""The fast decoder against a straightforward full-resolution reference."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from vis_ros.core import native
from vis_ros.core.engine.decoder import Decoder, DecoderConfig, select_detections
from vis_ros.core.engine.letterbox import Letterbox

NC, NM = 6, 32
NAMES = tuple(f"c{i}" for i in range(NC))


def reference_masks(raw, protos, letterbox: Letterbox, config: DecoderConfig):
    """Build full-image reference masks the slow, obvious way.

    Full-image masks the slow, obvious way: sample sigmoid(coef . protos) at every
    source pixel's position on the prototype grid, then crop to the box.
    """
    nc = NC
    anchors, boxes_in, scores, classes = select_detections(raw, nc, config)
    boxes = letterbox.boxes_to_source(boxes_in)
    h, w = letterbox.source_height, letterbox.source_width
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    map_x = ((u * letterbox.scale + letterbox.pad_x) / 4 - 0.5).astype(np.float32)
    map_y = ((v * letterbox.scale + letterbox.pad_y) / 4 - 0.5).astype(np.float32)
    out = []
    kept = []
    for k, a in enumerate(anchors):
        x0, y0, x1, y1 = boxes[k]
        in_box = (u >= x0) & (u <= x1) & (v >= y0) & (v <= y1)
        if not in_box.any():  # box lies in the letterbox padding: no pixels, no instance
            continue
        coef = raw[4 + nc:, a]
        prob = 1 / (1 + np.exp(-np.tensordot(coef, protos, axes=1)))
        full = cv2.remap(prob.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE) > config.mask_threshold
        out.append(full & in_box)
        kept.append(k)
    return out, boxes[kept], scores[kept], classes[kept]


def random_outputs(rng, input_hw=(256, 320), anchors=1680, objects=20):
    """Raw outputs with `objects` confident, non-overlapping boxes and smooth prototypes."""
    ih, iw = input_hw
    raw = np.zeros((4 + NC + NM, anchors), np.float32)
    raw[4:4 + NC] = rng.random((NC, anchors)) * 0.2  # background below threshold
    cols, rows = 5, 4
    for k in range(objects):
        cx = (k % cols + 0.5) * iw / cols + rng.uniform(-5, 5)
        cy = (k // cols % rows + 0.5) * ih / rows + rng.uniform(-5, 5)
        raw[0:4, k] = (cx, cy, rng.uniform(20, iw / cols - 4), rng.uniform(20, ih / rows - 4))
        raw[4 + k % NC, k] = rng.uniform(0.5, 0.95)
        raw[4 + NC:, k] = rng.standard_normal(NM) * 2
    protos = cv2.GaussianBlur(rng.standard_normal((ih // 4, iw // 4, NM)).astype(np.float32), (0, 0), 3)
    return raw, np.ascontiguousarray(protos.transpose(2, 0, 1)) * 5


def _iou(a, b):
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else np.logical_and(a, b).sum() / union


@pytest.mark.parametrize("source_hw", [(480, 640), (720, 1280), (256, 320), (300, 200)])
@pytest.mark.parametrize("seed", [0, 1])
def test_fast_masks_match_reference(source_hw, seed, kernel_path):
    rng = np.random.default_rng(seed)
    raw, protos = random_outputs(rng)
    letterbox = Letterbox.fit(source_hw, (256, 320))
    config = DecoderConfig()
    fast = Decoder(NAMES, config)(raw, protos, letterbox)
    ref, boxes, scores, classes = reference_masks(raw, protos, letterbox, config)
    assert len(fast) == len(ref) >= 10
    for det, ref_mask, box, score, cls in zip(fast, ref, boxes, scores, classes, strict=True):
        assert det.class_id == cls and det.score == pytest.approx(score)
        np.testing.assert_allclose(det.box, box, atol=1e-3)
        assert _iou(det.full_mask(*source_hw), ref_mask) >= 0.99
        assert det.mask_area == np.count_nonzero(det.mask)


def test_masks_stay_inside_their_boxes(kernel_path):
    rng = np.random.default_rng(3)
    raw, protos = random_outputs(rng)
    letterbox = Letterbox.fit((480, 640), (256, 320))
    for det in Decoder(NAMES)(raw, protos, letterbox):
        x0, y0, x1, y1 = det.box
        ys, xs = np.nonzero(det.full_mask(480, 640))
        if len(xs):
            assert xs.min() + 0.5 >= x0 and xs.max() + 0.5 <= x1
            assert ys.min() + 0.5 >= y0 and ys.max() + 0.5 <= y1


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_c_and_numpy_masks_agree(threshold, compiled_kernels, monkeypatch):
    """Check the C and numpy masks agree.

    Same ROIs, same pixels up to rounding at the threshold (2 pixels in 118
    million over 30 seeds and six image sizes when this was written).
    """
    decoder = Decoder(NAMES, DecoderConfig(mask_threshold=threshold))
    differing = total = 0
    for seed in range(4):
        raw, protos = random_outputs(np.random.default_rng(seed))
        for source_hw in [(480, 640), (720, 1280), (37, 53)]:
            letterbox = Letterbox.fit(source_hw, (256, 320))
            fast = decoder(raw, protos, letterbox)
            with monkeypatch.context() as patch:
                patch.setattr(native, "kernels", None)
                slow = decoder(raw, protos, letterbox)
            assert [d.roi for d in fast] == [d.roi for d in slow] and len(fast) >= 10
            for a, b in zip(fast, slow, strict=True):
                assert a.mask.shape == b.mask.shape and a.mask_area == np.count_nonzero(a.mask)
                differing += np.count_nonzero(a.mask != b.mask)
                total += a.mask.size
    assert differing <= 1e-5 * total


def _random_head(rng, trial):
    """Make a raw head with the awkward cases.

    Ties (scores and boxes rounded), NaN scores, zero-size boxes, boxes past
    the image edge, no anchors at all.
    """
    nc, nm, anchors = int(rng.integers(1, 8)), int(rng.integers(0, 5)), int(rng.integers(0, 300))
    raw = np.zeros((4 + nc + nm, anchors), np.float32)
    raw[0], raw[1] = rng.uniform(-20, 340, anchors), rng.uniform(-20, 276, anchors)
    raw[2:4] = rng.uniform(0, 120, (2, anchors))
    if trial % 3 == 0:
        raw[:4] = np.round(raw[:4] / 10) * 10
    raw[4:4 + nc] = np.round(rng.random((nc, anchors)), 1 if trial % 2 else 6)
    if trial % 7 == 0 and anchors:
        raw[4, rng.integers(0, anchors)] = np.nan
    raw[4 + nc:] = rng.standard_normal((nm, anchors))
    config = DecoderConfig(score_threshold=float(rng.uniform(0, 0.9)), nms_iou=float(rng.uniform(0, 1)),
                           class_agnostic_nms=bool(rng.integers(0, 2)), max_detections=int(rng.integers(1, 50)))
    source_hw = (int(rng.integers(50, 1000)), int(rng.integers(50, 1000)))
    return raw, nc, config, Letterbox.fit(source_hw, (256, 320))


def test_c_and_numpy_selection_agree_exactly(compiled_kernels, monkeypatch):
    """Check the C and numpy selections agree bit for bit.

    Score filter, NMS (cv2.dnn.NMSBoxes' semantics), source boxes, ROIs and
    coefficients: the same arrays, bit for bit (5,000 trials agreed when this
    was written; 400 here).
    """
    rng = np.random.default_rng(0)
    for trial in range(400):
        raw, nc, config, letterbox = _random_head(rng, trial)
        decoder = Decoder(tuple(f"c{i}" for i in range(nc)), config)
        fast = [a.copy() for a in decoder._select_native(raw, letterbox)]
        with monkeypatch.context() as patch:
            patch.setattr(native, "kernels", None)
            slow = decoder._select_numpy(raw, letterbox)
        for a, b in zip(fast, slow, strict=True):
            assert a.shape == b.shape and np.array_equal(a, b), (trial, config)


def _two_boxes(class_a, class_b):
    raw = np.zeros((4 + NC + NM, 10), np.float32)
    raw[0:4, 0] = (100, 100, 50, 50)
    raw[0:4, 1] = (102, 101, 50, 50)  # IoU ~0.9 with the first
    raw[4 + class_a, 0] = 0.9
    raw[4 + class_b, 1] = 0.8
    return raw


def test_class_aware_nms_keeps_overlapping_boxes_of_other_classes():
    raw = _two_boxes(0, 1)
    assert len(select_detections(raw, NC, DecoderConfig())[0]) == 2
    assert len(select_detections(raw, NC, DecoderConfig(class_agnostic_nms=True))[0]) == 1
    assert len(select_detections(_two_boxes(2, 2), NC, DecoderConfig())[0]) == 1


def test_score_filter_and_max_detections():
    rng = np.random.default_rng(0)
    raw, _ = random_outputs(rng)
    assert len(select_detections(raw, NC, DecoderConfig(score_threshold=0.99))[0]) == 0
    assert len(select_detections(raw, NC, DecoderConfig(max_detections=5))[0]) == 5


@pytest.mark.parametrize("kwargs, message", [
    ({"score_threshold": 1.5}, "score_threshold"),
    ({"nms_iou": -0.1}, "nms_iou"),
    ({"mask_threshold": 1.0}, "mask_threshold"),
    ({"max_detections": 0}, "max_detections"),
])
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DecoderConfig(**kwargs)
