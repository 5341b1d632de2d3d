"""The C kernels (vis_ros/core/native).

The C kernels (vis_ros/core/native): built, memory-safe on bad calls, and
byte-for-byte the numpy run-length coder. The mask kernel is held to the
numpy decoder and the full-resolution reference in test_decoder.py.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vis_ros.core import native
from vis_ros.core.codecs.mask_runs import decode_runs, encode_runs, encode_runs_le_bytes


def test_kernels_are_built_into_the_installed_package():
    # The tests run on the colcon install (pytest.ini); a missing module there
    # means the CMake target broke and the node would fall back to numpy.
    assert native._kernels is not None, "vis_ros.core.native._kernels missing: see CMakeLists.txt"


@pytest.mark.parametrize("forced, expected", [("", "C kernels"), ("1", "numpy (VIS_ROS_NUMPY_KERNELS=1)")])
def test_the_environment_switch_chooses_the_path_a_process_runs(forced, expected):
    """VIS_ROS_NUMPY_KERNELS=1 (read at import) puts a whole process, the node's too, on numpy."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, VIS_ROS_NUMPY_KERNELS=forced)
    said = subprocess.run([sys.executable, "-P", "-c", "from vis_ros.core import native; print(native.describe())"],
                          env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert said == expected


@settings(max_examples=300, deadline=None)
@given(arrays(bool, st.tuples(st.integers(0, 30), st.integers(0, 30))), st.booleans())
def test_run_bytes_match_numpy_runs(mask, transposed):
    mask = mask.T if transposed else mask  # a non-contiguous view too
    runs = encode_runs(mask).astype("<u4").tobytes()
    assert native._kernels.encode_runs(np.ascontiguousarray(mask)) == runs
    data = encode_runs_le_bytes(mask)  # whichever path this process is on
    assert data == runs
    np.testing.assert_array_equal(decode_runs(np.frombuffer(data, "<u4"), *mask.shape), mask)


def test_run_bytes_fall_back_to_numpy(monkeypatch):
    mask = np.array([[1, 1, 0], [0, 1, 1]], bool)
    fast = encode_runs_le_bytes(mask)
    monkeypatch.setattr(native, "kernels", None)
    assert encode_runs_le_bytes(mask) == fast == np.array([0, 2, 2, 2], "<u4").tobytes()


def _mask_call(protos=None, coefs=None, rois=None, out=None, areas=None, shape=(32, 8, 10)):
    protos = np.zeros(shape, np.float32) if protos is None else protos
    coefs = np.zeros((1, 32), np.float32) if coefs is None else coefs
    rois = np.array([[0, 0, 20, 16]], np.int64) if rois is None else rois
    out = np.empty(20 * 16, bool) if out is None else out
    areas = np.empty(1, np.int64) if areas is None else areas
    return native._kernels.build_masks(protos, shape, coefs, rois, len(rois), 0.5, -0.25, -0.25, 0.4, out, areas)


def test_mask_kernel_writes_exactly_the_rois_pixels():
    out = np.full(20 * 16 + 5, True)
    areas = np.empty(1, np.int64)
    # All logits 0: probability 0.5 everywhere, above the 0.4 threshold.
    assert _mask_call(out=out, areas=areas) == 20 * 16
    assert out[:320].all() and areas[0] == 320 and out[320:].all()


@pytest.mark.parametrize("bad, message", [
    ({"out": np.empty(10, bool)}, "out holds 10 bytes, needs 320"),
    ({"protos": np.zeros((32, 8, 5), np.float32)}, "prototypes holds"),
    ({"coefs": np.zeros((1, 8), np.float32)}, "coefficients holds"),
    ({"areas": np.empty(0, np.int64)}, "areas holds"),
    ({"shape": (0, 8, 10)}, "must be positive"),
])
def test_mask_kernel_rejects_buffers_too_small_for_the_call(bad, message):
    with pytest.raises(ValueError, match=message):
        _mask_call(**bad)


@pytest.mark.parametrize("out", [np.empty((320, 2), bool)[:, 0], bytes(320)], ids=["strided", "read-only"])
def test_mask_kernel_needs_a_writable_contiguous_output(out):
    with pytest.raises(TypeError, match="read-write bytes-like"):
        _mask_call(out=out)


def _select_call(raw_shape=(10, 20), raw=None, max_det=5, outputs=None):
    raw = np.zeros((10, 20), np.float32) if raw is None else raw
    nm = max(raw_shape[0] - 4 - 2, 0)
    out = outputs or [np.empty(max_det, np.int64), np.empty((max_det, 4), np.float32),
                      np.empty(max_det, np.float32), np.empty(max_det, np.int64),
                      np.empty((max_det, 4), np.int64), np.empty((max_det, nm), np.float32)]
    return native._kernels.select_detections(raw, raw_shape, 2, 0.25, 0.5, False, max_det,
                                            (0.5, 0, 8, 640.0, 480.0), *out)


def test_select_kernel_rejects_buffers_too_small_for_the_call():
    with pytest.raises(ValueError, match="raw holds 800 bytes, needs 1600"):
        _select_call(raw_shape=(10, 40))
    with pytest.raises(ValueError, match="coefficients holds"):
        _select_call(outputs=[np.empty(5, np.int64), np.empty((5, 4), np.float32), np.empty(5, np.float32),
                              np.empty(5, np.int64), np.empty((5, 4), np.int64), np.empty((5, 1), np.float32)])
    with pytest.raises(ValueError, match="need nc > 0"):
        _select_call(raw_shape=(5, 20))
    assert _select_call() == 0  # all scores 0: nothing above 0.25


def test_kernels_survive_non_finite_engine_outputs():
    """Check the kernels survive inf and NaN.

    A broken engine can emit inf / NaN: the kernels must neither crash nor
    read outside their buffers; what comes out is just empty or partial.
    """
    protos = np.full((32, 8, 10), np.nan, np.float32)
    areas = np.empty(1, np.int64)
    assert _mask_call(protos=protos, areas=areas) == 320 and areas[0] == 0  # NaN probability: never above
    flow = np.full((60, 80, 2), np.inf, np.float32)
    flow[:30] = np.nan
    rois = np.array([[10, 10, 8, 8], [10, 80, 8, 8]], np.int64)
    moved = native._kernels.warp_masks(flow, (60, 80), 2, (120, 160), rois, 2, [np.ones((8, 8), bool)] * 2)
    assert [m[2] for m in moved] == [0, 0]  # nothing lands back inside the old masks


def test_c_and_numpy_association_similarities_agree_bit_for_bit(compiled_kernels, monkeypatch):
    """Check the C and numpy association similarities agree bit for bit.

    Crowded scenes (contested pairs need mask IoU), strided track masks, a NaN
    prediction: the C similarity equals the numpy one, NaN where it is NaN.
    """
    from types import SimpleNamespace

    from vis_ros.core.data.instances import PixelBox
    from vis_ros.core.tracking.association import similarity_mask_box

    rng = np.random.default_rng(11)

    def blob(box):
        x0, y0, x1, y1 = box
        roi = PixelBox(int(x0), int(y0), max(int(x1) - int(x0), 1), max(int(y1) - int(y0), 1))
        mask = rng.random((roi.height, roi.width * 2)) > 0.3
        mask = mask[:, ::2]  # a strided view, as the tracker's clipped masks are
        return SimpleNamespace(roi=roi, mask=mask, area=int(np.count_nonzero(mask)))

    for trial in range(60):
        n, m = int(rng.integers(0, 9)), int(rng.integers(0, 9))
        corners = rng.uniform(0, 200, (n + m, 2))
        boxes = np.hstack([corners, corners + rng.uniform(5, 80, (n + m, 2))])
        predicted, det_xyxy = boxes[:n].copy(), boxes[n:].copy()
        tracks, dets = [blob(b) for b in predicted], [blob(b) for b in det_xyxy]
        if n and trial % 10 == 0:
            predicted[0, 2] = np.nan
        for weight, floor in ((0.5, 0.1), (0.7, 0.0), (0.3, 0.4)):
            fast = similarity_mask_box(tracks, dets, predicted, det_xyxy, weight, floor)
            with monkeypatch.context() as patch:
                patch.setattr(native, "kernels", None)
                slow = similarity_mask_box(tracks, dets, predicted, det_xyxy, weight, floor)
            assert fast.shape == slow.shape == (n, m)
            assert np.array_equal(fast, slow, equal_nan=True), (trial, weight, floor)


def _fusion_cases():
    """Sim instances on real (simulated) depth, plus masks made to hit each branch."""
    from vis_ros.core.data.instances import PixelBox
    from vis_ros.core.sim.ground_truth import gt_instances
    from vis_ros.core.sim.scene import SimOptions
    from vis_ros.core.sim.sequence import generate_sequence

    camera, frames = generate_sequence(3_000_501, 1, SimOptions(objects=12))
    frame = next(frames)
    depth = frame.depth_mm.astype(np.float32) * np.float32(0.001)
    cases = [(i.box, i.mask) for i in gt_instances(frame.instance_ids, frame.objects, min_pixels=10)]
    rng = np.random.default_rng(5)
    cases.append((PixelBox(100, 100, 3, 40), np.ones((40, 3), bool)))  # too thin to erode
    cases.append((PixelBox(0, 0, 30, 30), np.zeros((30, 30), bool)))  # empty
    cases.append((PixelBox(200, 200, 60, 50), rng.random((50, 60)) > 0.3))  # ragged
    wall = depth.copy()
    wall[300:340, 300:360] = 0.0  # no valid depth under this one
    return camera, depth, wall, cases + [(PixelBox(300, 300, 60, 40), np.ones((40, 60), bool))]


def test_c_and_numpy_fusion_points_agree(compiled_kernels, monkeypatch):
    from vis_ros.core import native
    from vis_ros.core.fusion.fuse import FusionConfig, fuse_instance

    camera, depth, wall, cases = _fusion_cases()
    up = np.array([0.05, -0.97, 0.24])
    up /= np.linalg.norm(up)
    compared = 0
    for cfg in (FusionConfig(), FusionConfig(erode_px=0, nearest_cluster=False, max_points=10_000)):
        for image in (depth, wall):
            for roi, mask in cases:
                monkeypatch.setattr(native, "kernels", compiled_kernels)
                c = fuse_instance(roi, mask, image, camera, cfg, up)
                monkeypatch.setattr(native, "kernels", None)
                ref = fuse_instance(roi, mask, image, camera, cfg, up)
                assert (c.num_points, c.confidence) == (ref.num_points, ref.confidence)
                assert np.allclose(c.points, ref.points, rtol=0, atol=1e-12)
                for name in ("centroid", "box_center", "box_size", "rotation"):
                    assert np.allclose(getattr(c, name), getattr(ref, name), rtol=1e-9, atol=1e-9), name
                compared += ref.confidence > 0
    assert compared >= 20


def test_fusion_kernel_refuses_an_roi_outside_the_depth_image(compiled_kernels):
    points = np.empty((10, 3))
    with pytest.raises(ValueError, match="leaves the 20x10 depth image"):
        compiled_kernels.instance_points(np.ones((5, 5), np.uint8), (5, 5), 18, 0, np.ones((10, 20), np.float32),
                                         (10, 20), (10.0, 5.0, 50.0, 50.0), 1, 10, 3, 0.1, 10.0, 3.0, 0.01, 0.05,
                                         True, (1.0, 0, 0), (0, 0, 1.0), (0, -1.0, 0), points,
                                         np.empty((10, 2), np.float32), np.empty(10))
