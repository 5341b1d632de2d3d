"""Lossless run-length coding of a binary mask local to its box.

Runs alternate background / foreground, row-major, starting with background
(so a mask whose first pixel is set starts with a run of 0). This is the
encoding of `Instance.mask_runs`: compact for the blob-like masks of real
objects, and decoded by one vectorised `np.repeat`.
"""
from __future__ import annotations

import numpy as np

from vis_ros.core import native


def encode_runs(mask: np.ndarray) -> np.ndarray:
    """Run lengths (uint32) of a 2-D boolean mask, row-major.

    Runs are the gaps between consecutive run ends, written straight into the
    result (after an empty first run when the mask starts with foreground):
    the node encodes every instance of every frame, so each numpy call saved
    here is saved per instance.
    """
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    flat = mask.reshape(-1)
    if flat.dtype != bool:
        flat = flat.astype(bool)
    if flat.size == 0:
        return np.zeros(0, dtype=np.uint32)
    ends = (flat[1:] != flat[:-1]).nonzero()[0]  # last index of each run but the final one
    lead = int(flat[0])
    edges = np.empty(ends.size + 2, np.int64)
    edges[0], edges[1:-1], edges[-1] = -1, ends, flat.size - 1
    runs = np.empty(ends.size + 1 + lead, np.uint32)
    runs[0] = 0
    np.subtract(edges[1:], edges[:-1], out=runs[lead:], casting="unsafe")
    return runs


def encode_runs_le_bytes(mask: np.ndarray) -> bytes:
    """Encode a mask's runs as the message's little-endian uint32 bytes.

    encode_runs as little-endian uint32 bytes: the message's wire form, in
    one C call per mask where the kernels are built (core/native).
    """
    if native.kernels is not None and mask.ndim == 2 and mask.dtype == bool:
        return native.kernels.encode_runs(mask if mask.flags.c_contiguous else np.ascontiguousarray(mask))
    return encode_runs(mask).astype("<u4", copy=False).tobytes()


def decode_runs(runs: np.ndarray, height: int, width: int) -> np.ndarray:
    """Boolean (height, width) mask from run lengths; raises if they do not fit."""
    runs = np.asarray(runs)
    total = int(runs.sum(dtype=np.int64)) if runs.size else 0
    if total != height * width:
        raise ValueError(
            f"mask runs cover {total} pixels but the box is {height}x{width}"
            f" = {height * width}"
        )
    values = (np.arange(runs.size, dtype=np.uint8) & 1).view(bool)
    return np.repeat(values, runs).reshape(height, width)
