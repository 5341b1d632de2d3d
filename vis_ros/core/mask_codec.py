"""Lossless run-length coding of a binary mask local to its box.

Runs alternate background / foreground, row-major, starting with background
(so a mask whose first pixel is set starts with a run of 0). This is the
encoding of `Instance.mask_runs`: compact for the blob-like masks of real
objects, and decoded by one vectorised `np.repeat`.
"""
from __future__ import annotations

import numpy as np


def encode_runs(mask: np.ndarray) -> np.ndarray:
    """Run lengths (uint32) of a 2-D boolean mask, row-major."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    flat = np.ascontiguousarray(mask, dtype=bool).ravel()
    if flat.size == 0:
        return np.zeros(0, dtype=np.uint32)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(edges).astype(np.uint32)
    if flat[0]:
        runs = np.concatenate((np.zeros(1, dtype=np.uint32), runs))
    return runs


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
