"""Optical-flow propagation: upsampling the flow, warping masks, the propagator."""
import cv2
import numpy as np
import pytest

from vis_ros.core import native
from vis_ros.core.data.instances import PixelBox
from vis_ros.core.pipeline.propagation import (
    FlowField,
    FlowPropagator,
    MaskToMove,
    flow_scale_for,
    warp_mask,
    warp_masks,
)


def _taps(first: int, n: int, scale: int, low_n: int):
    """Low-res cells and weight for full-res pixels first..first+n: (u + 0.5) / s - 0.5, clamped at the edges."""
    g = np.clip((np.arange(first, first + n) + 0.5) / scale - 0.5, 0.0, low_n - 1)
    lo = g.astype(int)  # g >= 0: truncation is floor
    return lo, np.minimum(lo + 1, low_n - 1), g - lo


def _bilinear_reference(low: np.ndarray, scale: int, roi: PixelBox) -> np.ndarray:
    """Sample the low-res field bilinearly at each full-res pixel of roi."""
    h, w = low.shape[:2]
    x0, x1, fx = _taps(roi.x, roi.width, scale, w)
    y0, y1, fy = _taps(roi.y, roi.height, scale, h)
    fx, fy = fx[None, :, None], fy[:, None, None]
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


def test_uniform_motion_moves_a_mask_and_keeps_its_area(kernel_path):
    low = np.empty((120, 160, 2), np.float32)
    low[...] = (-10.0, -6.0)  # backward flow: the content moved by (+10, +6) full-res pixels
    field = FlowField(low, 2, 240, 320)
    mask = np.zeros((30, 40), bool)
    mask[5:25, 8:32] = True
    moved = warp_mask(field, PixelBox(100, 50, 40, 30), mask)
    assert (moved.roi.x, moved.roi.y, moved.roi.width, moved.roi.height) == (118, 61, 24, 20)
    assert moved.mask.all() and moved.area_ratio == pytest.approx(1.0)


def test_a_mask_pushed_out_of_the_image_comes_back_empty(kernel_path):
    low = np.full((60, 80, 2), 200.0, np.float32)  # every pixel samples far outside the old mask
    moved, = warp_masks(FlowField(low, 2, 120, 160), [MaskToMove(PixelBox(0, 0, 10, 10), np.ones((10, 10), bool), 100)])
    assert moved.roi.width == 0 and moved.mask.shape == (0, 0) and moved.area == 0 and moved.area_ratio == 0.0


def test_propagator_recovers_a_translation_and_explains_it_away(kernel_path):
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


@pytest.mark.parametrize("width,scale", [(160, 2), (320, 2), (640, 2), (960, 2), (1280, 4), (1920, 4), (3840, 8),
                                         (7680, 8)])
def test_automatic_flow_scale_halves_until_the_image_is_at_most_480_wide(width, scale):
    assert flow_scale_for(width) == scale


def test_automatic_scale_follows_the_image_and_its_grey_averages_the_pixels():
    rng = np.random.default_rng(5)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (740, 1300, 3), dtype=np.uint8), (0, 0), 3)
    prop = FlowPropagator(patch_stride=5)
    assert prop.observe(texture[:720, :1280], need_flow=True) is None
    field = prop.observe(texture[8:728, 12:1292], need_flow=True)  # content moved by (-12, -8)
    assert (field.scale, field.flow.shape) == (4, (180, 320, 2))
    assert np.median(field.flow[20:-20, 20:-20].reshape(-1, 2), axis=0) == pytest.approx([12.0, 8.0], abs=1.0)
    # Two 2x2 halvings are a 4x4 area average up to the first halving's rounding.
    grey = cv2.cvtColor(texture[:720, :1280], cv2.COLOR_RGB2GRAY)
    direct = cv2.resize(grey, (320, 180), interpolation=cv2.INTER_AREA)
    assert np.abs(prop._grey(texture[:720, :1280], 4).astype(int) - direct).max() <= 1
    small = prop.observe(texture[:240, :320], need_flow=True)  # a new size: no flow to the old frame
    assert small is None and prop.observe(texture[:240, :320], need_flow=True).scale == 2


def test_propagator_rejects_bad_settings():
    with pytest.raises(ValueError, match="scale"):
        FlowPropagator(scale=3)
    with pytest.raises(ValueError, match="preset"):
        FlowPropagator(preset="slow")
    with pytest.raises(ValueError, match="patch stride"):
        FlowPropagator(patch_stride=9)


def _blob(rng, height, width):
    mask = cv2.GaussianBlur(rng.random((height, width)).astype(np.float32), (0, 0), 3) > 0.5
    mask[height // 3:2 * height // 3, width // 3:2 * width // 3] = True
    return mask


@pytest.mark.parametrize("scale,height,width", [(2, 480, 640), (2, 479, 637), (4, 101, 130), (1, 60, 80)])
def test_c_and_numpy_warps_agree(scale, height, width, compiled_kernels, monkeypatch):
    """Check the C and numpy warps agree.

    Same boxes and areas as the masks they return; pixels differ only where
    OpenCV's remap rounds sample positions to 1/32 pixel (3.9e-7 of mask
    pixels over 3 x 90 sim frames when this was written).
    """
    rng = np.random.default_rng(scale * 100 + width)
    low = cv2.GaussianBlur(rng.normal(0, 6, (height // scale, width // scale, 2)).astype(np.float32), (0, 0), 4)
    field = FlowField(low * 3, scale, height, width)
    masks = []
    for _ in range(12):
        w, h = int(rng.integers(1, min(90, width))), int(rng.integers(1, min(90, height)))
        x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
        mask = _blob(rng, h, w)
        masks.append(MaskToMove(PixelBox(x, y, w, h), mask, int(mask.sum())))
    masks.append(MaskToMove(PixelBox(5, 5, 4, 4), np.zeros((4, 4), bool), 0))  # nothing to move
    fast = warp_masks(field, masks)
    monkeypatch.setattr(native, "kernels", None)
    slow = warp_masks(field, masks)
    differing = total = 0
    for a, b, (_, _, area) in zip(fast, slow, masks, strict=True):
        assert a.mask.shape == (a.roi.height, a.roi.width) and a.area == np.count_nonzero(a.mask)
        assert a.area_ratio == pytest.approx(a.area / area if area else 0.0)
        full_a, full_b = np.zeros((height, width), bool), np.zeros((height, width), bool)
        full_a[a.roi.y:a.roi.y_end, a.roi.x:a.roi.x_end] = a.mask
        full_b[b.roi.y:b.roi.y_end, b.roi.x:b.roi.x_end] = b.mask
        differing += np.count_nonzero(full_a != full_b)
        total += max(b.area, 1)
    assert differing <= 2e-3 * total


def _exact_warp(flow, scale, height, width, roi, mask):
    """Warp with the C kernel's arithmetic, pixel by pixel in numpy float32 (no block decided in advance)."""
    f32 = np.float32
    low_h, low_w = flow.shape[:2]
    rx, ry, rw, rh = roi
    cells = flow[ry // scale:-(-(ry + rh) // scale), rx // scale:-(-(rx + rw) // scale)]
    largest = float(np.nanmax(np.abs(cells), initial=0.0))
    reach = int(np.clip(np.ceil(np.float32(largest)), 0, width + height)) + 2
    x0, y0 = max(rx - reach, 0), max(ry - reach, 0)
    x1, y1 = min(rx + rw + reach, width), min(ry + rh + reach, height)

    col_lo, col_hi, fx = _taps(x0, x1 - x0, scale, low_w)
    row_lo, row_hi, fy = _taps(y0, y1 - y0, scale, low_h)
    fx, fy = fx.astype(f32), fy.astype(f32)
    rows = flow[row_lo] + fy[:, None, None] * (flow[row_hi] - flow[row_lo])  # float32 throughout
    field = rows[:, col_lo] + fx[None, :, None] * (rows[:, col_hi] - rows[:, col_lo])
    u = (np.arange(x0 - rx, x1 - rx).astype(f32) + f32(1))[None, :] + field[..., 0]
    v = (np.arange(y0 - ry, y1 - ry).astype(f32) + f32(1))[:, None] + field[..., 1]
    padded = np.zeros((rh + 2, rw + 2), f32)
    padded[1:-1, 1:-1] = mask
    inside = (u >= 0) & (v >= 0) & (u < rw + 1) & (v < rh + 1)
    ux, vy = np.where(inside, u, 0).astype(int), np.where(inside, v, 0).astype(int)
    p00, p01 = padded[vy, ux], padded[vy, np.minimum(ux + 1, rw + 1)]
    p10, p11 = padded[np.minimum(vy + 1, rh + 1), ux], padded[np.minimum(vy + 1, rh + 1), np.minimum(ux + 1, rw + 1)]
    fu, fv = np.where(inside, u, 0) - ux.astype(f32), np.where(inside, v, 0) - vy.astype(f32)
    value = (f32(1) - fv) * ((f32(1) - fu) * p00 + fu * p01) + fv * ((f32(1) - fu) * p10 + fu * p11)
    on = inside & (((p00 + p01 + p10 + p11) == 4) | (value >= 0.5))
    out = np.zeros((height, width), bool)
    out[y0:y1, x0:x1] = on
    return out


def test_c_warp_decides_whole_blocks_exactly_as_sampling_each_pixel(compiled_kernels):
    """Check blocks known set or clear without sampling come out as sampling every pixel does.

    Large masks (whole blocks inside and outside), smooth and rough flow, and
    flow with NaN and infinity inside a mask (those pixels come out clear).
    """
    rng = np.random.default_rng(11)
    for trial in range(60):
        scale = (1, 2, 4)[trial % 3]
        height, width = int(rng.integers(40, 240)), int(rng.integers(40, 320))
        sigma = (0.5, 3.0, 12.0)[trial % 3]
        flow = rng.normal(0, sigma, (height // scale, width // scale, 2)).astype(np.float32)
        if trial % 2:
            flow = cv2.GaussianBlur(flow, (0, 0), 3)
        if trial % 5 == 0:
            flow[flow.shape[0] // 2, flow.shape[1] // 2] = (np.nan, np.inf)
        rw, rh = int(rng.integers(10, width + 1)), int(rng.integers(10, height + 1))
        rx, ry = int(rng.integers(0, width - rw + 1)), int(rng.integers(0, height - rh + 1))
        mask = cv2.GaussianBlur(rng.random((rh, rw)).astype(np.float32), (0, 0), 8) > 0.45
        mask[rh // 4:3 * rh // 4, rw // 4:3 * rw // 4] = True
        (x, y, w, h, data, area), = compiled_kernels.warp_masks(
            flow, flow.shape[:2], scale, (height, width), np.array([[rx, ry, rw, rh]], np.int64), 1, [mask])
        moved = np.zeros((height, width), bool)
        moved[y:y + h, x:x + w] = np.frombuffer(data, bool).reshape(h, w)
        with np.errstate(invalid="ignore"):  # the NaN and infinity trials
            expected = _exact_warp(flow, scale, height, width, (rx, ry, rw, rh), mask)
        assert np.array_equal(moved, expected), f"trial {trial}: {np.count_nonzero(moved != expected)} pixels differ"
        assert area == np.count_nonzero(expected)


def test_c_warp_refuses_a_mask_that_does_not_fit_its_box(compiled_kernels):
    field = FlowField(np.zeros((60, 80, 2), np.float32), 2, 120, 160)
    with pytest.raises(ValueError, match="does not fit the image or its 12-byte mask"):
        compiled_kernels.warp_masks(field.flow, (60, 80), 2, (120, 160), np.array([[0, 0, 4, 4]], np.int64), 1,
                                  [np.ones((3, 4), bool)])
    with pytest.raises(ValueError, match="does not fit the image"):
        compiled_kernels.warp_masks(field.flow, (60, 80), 2, (120, 160), np.array([[158, 0, 4, 4]], np.int64), 1,
                                  [np.ones((4, 4), bool)])
