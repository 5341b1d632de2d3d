"""Timing summaries: median and p95 in milliseconds."""
from __future__ import annotations

import numpy as np


def summarize_ms(samples_s) -> dict:
    """Summarize samples in seconds as median, p95 and mean milliseconds."""
    ms = np.asarray(samples_s, dtype=np.float64) * 1000.0
    if ms.size == 0:
        return {"median": None, "p95": None, "n": 0}
    return {"median": round(float(np.median(ms)), 4), "p95": round(float(np.percentile(ms, 95)), 4),
            "n": int(ms.size)}
