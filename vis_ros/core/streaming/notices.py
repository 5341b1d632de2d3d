"""Log lines that never flood: said once, or at most once per period for each key.

A condition that holds for every frame is news once (`once`); one that comes
and goes is said again after a quiet period (`warning`, `error`). The period
runs per key, so a bad camera never silences the same message about another
one: keys name the camera ("3d_skipped:front"). rclpy's own throttling is
per call site, which is exactly what merges cameras, so the node passes its
plain logger here. Works with any logger that has `warning` and `error`
(rclpy's, or Python's logging), so offline tools log the same lines.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

WARNING_PERIOD_S = 5.0
ERROR_PERIOD_S = 2.0


class Notices:
    """Throttled and once-only log lines by key; see the module docstring."""

    def __init__(self, logger, clock: Callable[[], float] = time.monotonic):
        self._logger, self._clock = logger, clock
        self._last_s: dict[str, float] = {}
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def once(self, text: str, key: str | None = None) -> None:
        """Warn with `text` unless `key` (or `text`) was warned about before."""
        key = text if key is None else key
        with self._lock:
            if key in self._said:
                return
            self._said.add(key)
        self._logger.warning(text)

    def warning(self, text: str, key: str, period_s: float = WARNING_PERIOD_S) -> None:
        """Warn with `text` unless `key` was said within the last `period_s` seconds."""
        if self._due(key, period_s):
            self._logger.warning(text)

    def error(self, text: str, key: str, period_s: float = ERROR_PERIOD_S) -> None:
        """Log `text` as an error unless `key` was said within the last `period_s` seconds."""
        if self._due(key, period_s):
            self._logger.error(text)

    def _due(self, key: str, period_s: float) -> bool:
        now = self._clock()
        with self._lock:
            last = self._last_s.get(key)
            if last is not None and now - last < period_s:
                return False
            self._last_s[key] = now
            return True
