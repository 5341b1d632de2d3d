"""Health of one camera input: frames received, frames lost in transport, silence.

A camera whose images are partly lost between processes looks, from the
node, like a slow camera; one whose images all vanish looks like no camera.
Two witnesses know better, and both are used where the middleware has them:
- publication sequence numbers (rclpy's MessageInfo): a gap between two
  frames of one publisher is frames sent and never taken, whatever lost them
  (best-effort transport, or a reliable subscription's keep-last history
  overflowing while the node was busy);
- message-lost events (Fast DDS reports best-effort samples that never
  completed), which also see losses no later frame reveals.
Each is a lower bound of the truth, so the count is the larger of the two.
Where the middleware has neither, losses are inferred from gaps in the image
stamps (a gap of k periods of the recent median cadence is k - 1 lost
frames). The report says which witness counted.

The advice differs by cause, and is given only for that cause: loss gets the
transport fix (the camera side's Fast DDS profile, socket buffers across
machines); a publisher whose QoS does not match gets the QoS fix; a matched
publisher that has gone quiet is only reported as silent (a stream that
ended is not a transport problem).
"""
from __future__ import annotations

import collections
import statistics
import threading
from dataclasses import dataclass
from enum import StrEnum

LOSS_FIX = ("Images over 0.5 MB between processes on Fast DDS need larger shared-memory segments on the"
            " camera side: start the camera driver with FASTRTPS_DEFAULT_PROFILES_FILE (Fast DDS 2, Jazzy) and"
            " FASTDDS_DEFAULT_PROFILES_FILE (Fast DDS 3, Kilted) set to <vis_ros share>/config/"
            "fastdds_large_messages.xml (README, 'Large messages over Fast DDS'); from another machine over UDP,"
            " raise the kernel socket buffers (net.core.rmem_max) or use qos_reliability:=reliable.")


class LossSource(StrEnum):
    """How frames lost in transport are counted."""

    SEQUENCE_AND_EVENTS = "publication sequence numbers and middleware message-lost events"
    EVENTS = "middleware message-lost events"
    SEQUENCE = "publication sequence numbers (the middleware reports no lost messages)"
    STAMP_CADENCE = "gaps in image stamps (the middleware gives no sequence numbers or lost events)"


@dataclass(frozen=True)
class InputHealthConfig:
    """Thresholds of the input report.

    Parameters
    ----------
    window_s : the loss rate is measured over this many recent seconds; longer
        smooths bursts but reports a fixed transport later.
    warn_loss_rate : a loss rate above this share of frames is a WARN; 0.02
        tolerates the odd dropped sample of a busy network.
    silent_after_s : a matched publisher that sent nothing this long is reported.
    """

    window_s: float = 5.0
    warn_loss_rate: float = 0.02
    silent_after_s: float = 5.0

    def __post_init__(self) -> None:
        """Refuse windows and rates that mean nothing, naming the value."""
        if self.window_s <= 0 or self.silent_after_s <= 0:
            raise ValueError(f"window_s and silent_after_s must be > 0, got {self.window_s}, {self.silent_after_s}")
        if not 0.0 <= self.warn_loss_rate <= 1.0:
            raise ValueError(f"warn_loss_rate must be in [0, 1], got {self.warn_loss_rate}")


@dataclass(frozen=True)
class InputReport:
    """One input's state for /diagnostics and the log; `problem` is "" while healthy."""

    topic: str
    received: int
    lost: int  # frames lost in transport since configure
    loss_rate: float  # lost / (lost + received) over the window
    source: LossSource
    problem: str


class InputHealth:
    """Counts one topic's frames and losses; `report()` says what, if anything, is wrong."""

    def __init__(self, topic: str, events: bool = True, config: InputHealthConfig = InputHealthConfig()):
        self.topic, self.events, self.config = topic, events, config
        self.received = 0
        self._gap_lost = self._event_lost = self._cadence_lost = 0
        self._sequences = False  # seen a frame with a publication sequence number
        self._last_sequence: dict[bytes, int] = {}
        self._window: collections.deque = collections.deque()  # (time s, received, gap, event, cadence)
        self._last_frame_s: float | None = None
        self._watch_from_s: float | None = None  # since when a publisher is known to be matched
        self._last_stamp_ns: int | None = None
        self._periods: collections.deque = collections.deque(maxlen=30)
        self._lock = threading.Lock()

    @property
    def source(self) -> LossSource:
        """Which witness counts the losses."""
        if self._sequences:
            return LossSource.SEQUENCE_AND_EVENTS if self.events else LossSource.SEQUENCE
        return LossSource.EVENTS if self.events else LossSource.STAMP_CADENCE

    @property
    def lost(self) -> int:
        """Frames lost in transport since configure (the larger witness)."""
        return max(self._gap_lost, self._event_lost) + self._cadence_lost

    def use(self, topic: str, events: bool) -> None:
        """Name the topic and whether the middleware reports lost messages (known once subscribed)."""
        with self._lock:
            self.topic, self.events = topic, events
            self._last_stamp_ns, self._watch_from_s = None, None
            self._last_sequence.clear()
            self._periods.clear()

    def on_received(self, now_s: float, stamp_ns: int, publisher: bytes | None = None,
                    sequence: int | None = None) -> None:
        """Count a frame that arrived (with its publisher and publication sequence number, if known)."""
        with self._lock:
            self.received += 1
            self._last_frame_s = now_s
            if self._watch_from_s is None:  # a frame means a publisher is matched
                self._watch_from_s = now_s
            gap = cadence = 0
            if sequence:
                self._sequences = True
                gap = self._sequence_gap(publisher, sequence)
            elif not self.events and not self._sequences:
                cadence = self._gap_frames(stamp_ns)
            self._gap_lost += gap
            self._cadence_lost += cadence
            self._window.append((now_s, 1, gap, 0, cadence))
            self._forget(now_s)

    def on_lost(self, now_s: float, count: int) -> None:
        """Count frames the middleware reports lost (message_lost's total_count_change)."""
        if count <= 0:
            return
        with self._lock:
            self._event_lost += count
            self._window.append((now_s, 0, 0, count, 0))
            self._forget(now_s)

    def report(self, now_s: float, matched: int, unmatched: int) -> InputReport:
        """State at `now_s`, given the publishers matched and those seen but not matched."""
        with self._lock:
            self._forget(now_s)
            got = sum(e[1] for e in self._window)
            lost = max(sum(e[2] for e in self._window), sum(e[3] for e in self._window))
            lost += sum(e[4] for e in self._window)
            rate = lost / (got + lost) if got + lost else 0.0
            problem = self._problem(now_s, rate, got, lost, matched, unmatched)
            return InputReport(self.topic, self.received, self.lost, rate, self.source, problem)

    def _problem(self, now_s, rate, got, lost, matched, unmatched) -> str:
        window = self.config.window_s
        if lost and rate > self.config.warn_loss_rate:
            return (f"losing {rate:.0%} of images in transport on {self.topic} ({lost} of {got + lost} in the"
                    f" last {window:.0f} s, counted from {self.source}). {LOSS_FIX}")
        if unmatched and not matched:
            return (f"{unmatched} publisher(s) on {self.topic} not matched (incompatible QoS or type): no images"
                    " arrive. Match qos_reliability to the camera driver (best_effort for most drivers).")
        if not matched:  # nothing to watch; a publisher that appears later is watched from then
            self._watch_from_s = None
            return ""
        if self._watch_from_s is None:
            self._watch_from_s = now_s
        silent = now_s - max(self._watch_from_s, self._last_frame_s if self._last_frame_s is not None else -1e18)
        if silent < self.config.silent_after_s:
            return ""
        return (f"{matched} publisher(s) matched on {self.topic} but no image for {silent:.0f} s"
                " (the camera stopped streaming, or every image is lost on the way)")

    def _forget(self, now_s: float) -> None:
        while self._window and now_s - self._window[0][0] > self.config.window_s:
            self._window.popleft()

    def _sequence_gap(self, publisher: bytes | None, sequence: int) -> int:
        """Frames of this publisher skipped since its last one (0 after a restart: it counts anew)."""
        previous = self._last_sequence.get(publisher)
        self._last_sequence[publisher] = sequence
        return sequence - previous - 1 if previous is not None and sequence > previous else 0

    def _gap_frames(self, stamp_ns: int) -> int:
        """Frames missing between this stamp and the previous one, at the recent cadence."""
        previous, self._last_stamp_ns = self._last_stamp_ns, stamp_ns
        if previous is None or stamp_ns <= previous or stamp_ns == 0:
            return 0
        gap = stamp_ns - previous
        period = statistics.median(self._periods) if len(self._periods) >= 5 else None
        if period is None or gap < 1.5 * period:
            self._periods.append(gap)
            return 0
        return max(round(gap / period) - 1, 0)
