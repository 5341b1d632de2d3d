"""Rolling percentiles and rates for diagnostics (bounded memory)."""
from __future__ import annotations

import collections
import threading
import time

import numpy as np


class RollingStats:
    """Last `window` samples of named quantities (e.g. stage latencies in seconds)."""

    def __init__(self, window: int = 300):
        self._window = window
        self._values: dict[str, collections.deque] = {}
        self._lock = threading.Lock()

    def add(self, name: str, value: float) -> None:
        """Record one sample; the oldest beyond the window is forgotten."""
        with self._lock:
            self._values.setdefault(name, collections.deque(maxlen=self._window)).append(float(value))

    def percentiles(self, name: str, qs=(50, 95)) -> tuple[float, ...] | None:
        """Return the percentiles `qs` of the window, or None before the first sample."""
        with self._lock:
            values = list(self._values.get(name, ()))
        if not values:
            return None
        return tuple(float(v) for v in np.percentile(values, qs))

    def names(self) -> list[str]:
        """Names recorded so far, sorted."""
        with self._lock:
            return sorted(self._values)


class RateMeter:
    """Events per second over a sliding time window.

    Events older than the window are forgotten as new ones come, not only
    when the rate is read: process-bag never reads it, and a deque of every
    frame's time grew by 40 bytes a frame (35 MB over an 8-hour bag at 30 Hz).
    """

    def __init__(self, window_s: float = 5.0):
        self._window = window_s
        self._times: collections.deque = collections.deque()
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        """Count one event at `now` (monotonic seconds; default: the current time)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._times.append(now)
            self._forget_before(now)

    def rate(self, now: float | None = None) -> float:
        """Return events per second over the window ending at `now`."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._forget_before(now)
            return len(self._times) / self._window

    def _forget_before(self, now: float) -> None:
        while self._times and now - self._times[0] > self._window:
            self._times.popleft()
