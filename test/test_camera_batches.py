"""Which cameras share an engine call: ready ones, at most max_batch, waiting only for cameras due soon."""
from __future__ import annotations

import threading
import time

import pytest

from vis_ros.core.streaming.camera_batches import BatchGate


def _cameras(batch):
    return [camera for camera, _ in batch]


def test_one_camera_is_taken_at_once_whatever_the_wait():
    gate = BatchGate(1, max_batch=4, wait_s=1.0)
    gate.put(0, "a")
    started = time.monotonic()
    assert gate.take(timeout=1.0) == [(0, "a")]
    assert time.monotonic() - started < 0.1


def test_cameras_with_frames_waiting_share_the_call_and_the_newest_frame_wins():
    gate = BatchGate(3, max_batch=4, wait_s=0.0)
    gate.put(0, "a1")
    gate.put(2, "c1")
    gate.put(0, "a2")  # replaces a1: dropped stale
    assert gate.take(timeout=1.0) == [(0, "a2"), (2, "c1")]
    assert gate.slots[0].counters.dropped_stale == 1 and gate.slots[1].counters.received == 0


def _steady(gate, camera, period_s, count=5, start_s=0.0):
    """Give a camera a history of frames every `period_s`, ending now, and empty its slot."""
    now = time.monotonic()
    for k in range(count):
        gate.put(camera, f"old{k}", now_s=now - (count - 1 - k) * period_s + start_s)
    gate.slots[camera].take(timeout=0)


def test_a_camera_due_within_the_wait_is_waited_for():
    gate = BatchGate(2, max_batch=4, wait_s=0.2)
    _steady(gate, 1, period_s=0.05)  # its next frame is due in 50 ms
    gate.put(0, "a")
    threading.Timer(0.05, gate.put, (1, "b")).start()
    started = time.monotonic()
    batch = gate.take(timeout=1.0)
    assert _cameras(batch) == [0, 1] and time.monotonic() - started < 0.2


@pytest.mark.parametrize("history", ["silent", "slow"])
def test_a_silent_or_slow_camera_does_not_hold_the_others_back(history):
    gate = BatchGate(2, max_batch=4, wait_s=0.3)
    if history == "slow":
        _steady(gate, 1, period_s=2.0)  # 0.5 Hz: next frame far beyond the wait
    else:
        _steady(gate, 1, period_s=0.01, start_s=-5.0)  # was 100 Hz, silent for 5 s
    gate.put(0, "a")
    started = time.monotonic()
    assert gate.take(timeout=1.0) == [(0, "a")]
    assert time.monotonic() - started < 0.05


def test_a_late_camera_delays_a_batch_by_the_wait_at_most():
    gate = BatchGate(2, max_batch=4, wait_s=0.1)
    _steady(gate, 1, period_s=0.02)  # due, but never comes
    gate.put(0, "a")
    started = time.monotonic()
    assert gate.take(timeout=1.0) == [(0, "a")]
    assert time.monotonic() - started < 0.1 + 0.05


def test_more_ready_cameras_than_max_batch_are_served_in_turn():
    gate = BatchGate(3, max_batch=2, wait_s=0.0)
    served = []
    for round_ in range(6):
        for camera in range(3):
            gate.put(camera, (round_, camera))
        served += _cameras(gate.take(timeout=1.0))
    assert [served.count(c) for c in range(3)] == [4, 4, 4]  # nobody starves


def test_close_wakes_a_waiting_take_and_reopen_accepts_frames_again():
    gate = BatchGate(2)
    threading.Timer(0.05, gate.close).start()
    assert gate.take(timeout=2.0) == []
    gate.reopen()
    gate.put(1, "b")
    assert gate.take(timeout=1.0) == [(1, "b")]


@pytest.mark.parametrize("cameras, max_batch, wait_s, message", [
    (0, 1, 0.0, "at least one camera, got 0"), (1, 0, 0.0, "max_batch must be >= 1, got 0"),
    (1, 1, -1.0, "batch wait must be >= 0 s, got -1.0")])
def test_bad_gate_settings_are_refused_by_name(cameras, max_batch, wait_s, message):
    with pytest.raises(ValueError, match=message):
        BatchGate(cameras, max_batch, wait_s)
