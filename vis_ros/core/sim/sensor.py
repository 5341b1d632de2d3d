"""Sensor effects on a clean render: RGB noise and motion blur, RGB-D depth defects.

The depth model follows structured-light / stereo RGB-D cameras: noise whose
standard deviation grows with the square of the distance, zero where the
sensor returns nothing (out of range, grazing surfaces, random dropout
blobs), and "flying pixels" that mix foreground and background depth along
depth discontinuities. Output is 16UC1 millimetres, 0 = no measurement.
"""
from __future__ import annotations

import cv2
import numpy as np

MIN_RANGE_M = 0.3
MAX_RANGE_M = 6.0


def depth_noise_std(z: np.ndarray) -> np.ndarray:
    """Axial noise std in metres at depth z (metres): ~1.2 mm at 0.5 m, ~1 cm at 2.5 m."""
    return 0.0012 + 0.0019 * np.square(np.maximum(z - 0.4, 0.0))


def sensor_depth_mm(depth_m: np.ndarray, rng: np.random.Generator, defects: bool = True) -> np.ndarray:
    """Turn exact metric depth into what an RGB-D camera would publish (uint16 mm)."""
    z = depth_m.astype(np.float64)
    valid = (z >= MIN_RANGE_M) & (z <= MAX_RANGE_M)
    if defects:
        z = z + rng.standard_normal(z.shape) * depth_noise_std(z)
        # Flying pixels: along depth edges, a random mix of the two sides.
        near = cv2.erode(depth_m, np.ones((3, 3), np.uint8))
        far = cv2.dilate(depth_m, np.ones((3, 3), np.uint8))
        edge = (far - near) > 0.05
        flying = edge & (rng.random(z.shape) < 0.5)
        mix = rng.random(z.shape)
        z = np.where(flying, near + (far - near) * mix, z)
        # Dropout: a few elliptical holes plus sparse single-pixel losses.
        holes = np.zeros(z.shape, np.uint8)
        h, w = z.shape
        for _ in range(int(rng.integers(2, 8))):
            centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            axes = (int(rng.integers(3, max(4, w // 25))), int(rng.integers(3, max(4, h // 25))))
            cv2.ellipse(holes, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        valid &= (holes == 0) & (rng.random(z.shape) > 0.01)
    mm = np.where(valid, np.round(z * 1000.0), 0.0)
    return np.clip(mm, 0, 65535).astype(np.uint16)


def noisy_rgb(rgb: np.ndarray, rng: np.random.Generator, std: float) -> np.ndarray:
    """Additive Gaussian plus signal-dependent (shot-like) noise, in 8-bit levels."""
    if std <= 0:
        return rgb
    x = rgb.astype(np.float32)
    noise = rng.standard_normal(x.shape, dtype=np.float32) * (std + 0.02 * x)
    return np.clip(x + noise, 0, 255).astype(np.uint8)


def blend_exposure(frames: list[np.ndarray]) -> np.ndarray:
    """Motion blur: the mean of renders over the exposure interval."""
    return (np.mean(np.stack(frames).astype(np.float32), axis=0) + 0.5).astype(np.uint8)
