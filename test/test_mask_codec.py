import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vis_ros.core.codecs.mask_runs import decode_runs, encode_runs


@settings(max_examples=200, deadline=None)
@given(arrays(bool, st.tuples(st.integers(0, 40), st.integers(0, 40))))
def test_round_trip_is_exact(mask):
    runs = encode_runs(mask)
    assert runs.dtype == np.uint32
    assert int(runs.sum()) == mask.size
    np.testing.assert_array_equal(decode_runs(runs, *mask.shape), mask)


@pytest.mark.parametrize(
    "mask, expected",
    [
        (np.zeros((2, 3), bool), [6]),
        (np.ones((2, 3), bool), [0, 6]),
        (np.array([[1, 0], [0, 1]], bool), [0, 1, 2, 1]),
        (np.array([[0, 0], [1, 1]], bool), [2, 2]),
        (np.zeros((0, 5), bool), []),
    ],
)
def test_runs_start_with_background(mask, expected):
    assert encode_runs(mask).tolist() == expected


def test_decode_rejects_runs_that_do_not_cover_the_box():
    with pytest.raises(ValueError, match="cover 5 pixels but the box is 2x3"):
        decode_runs(np.array([2, 3], np.uint32), 2, 3)


def test_encode_rejects_non_2d():
    with pytest.raises(ValueError, match="2-D"):
        encode_runs(np.zeros((2, 2, 2), bool))
