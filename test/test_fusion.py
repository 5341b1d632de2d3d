"""Depth fusion: geometry on constructed depth, defects, resolutions, and sim accuracy."""
from __future__ import annotations

import numpy as np
import pytest

from vis_ros.core.codecs.images import depth_to_metres
from vis_ros.core.data.errors import InputError
from vis_ros.core.data.instances import Instance2D, InstanceFrame, PixelBox, TrackState
from vis_ros.core.fusion.camera import PinholeCamera
from vis_ros.core.fusion.fuse import FusionConfig, fuse_instance
from vis_ros.core.fusion.fuser import DepthFuser
from vis_ros.core.fusion.smoothing import CentroidSmoother

CAM = PinholeCamera(525.0, 525.0, 319.5, 239.5, 640, 480)


def _square(depth_value=2.0, box=PixelBox(300, 200, 60, 40), shape=(480, 640)):
    depth = np.zeros(shape, np.float32)
    depth[box.y:box.y_end, box.x:box.x_end] = depth_value
    return depth, box, np.ones((box.height, box.width), bool)


def _expected_centroid(box, z, cam=CAM, erode=2):
    us = np.arange(box.x + erode, box.x_end - erode)
    vs = np.arange(box.y + erode, box.y_end - erode)
    return np.array([((us - cam.cx) * z / cam.fx).mean(), ((vs - cam.cy) * z / cam.fy).mean(), z])


def test_flat_patch_back_projects_to_its_known_position_and_size():
    depth, box, mask = _square(2.0)
    est = fuse_instance(box, mask, depth, CAM)
    np.testing.assert_allclose(est.centroid, _expected_centroid(box, 2.0), atol=2e-3)
    # The full silhouette, although the points come from an eroded mask: 60 x 40
    # pixel footprints at 2 m.
    assert est.box_size[0] == pytest.approx(60 * 2.0 / 525.0, rel=0.03)
    assert est.box_size[1] == pytest.approx(40 * 2.0 / 525.0, rel=0.03)
    assert est.confidence == 1.0 and est.num_points > FusionConfig().max_points // 2  # stride-subsampled


def test_millimetre_and_metre_depth_give_the_same_result():
    depth, box, mask = _square(1.5)
    mm = (depth * 1000).astype(np.uint16)
    from_mm = depth_to_metres("16UC1", 480, 640, 1280, False, mm.tobytes())
    from_m = depth_to_metres("32FC1", 480, 640, 2560, False, depth.tobytes())
    a, b = fuse_instance(box, mask, from_mm, CAM), fuse_instance(box, mask, from_m, CAM)
    np.testing.assert_allclose(a.centroid, b.centroid, atol=1e-6)


def test_holes_nan_and_zero_depth_are_ignored():
    depth, box, mask = _square(2.0)
    depth[box.y:box.y + 20, box.x:box.x + 30] = np.nan
    depth[box.y + 20:box.y_end, box.x:box.x + 10] = 0.0
    clean = depth_to_metres("32FC1", 480, 640, 2560, False, depth.tobytes())
    est = fuse_instance(box, mask, clean, CAM)
    assert est.confidence > 0 and abs(est.centroid[2] - 2.0) < 1e-6


def test_mask_without_valid_depth_is_reported_with_zero_confidence():
    depth, box, mask = _square(2.0)
    depth[:] = 0.0
    est = fuse_instance(box, mask, depth, CAM)
    assert est.confidence == 0.0 and est.num_points == 0


def test_background_and_flying_pixels_in_the_mask_are_rejected():
    depth, box, mask = _square(1.0)
    depth[box.y:box.y_end, box.x_end - 15:box.x_end] = 4.0  # a wall seen through the mask's edge
    depth[box.y + 5:box.y + 8, box.x + 20:box.x + 40] = 2.5  # flying pixels
    est = fuse_instance(box, mask, depth, CAM)
    assert abs(est.centroid[2] - 1.0) < 1e-3


def test_depth_at_half_resolution_scales_intrinsics_and_says_so():
    depth, box, mask = _square(2.0)
    inst = Instance2D(1, 0, "box", 0.9, TrackState.CONFIRMED, 0, box, mask)
    frame = InstanceFrame(10, "cam", 480, 640, True, [inst])
    full, _, notices_full = DepthFuser()(frame, depth, CAM)
    half, _, notices_half = DepthFuser()(frame, depth[::2, ::2].copy(), CAM)
    assert notices_full == [] and "masks resampled and intrinsics scaled" in notices_half[0]
    np.testing.assert_allclose(half.instances[0].position, full.instances[0].position, atol=0.01)


def test_object_cut_by_the_image_border():
    depth, box, mask = _square(1.2, PixelBox(600, 440, 40, 40))
    est = fuse_instance(box, mask, depth, CAM)
    assert est.confidence > 0 and est.centroid[0] > 0.1 and est.centroid[1] > 0.1


def test_camera_info_checks():
    cam, warnings = PinholeCamera.from_camera_info([525, 0, 319.5, 0, 525, 239.5, 0, 0, 1], 640, 480,
                                                   "plumb_bob", [0.1, 0, 0, 0, 0])
    assert cam.fx == 525 and "distortion" in warnings[0]
    _, none = PinholeCamera.from_camera_info([525, 0, 319.5, 0, 525, 239.5, 0, 0, 1], 640, 480,
                                             "plumb_bob", [0.0] * 5)
    assert none == []
    with pytest.raises(InputError, match="not a valid intrinsic matrix"):
        PinholeCamera.from_camera_info([0] * 9, 640, 480)
    assert CAM.scaled_to(320, 240).cx == pytest.approx(159.5)


def test_a_zero_camera_matrix_is_named_in_plain_numbers():
    """CameraInfo.k arrives as numpy float64: the message must not show their reprs."""
    with pytest.raises(InputError) as raised:
        PinholeCamera.from_camera_info(np.zeros(9), 640, 480)
    assert str(raised.value) == ("CameraInfo K is not a valid intrinsic matrix (fx = K[0] and fy = K[4] must be > 0):"
                                 " [0, 0, 0, 0, 0, 0, 0, 0, 0]")
    with pytest.raises(InputError, match=r"\[nan, 0, 319.5"):
        PinholeCamera.from_camera_info([float("nan"), 0, 319.5, 0, 525, 239.5, 0, 0, 1], 640, 480)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="min_depth_m < max_depth_m"):
        FusionConfig(min_depth_m=5.0, max_depth_m=1.0)


def test_smoother_reduces_jitter_and_estimates_velocity():
    rng = np.random.default_rng(0)
    smoother = CentroidSmoother()
    static = [smoother.update(1, i * 33_333_333, np.array([0.1, 0.0, 1.0]) + rng.normal(0, 0.004, 3), 1.0)[0]
              for i in range(60)]
    assert np.std(np.array(static)[20:], axis=0).max() < 0.002
    moving = CentroidSmoother()
    for i in range(60):
        _, velocity = moving.update(7, i * 33_333_333, np.array([0.3 * i / 30, 0.0, 1.5]), 1.5)
    assert velocity[0] == pytest.approx(0.3, abs=0.03)


def test_smoother_equals_the_matrix_kalman_filter_per_axis():
    rng = np.random.default_rng(5)
    smoother, accel = CentroidSmoother(), CentroidSmoother().accel_std
    stamps = np.cumsum(rng.integers(20_000_000, 120_000_000, 40))  # uneven frame gaps
    x = v = p = None
    for k, stamp in enumerate(stamps):
        z = np.array([0.2, -0.1, 1.5]) + 0.01 * k + rng.normal(0, 0.005, 3)
        got_x, got_v = smoother.update(3, int(stamp), z, z[2])
        r = (smoother.base_noise_m + smoother.noise_per_m2 * z[2] ** 2) ** 2
        if k == 0:
            x, v, p = z.copy(), np.zeros(3), np.diag([r, 1.0])
        else:
            dt = (stamp - stamps[k - 1]) * 1e-9
            f = np.array([[1.0, dt], [0.0, 1.0]])
            q = accel ** 2 * np.array([[dt ** 4 / 4, dt ** 3 / 2], [dt ** 3 / 2, dt ** 2]])
            p = f @ p @ f.T + q
            gain = p @ np.array([1.0, 0.0]) / (p[0, 0] + r)
            innovation = z - (x + v * dt)
            x, v = x + v * dt + gain[0] * innovation, v + gain[1] * innovation
            p = (np.eye(2) - np.outer(gain, [1.0, 0.0])) @ p
        np.testing.assert_allclose(got_x, x, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got_v, v, rtol=1e-10, atol=1e-12)


@pytest.mark.slow
def test_accuracy_against_sim_ground_truth():
    from vis_ros.evaluation.fusion_eval import evaluate_fusion

    report = evaluate_fusion(sequences=3, frames_per_sequence=2, jitter=False)
    assert report["objects"] > 30
    assert report["centroid_error_over_range"]["median"] < 0.015
    assert report["box_size_error_vs_gt_box"]["median"] < 0.10
    assert report["box_centre_error_m"]["median"] < 0.04


def test_support_plane_recovers_a_pitched_floor_and_boxes_follow_it():
    from vis_ros.core.fusion.support_plane import SupportPlane

    # A floor 1 m below a camera pitched 40 degrees down: up = (0, -cos, -sin)... in optical frame.
    pitch = np.radians(40)
    up_true = np.array([0.0, -np.cos(pitch), -np.sin(pitch)])
    v, u = np.mgrid[:480, :640]
    rays = np.stack([(u - CAM.cx) / CAM.fx, (v - CAM.cy) / CAM.fy, np.ones_like(u, float)], -1)
    # Plane: up . p = -1 (the camera is 1 m above it): depth z = -1 / (up . ray)
    denom = rays @ up_true
    depth = np.where(denom < -1e-3, -1.0 / denom, 0.0).astype(np.float32)
    up = SupportPlane().update(depth, CAM, [])
    assert float(up @ up_true) > 0.999
    assert np.allclose(SupportPlane().update(np.zeros((480, 640), np.float32), CAM, []), [0, -1, 0])
