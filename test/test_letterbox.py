import numpy as np
import pytest

from vis_ros.core.data.errors import InputError
from vis_ros.core.engine.letterbox import PAD_VALUE, Letterbox
from vis_ros.core.engine.preprocess import Preprocessor


@pytest.mark.parametrize("source_hw", [(480, 640), (720, 1280), (1080, 1920), (240, 320), (500, 300)])
@pytest.mark.parametrize("input_hw", [(256, 320), (640, 640), (384, 640)])
def test_box_round_trip_is_exact_to_a_pixel(source_hw, input_hw):
    lb = Letterbox.fit(source_hw, input_hw)
    rng = np.random.default_rng(0)
    h, w = source_hw
    x0, y0 = rng.uniform(0, w / 2, 50), rng.uniform(0, h / 2, 50)
    boxes = np.stack([x0, y0, x0 + rng.uniform(1, w / 2, 50), y0 + rng.uniform(1, h / 2, 50)], 1)
    back = lb.boxes_to_source(lb.boxes_to_input(boxes))
    assert np.abs(back - boxes).max() <= 1.0


def test_image_content_lands_where_boxes_say():
    """A bright square in the source appears at the letterboxed box position (+-1 px)."""
    image = np.zeros((480, 640, 3), np.uint8)
    image[100:200, 300:420] = 255
    lb = Letterbox.fit((480, 640), (256, 320))
    boxed = lb.apply(image)
    expected = lb.boxes_to_input(np.array([[300, 100, 420, 200]], np.float32))[0]
    ys, xs = np.nonzero(boxed[..., 0] > 127)
    assert abs(xs.min() - expected[0]) <= 1 and abs(xs.max() + 1 - expected[2]) <= 1
    assert abs(ys.min() - expected[1]) <= 1 and abs(ys.max() + 1 - expected[3]) <= 1
    assert (boxed[: lb.pad_y] == PAD_VALUE).all()


def test_preprocessor_reuses_its_buffer_and_scales():
    pre = Preprocessor((256, 320))
    a, _ = pre(np.full((480, 640, 3), 255, np.uint8))
    b, lb = pre(np.zeros((480, 640, 3), np.uint8))
    assert a is b
    assert b.shape == (1, 3, 256, 320) and b.dtype == np.float32
    assert b[0, :, lb.pad_y + 1, 5].max() == 0.0
    assert b[0, 0, 0, 0] == pytest.approx(PAD_VALUE / 255)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_preprocessor_input_is_the_training_letterbox_scaled(dtype):
    """Check the inference pre-processing equals the training letterbox.

    Inference must see exactly what training saw (Letterbox.apply / 255), also
    after a source size change and for images with padded rows.
    """
    rng = np.random.default_rng(3)
    pre = Preprocessor((256, 320), dtype)
    for h, w in [(480, 640), (256, 320), (720, 1280), (101, 333), (480, 640)]:
        image = rng.integers(0, 256, (h, w + 3, 3), np.uint8)[:, :w]  # row padding, as in a message
        tensor, lb = pre(image)
        expected = (lb.apply(image).transpose(2, 0, 1) * np.float32(1 / 255)).astype(dtype)
        np.testing.assert_array_equal(tensor[0], expected)


def test_preprocessor_rejects_non_rgb():
    with pytest.raises(InputError, match="uint8 RGB"):
        Preprocessor((256, 320))(np.zeros((480, 640), np.uint8))
