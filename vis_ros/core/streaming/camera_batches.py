"""Which cameras' frames share an engine call: one newest-frame slot per camera, one gate.

The multi-camera worker takes a batch when at least one camera has a frame:
every camera with a frame waiting, at most `max_batch`. It waits up to
`wait_s` for more, but only for cameras expected within that window (their
next frame, from their own frame period, falls before it): a silent camera,
or a 5 Hz one beside a 60 Hz one, is not waited for, so it never delays the
others. When more cameras are ready than `max_batch`, they are served in
turn (round robin): every camera is served under overload, none starves.
Each slot keeps only its camera's newest frame (a newer one replaces it and
counts it as dropped stale), so the queue per camera stays bounded at one.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from vis_ros.core.streaming.frame_slot import LatestFrameSlot

PERIOD_SMOOTHING = 0.2  # weight of the newest inter-frame gap in a camera's period estimate
SILENT_PERIODS = 2.0  # a camera this many periods overdue is not waited for


class _Arrivals:
    """When a camera's last frame came and its smoothed frame period."""

    def __init__(self):
        self.last_s: float | None = None
        self.period_s: float | None = None

    def tick(self, now_s: float) -> None:
        if self.last_s is not None:
            gap = now_s - self.last_s
            self.period_s = gap if self.period_s is None else \
                (1 - PERIOD_SMOOTHING) * self.period_s + PERIOD_SMOOTHING * gap
        self.last_s = now_s

    def expected_by(self, now_s: float, deadline_s: float) -> bool:
        if self.last_s is None or self.period_s is None:
            return False
        return self.last_s + self.period_s <= deadline_s and now_s - self.last_s < SILENT_PERIODS * self.period_s


class BatchGate:
    """Per-camera newest-frame slots and the rule for batching them; see the module docstring."""

    def __init__(self, cameras: int, max_batch: int = 4, wait_s: float = 0.005):
        if cameras < 1:
            raise ValueError(f"a gate needs at least one camera, got {cameras}")
        self._cond = threading.Condition()
        self.slots = [LatestFrameSlot(self._cond) for _ in range(cameras)]
        self._arrivals = [_Arrivals() for _ in range(cameras)]
        self._next = 0  # the camera first in line when more are ready than fit in a batch
        self._closed = False
        self._woken = False  # wake() was called: take() returns (empty if no frame waits)
        self.configure(max_batch, wait_s)

    def configure(self, max_batch: int, wait_s: float) -> None:
        """Set the batch limit and the wait for more cameras (run-time changes apply to the next batch)."""
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if wait_s < 0:
            raise ValueError(f"batch wait must be >= 0 s, got {wait_s}")
        self.max_batch, self.wait_s = max_batch, wait_s

    def put(self, camera: int, item: Any, now_s: float | None = None) -> bool:
        """Offer a camera's frame; True if it replaced one still waiting (now dropped stale)."""
        with self._cond:
            self._arrivals[camera].tick(time.monotonic() if now_s is None else now_s)
            return self.slots[camera].put(item)

    def take(self, timeout: float | None = None) -> list[tuple[int, Any]]:
        """Return (camera, frame) pairs for one engine call; empty on timeout or when closed."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._closed or self._woken or any(s.waiting for s in self.slots),
                                       timeout):
                return []
            self._woken = False
            if not any(s.waiting for s in self.slots):
                return []
            deadline = time.monotonic() + self.wait_s
            while not self._closed:
                ready = [i for i, s in enumerate(self.slots) if s.waiting]
                if len(ready) >= min(self.max_batch, len(self.slots)):
                    break
                now = time.monotonic()
                coming = [i for i, a in enumerate(self._arrivals)
                          if not self.slots[i].waiting and a.expected_by(now, deadline)]
                if now >= deadline or not coming:
                    break
                self._cond.wait(deadline - now)
            if self._closed:
                return []
            count = len(self.slots)
            order = [(self._next + k) % count for k in range(count)]
            chosen = [i for i in order if self.slots[i].waiting][:self.max_batch]
            self._next = (chosen[-1] + 1) % count
            return [(i, self.slots[i].take(timeout=0)) for i in chosen]

    def wake(self) -> None:
        """Make a waiting take() return now, with whatever is ready (depth arrived for a frame waiting on it)."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def close(self) -> None:
        """Wake the worker for shutdown; frames still waiting count as dropped."""
        with self._cond:
            self._closed = True
            for slot in self.slots:
                slot.close()

    def reopen(self) -> None:
        """Accept frames again after close() (the next activate)."""
        with self._cond:
            self._closed = False
            for slot in self.slots:
                slot.reopen()
