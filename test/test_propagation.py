"""Optical-flow propagation: upsampling the flow, warping masks, the propagator."""
import cv2
import numpy as np
import pytest

from vis_ros.core.instances import PixelBox
from vis_ros.core.propagation import FlowField, FlowPropagator, warp_mask


def _bilinear_reference(low: np.ndarray, scale: int, roi: PixelBox) -> np.ndarray:
    """Sample low-res pixel (u + 0.5) / s - 0.5 for each full-res pixel, clamped at the edges."""
    h, w = low.shape[:2]
    xs = np.clip((np.arange(roi.x, roi.x_end) + 0.5) / scale - 0.5, 0, w - 1)
    ys = np.clip((np.arange(roi.y, roi.y_end) + 0.5) / scale - 0.5, 0, h - 1)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (xs - x0)[None, :, None], (ys - y0)[:, None, None]
    top = low[y0][:, x0] * (1 - fx) + low[y0][:, x1] * fx
    bottom = low[y1][:, x0] * (1 - fx) + low[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


@pytest.mark.parametrize("scale,height,width", [(1, 60, 80), (2, 480, 640), (2, 479, 637), (4, 101, 130)])
def test_full_resolution_flow_crop_is_bilinear_sampling_of_the_low_res_field(scale, height, width):
    rng = np.random.default_rng(scale * 1000 + width)
    low = rng.normal(0, 5, (height // scale, width // scale, 2)).astype(np.float32)
    field = FlowField(low, scale, height, width)
    for _ in range(50):
        x, y = int(rng.integers(0, width - 1)), int(rng.integers(0, height - 1))
        roi = PixelBox(x, y, int(rng.integers(1, width - x + 1)), int(rng.integers(1, height - y + 1)))
        np.testing.assert_allclose(field.crop_full_res(roi), _bilinear_reference(low, scale, roi), atol=1e-4)


def test_uniform_motion_moves_a_mask_and_keeps_its_area():
    low = np.empty((120, 160, 2), np.float32)
    low[...] = (-10.0, -6.0)  # backward flow: the content moved by (+10, +6) full-res pixels
    field = FlowField(low, 2, 240, 320)
    mask = np.zeros((30, 40), bool)
    mask[5:25, 8:32] = True
    moved = warp_mask(field, PixelBox(100, 50, 40, 30), mask)
    assert (moved.roi.x, moved.roi.y, moved.roi.width, moved.roi.height) == (118, 61, 24, 20)
    assert moved.mask.all() and moved.area_ratio == pytest.approx(1.0)


def test_a_mask_pushed_out_of_the_image_comes_back_empty():
    low = np.full((60, 80, 2), 200.0, np.float32)  # every pixel samples far outside the old mask
    moved = warp_mask(FlowField(low, 2, 120, 160), PixelBox(0, 0, 10, 10), np.ones((10, 10), bool))
    assert moved.roi.width == 0 and moved.mask.size == 0 and moved.area_ratio == 0.0


def test_propagator_recovers_a_translation_and_explains_it_away():
    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (300, 380, 3), dtype=np.uint8), (0, 0), 2)
    first, second = texture[20:260, 20:340], texture[16:256, 14:334]  # camera moved: content +(6, 4)
    prop = FlowPropagator(scale=2, patch_stride=5)
    assert prop.observe(first, need_flow=True) is None  # nothing to compare with yet
    field = prop.observe(second, need_flow=True)
    inner = field.flow[20:-20, 20:-20].reshape(-1, 2)
    assert np.median(inner, axis=0) == pytest.approx([-6.0, -4.0], abs=0.5)
    assert field.residual.shape == ((field.flow.shape[0] + 1) // 2, (field.flow.shape[1] + 1) // 2)
    assert np.median(field.residual) < 10


def test_propagator_rejects_bad_settings():
    with pytest.raises(ValueError, match="scale"):
        FlowPropagator(scale=3)
    with pytest.raises(ValueError, match="preset"):
        FlowPropagator(preset="slow")
    with pytest.raises(ValueError, match="patch stride"):
        FlowPropagator(patch_stride=9)
