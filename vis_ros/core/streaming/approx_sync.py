"""Approximate-time pairing of several input streams (colour, camera info, depth).

The same contract as message_filters.ApproximateTimeSynchronizer, which the
node uses when it is importable: each input keeps up to `queue_size` recent
messages by stamp; when a message arrives and every other input has one
whose stamp is within `slop` seconds of all the others, that set is emitted
(for each input the message closest to the arriving one), and it and every
older message are dropped from the queues. Dropped unpaired messages are
counted, so nothing disappears silently.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class ApproxTimeSync:
    """Pairs messages of `inputs` streams whose stamps agree within `slop_s`; see the module docstring."""

    def __init__(self, inputs: int, queue_size: int, slop_s: float, callback: Callable[..., None]):
        if inputs < 1 or queue_size < 1 or slop_s < 0:
            raise ValueError(f"need inputs >= 1, queue_size >= 1, slop >= 0; got {inputs}, {queue_size}, {slop_s}")
        self._queues: list[dict[int, Any]] = [{} for _ in range(inputs)]
        self._queue_size = queue_size
        self._slop_ns = int(round(slop_s * 1e9))
        self._callback = callback
        self._lock = threading.Lock()
        self.unpaired_dropped = [0] * inputs

    def add(self, index: int, stamp_ns: int, message: Any) -> None:
        """Queue `message` of input `index`; emit a matched set through the callback if one is complete."""
        with self._lock:
            queue = self._queues[index]
            queue[stamp_ns] = message
            while len(queue) > self._queue_size:
                del queue[min(queue)]
                self.unpaired_dropped[index] += 1
            chosen = self._match(index, stamp_ns)
            if chosen is None:
                return
            messages = []
            for i, stamp in enumerate(chosen):
                q = self._queues[i]
                messages.append(q.pop(stamp))
                for older in [s for s in q if s < stamp]:
                    del q[older]
                    self.unpaired_dropped[i] += 1
        self._callback(*messages)

    def _match(self, index: int, stamp_ns: int) -> list[int] | None:
        chosen = []
        for i, queue in enumerate(self._queues):
            if i == index:
                chosen.append(stamp_ns)
                continue
            if not queue:
                return None
            chosen.append(min(queue, key=lambda s: abs(s - stamp_ns)))
        return chosen if max(chosen) - min(chosen) <= self._slop_ns else None
