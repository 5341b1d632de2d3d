"""sensor_msgs Image / CompressedImage <-> numpy, via the ROS-free codec."""
from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from vis_ros.core.codecs.images import colour_to_rgb, compressed_to_rgb, depth_to_metres


def rgb_from_msg(msg) -> np.ndarray:
    """Convert an Image or CompressedImage to an (H, W, 3) RGB array (a view for rgb8)."""
    if isinstance(msg, CompressedImage):
        return compressed_to_rgb(msg.format, msg.data)
    return colour_to_rgb(msg.encoding, msg.height, msg.width, msg.step, bool(msg.is_bigendian), msg.data)


def depth_from_msg(msg: Image, depth_scale: float) -> np.ndarray:
    """Convert a 16UC1 or 32FC1 depth Image to metres (float32, 0 where invalid)."""
    return depth_to_metres(msg.encoding, msg.height, msg.width, msg.step, bool(msg.is_bigendian),
                           msg.data, depth_scale)


def image_msg(header, pixels: np.ndarray, encoding: str) -> Image:
    """Build an Image message of a C-contiguous array."""
    pixels = np.ascontiguousarray(pixels)
    msg = Image(header=header, height=pixels.shape[0], width=pixels.shape[1], encoding=encoding,
                is_bigendian=0, step=pixels.strides[0])
    msg.data = pixels.tobytes()
    return msg
