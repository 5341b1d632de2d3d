"""The C kernels (vis_ros/core/native): built, memory-safe on bad calls, and
byte-for-byte the numpy run-length coder. The mask kernel is held to the
numpy decoder and the full-resolution reference in test_decoder.py."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vis_ros.core import native
from vis_ros.core.mask_codec import decode_runs, encode_runs, encode_runs_le_bytes


def test_kernels_are_built_into_the_installed_package():
    # The tests run on the colcon install (pytest.ini); a missing module there
    # means the CMake target broke and the node would fall back to numpy.
    assert native._kernels is not None, "vis_ros.core.native._kernels missing: see CMakeLists.txt"
    assert native.describe() == "C kernels"


@settings(max_examples=300, deadline=None)
@given(arrays(bool, st.tuples(st.integers(0, 30), st.integers(0, 30))), st.booleans())
def test_run_bytes_match_numpy_runs(mask, transposed):
    mask = mask.T if transposed else mask  # a non-contiguous view too
    data = encode_runs_le_bytes(mask)
    runs = encode_runs(mask)
    assert data == runs.astype("<u4").tobytes()
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
    return native.kernels.build_masks(protos, shape, coefs, rois, len(rois), 0.5, -0.25, -0.25, 0.4, out, areas)


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
    return native.kernels.select_detections(raw, raw_shape, 2, 0.25, 0.5, False, max_det,
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
    """A broken engine can emit inf / NaN: the kernels must neither crash nor
    read outside their buffers; what comes out is just empty or partial."""
    protos = np.full((32, 8, 10), np.nan, np.float32)
    areas = np.empty(1, np.int64)
    assert _mask_call(protos=protos, areas=areas) == 320 and areas[0] == 0  # NaN probability: never above
    flow = np.full((60, 80, 2), np.inf, np.float32)
    flow[:30] = np.nan
    moved = native.kernels.warp_masks(flow, (60, 80), 2, (120, 160), np.array([[10, 10, 8, 8], [10, 80, 8, 8]], np.int64),
                                      2, [np.ones((8, 8), bool)] * 2)
    assert [m[2] for m in moved] == [0, 0]  # nothing lands back inside the old masks
