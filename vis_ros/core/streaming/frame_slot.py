"""Hand-over of camera frames from callbacks to the processing worker.

Callbacks must never wait for inference. The slot holds only the newest
frame: putting a frame while an older one is still waiting replaces it and
counts the older one as dropped (stale). The worker takes the newest frame
when it is free. So the queue between camera and engine is bounded at one,
and every frame is either processed or counted.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class SlotCounters:
    """What passed through the slot: received = taken + dropped_stale (+ one still waiting)."""

    received: int = 0
    taken: int = 0
    dropped_stale: int = 0


class LatestFrameSlot:
    """A one-frame hand-over from callbacks to one worker thread; newest frame wins."""

    def __init__(self, condition: threading.Condition | None = None):
        self._cond = condition if condition is not None else threading.Condition()
        self._item: Any = None
        self._closed = False
        self.counters = SlotCounters()

    def put(self, item: Any) -> bool:
        """Offer a frame; returns True if it replaced an unprocessed (now dropped) one."""
        with self._cond:
            self.counters.received += 1
            replaced = self._item is not None
            if replaced:
                self.counters.dropped_stale += 1
            self._item = item
            self._cond.notify_all()
            return replaced

    @property
    def waiting(self) -> bool:
        """Whether a frame is waiting to be taken (call with the condition held, or for a glance)."""
        return self._item is not None

    def take(self, timeout: float | None = None) -> Any:
        """Take the newest frame, waiting up to `timeout` s; None on timeout or when closed."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._item is not None or self._closed, timeout):
                return None
            item, self._item = self._item, None
            if item is not None:
                self.counters.taken += 1
            return item

    def close(self) -> None:
        """Wake the worker for shutdown; a frame still waiting counts as dropped."""
        with self._cond:
            if self._item is not None:
                self.counters.dropped_stale += 1
                self._item = None
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        """Accept frames again after close() (the next activate)."""
        with self._cond:
            self._closed = False
