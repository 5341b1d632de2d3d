"""InputHealth: transport losses counted and named, advice given only for its cause."""
from __future__ import annotations

import pytest

from vis_ros.core.streaming.input_health import LOSS_FIX, InputHealth, InputHealthConfig, LossSource

PERIOD_NS = 33_333_333


def _stream(health, start_s, frames, lost_every=0, events=True, sequences=False, stamp0=1_000 * PERIOD_NS):
    """Deliver `frames` frames at 30 Hz from start_s; with lost_every k, every k-th is lost instead.

    A lost frame is reported by a message-lost event with `events`; with
    `sequences`, frames carry their publication sequence number.
    """
    for i in range(frames):
        now = start_s + i / 30.0
        sequence = round(now * 30) + 1
        if lost_every and i % lost_every == 0:
            if events:
                health.on_lost(now, 1)
            continue
        health.on_received(now, stamp0 + round(now * 30) * PERIOD_NS, *((b"cam", sequence) if sequences else ()))
    return start_s + frames / 30.0


def test_middleware_losses_are_counted_rated_and_given_the_transport_fix():
    health = InputHealth("/image", events=True)
    end = _stream(health, 0.0, 150, lost_every=2)  # half of them lost
    report = health.report(end, matched=1, unmatched=0)
    assert report.lost == 75 and report.received == 75 and report.source is LossSource.EVENTS
    assert report.loss_rate == pytest.approx(0.5, abs=0.02)
    assert report.problem.startswith("losing 50% of images in transport on /image")
    assert "middleware message-lost events" in report.problem and LOSS_FIX in report.problem


def test_sequence_gaps_and_lost_events_witness_the_same_losses_once():
    health = InputHealth("/image", events=True)
    end = _stream(health, 0.0, 150, lost_every=3, sequences=True)
    report = health.report(end, 1, 0)
    assert report.lost == 50 and report.source is LossSource.SEQUENCE_AND_EVENTS  # not 100


def test_sequence_gaps_count_losses_no_event_reports():
    """A reliable subscription's keep-last history that overflows loses frames silently."""
    health = InputHealth("/image", events=True)
    end = _stream(health, 0.0, 90, lost_every=10, events=False, sequences=True)
    report = health.report(end, 1, 0)
    # 9 lost; the first of them came before any frame, so no gap shows it.
    assert report.lost == 8 and "publication sequence numbers" in report.problem


def test_a_restarted_publisher_is_not_counted_as_a_loss():
    health = InputHealth("/image", events=False)
    for sequence in (1, 2, 3, 4, 1, 2, 3):  # the camera driver restarted: its numbers start again
        health.on_received(sequence / 30.0, sequence * PERIOD_NS, b"cam", sequence)
    assert health.lost == 0


def test_the_warning_clears_once_the_transport_is_fixed_but_the_count_stays():
    health = InputHealth("/image", config=InputHealthConfig(window_s=2.0))
    end = _stream(health, 0.0, 60, lost_every=3)
    assert health.report(end, 1, 0).problem
    end = _stream(health, end, 90)  # 3 s without loss: the 2 s window forgets it
    report = health.report(end, 1, 0)
    assert report.problem == "" and report.loss_rate == 0.0 and report.lost == 20


def test_without_sequence_numbers_or_events_losses_are_inferred_from_stamp_gaps():
    health = InputHealth("/image", events=False)
    end = _stream(health, 0.0, 30, events=False)  # a steady cadence first
    end = _stream(health, end, 120, lost_every=4, events=False)  # then every 4th frame never arrives
    report = health.report(end, 1, 0)
    assert report.lost == pytest.approx(30, abs=2)
    assert "gaps in image stamps" in report.problem and LOSS_FIX in report.problem


def test_a_stream_that_ends_is_silence_not_a_transport_problem():
    health = InputHealth("/image", config=InputHealthConfig(silent_after_s=2.0))
    end = _stream(health, 0.0, 30)
    assert health.report(end + 1.0, 1, 0).problem == ""
    problem = health.report(end + 3.0, 1, 0).problem
    assert problem.startswith("1 publisher(s) matched on /image but no image for 3 s")
    assert "FASTDDS" not in problem and "socket" not in problem


def test_an_unmatched_publisher_gets_the_qos_fix_not_the_transport_fix():
    health = InputHealth("/image")
    problem = health.report(10.0, matched=0, unmatched=1).problem
    assert "not matched (incompatible QoS or type)" in problem and "qos_reliability" in problem
    assert "FASTDDS" not in problem


def test_no_publisher_is_no_problem_and_silence_is_watched_from_when_one_appears():
    health = InputHealth("/image", config=InputHealthConfig(silent_after_s=2.0))
    assert health.report(0.0, 0, 0).problem == ""
    assert health.report(100.0, 0, 0).problem == ""
    assert health.report(101.0, 1, 0).problem == ""  # matched just now
    assert "no image for 2 s" in health.report(103.0, 1, 0).problem


@pytest.mark.parametrize("kwargs, message", [({"window_s": 0}, "window_s"), ({"warn_loss_rate": 2}, "warn_loss")])
def test_config_rejects_values_that_mean_nothing(kwargs, message):
    with pytest.raises(ValueError, match=message):
        InputHealthConfig(**kwargs)
