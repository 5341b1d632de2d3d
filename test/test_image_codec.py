import numpy as np
import pytest

from vis_ros.core.codecs.images import colour_to_rgb, depth_to_metres
from vis_ros.core.data.errors import InputError

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)


def _padded(pixels: np.ndarray, pad: int) -> tuple[bytes, int]:
    rows = pixels.reshape(pixels.shape[0], -1).view(np.uint8)
    padded = np.concatenate([rows, np.full((rows.shape[0], pad), 0xAB, np.uint8)], 1)
    return padded.tobytes(), padded.shape[1]


@pytest.mark.parametrize("pad", [0, 3])
@pytest.mark.parametrize("encoding, pixels", [
    ("rgb8", RGB), ("bgr8", RGB[..., ::-1].copy()),
    ("rgba8", np.concatenate([RGB, np.full((5, 7, 1), 255, np.uint8)], 2)),
    ("bgra8", np.concatenate([RGB[..., ::-1], np.full((5, 7, 1), 9, np.uint8)], 2)),
])
def test_colour_encodings_with_row_padding(encoding, pixels, pad):
    data, step = _padded(np.ascontiguousarray(pixels), pad)
    np.testing.assert_array_equal(colour_to_rgb(encoding, 5, 7, step, False, data), RGB)


def test_rgb8_is_a_view_of_the_message_buffer():
    data = bytearray(RGB.tobytes())
    out = colour_to_rgb("rgb8", 5, 7, 21, False, data)
    data[0] = 255 - data[0]
    assert out[0, 0, 0] == data[0]


def test_mono_encodings_and_big_endian_16bit():
    mono = RNG.integers(0, 256, (5, 7), dtype=np.uint8)
    out = colour_to_rgb("mono8", 5, 7, 7, False, mono.tobytes())
    assert (out == mono[..., None]).all()
    mono16 = mono.astype(np.uint16) << 8
    out16 = colour_to_rgb("mono16", 5, 7, 14, True, mono16.astype(">u2").tobytes())
    assert (out16 == mono[..., None]).all()


def test_depth_millimetres_metres_and_invalid_values():
    mm = np.array([[0, 1000], [2500, 65535]], np.uint16)
    np.testing.assert_allclose(depth_to_metres("16UC1", 2, 2, 4, False, mm.tobytes()),
                               [[0, 1.0], [2.5, 65.535]], rtol=1e-6)
    np.testing.assert_allclose(depth_to_metres("16UC1", 2, 2, 4, True, mm.astype(">u2").tobytes()),
                               [[0, 1.0], [2.5, 65.535]], rtol=1e-6)
    metres = np.array([[np.nan, 1.5], [np.inf, -2.0]], np.float32)
    np.testing.assert_array_equal(depth_to_metres("32FC1", 2, 2, 8, False, metres.tobytes()),
                                  [[0, 1.5], [0, 0]])
    assert depth_to_metres("16UC1", 1, 1, 2, False, np.uint16(500).tobytes(), 0.0001)[0, 0] == \
        pytest.approx(0.05)


@pytest.mark.parametrize("call, message", [
    (lambda: colour_to_rgb("yuv422", 2, 2, 4, False, bytes(8)), "unsupported colour encoding 'yuv422'"),
    (lambda: colour_to_rgb("rgb8", 2, 2, 6, False, bytes(5)), "needs 12 bytes, message has 5"),
    (lambda: colour_to_rgb("rgb8", 2, 2, 4, False, bytes(8)), "step 4 < width 2"),
    (lambda: colour_to_rgb("rgb8", 0, 2, 6, False, b""), "size 2x0"),
    (lambda: depth_to_metres("8UC1", 2, 2, 2, False, bytes(4)), "unsupported depth encoding '8UC1'"),
])
def test_bad_images_get_specific_errors(call, message):
    with pytest.raises(InputError, match=message):
        call()
