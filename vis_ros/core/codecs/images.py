"""sensor_msgs/Image payloads <-> numpy, without ROS (the node passes msg fields).

Views into the message buffer are returned where the layout allows (no copy
for rgb8 rows without padding); row padding (`step` > width * bytes per
pixel) and big-endian 16-bit data are handled. Unknown encodings and sizes
that do not add up raise InputError naming what is wrong.
"""
from __future__ import annotations

import cv2
import numpy as np

from vis_ros.core.data.errors import InputError

COLOUR_ENCODINGS = {  # encoding -> (channels, dtype)
    "rgb8": (3, np.uint8), "bgr8": (3, np.uint8), "rgba8": (4, np.uint8), "bgra8": (4, np.uint8),
    "mono8": (1, np.uint8), "mono16": (1, np.uint16),
}
DEPTH_ENCODINGS = {"16UC1": np.uint16, "32FC1": np.float32, "mono16": np.uint16}


def _pixels(data, height: int, width: int, step: int, channels: int, dtype, big_endian: bool,
            encoding: str) -> np.ndarray:
    itemsize = np.dtype(dtype).itemsize
    row_bytes = width * channels * itemsize
    if height <= 0 or width <= 0:
        raise InputError(f"{encoding} image has size {width}x{height}")
    if step < row_bytes:
        raise InputError(f"{encoding} image step {step} < width {width} x {channels * itemsize} bytes")
    buffer = np.frombuffer(data, np.uint8)
    if buffer.size < step * height:
        raise InputError(f"{encoding} image {width}x{height} (step {step}) needs {step * height} bytes,"
                         f" message has {buffer.size}")
    rows = buffer[:step * height].reshape(height, step)[:, :row_bytes]
    order = ">" if big_endian else "<"
    view = rows.view(np.dtype(dtype).newbyteorder(order) if itemsize > 1 else dtype)
    view = view.reshape(height, width, channels)
    if itemsize > 1 and big_endian:
        view = view.astype(np.dtype(dtype).newbyteorder("="))
    return view


def colour_to_rgb(encoding: str, height: int, width: int, step: int, big_endian: bool, data) -> np.ndarray:
    """(H, W, 3) uint8 RGB; a view of `data` for rgb8 (possibly strided), else a converted copy."""
    if encoding not in COLOUR_ENCODINGS:
        raise InputError(f"unsupported colour encoding {encoding!r}; supported: {sorted(COLOUR_ENCODINGS)}")
    channels, dtype = COLOUR_ENCODINGS[encoding]
    px = _pixels(data, height, width, step, channels, dtype, big_endian, encoding)
    if encoding == "rgb8":
        return px
    if encoding == "bgr8":
        return cv2.cvtColor(px, cv2.COLOR_BGR2RGB)
    if encoding == "rgba8":
        return cv2.cvtColor(px, cv2.COLOR_RGBA2RGB)
    if encoding == "bgra8":
        return cv2.cvtColor(px, cv2.COLOR_BGRA2RGB)
    if encoding == "mono16":
        px = (px >> 8).astype(np.uint8)
    return cv2.cvtColor(px[..., 0], cv2.COLOR_GRAY2RGB)


def compressed_to_rgb(fmt: str, data) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a CompressedImage payload (jpeg, png); InputError if it does not decode."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"cannot decode CompressedImage (format {fmt!r})")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def depth_to_metres(encoding: str, height: int, width: int, step: int, big_endian: bool, data,
                    depth_scale: float = 0.001) -> np.ndarray:
    """(H, W) float32 metres; 0 where there is no valid measurement (0, NaN, inf, negative).

    16UC1 (and mono16) values are multiplied by depth_scale (0.001: millimetres);
    32FC1 is taken as metres.
    """
    if encoding not in DEPTH_ENCODINGS:
        raise InputError(f"unsupported depth encoding {encoding!r}; supported: {sorted(DEPTH_ENCODINGS)}")
    px = _pixels(data, height, width, step, 1, DEPTH_ENCODINGS[encoding], big_endian, encoding)[..., 0]
    if encoding == "32FC1":
        z = px.astype(np.float32, copy=True)
        z[~np.isfinite(z) | (z < 0)] = 0.0
        return z
    return px.astype(np.float32) * np.float32(depth_scale)
