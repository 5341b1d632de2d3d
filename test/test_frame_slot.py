import threading

from vis_ros.core.streaming.frame_slot import LatestFrameSlot
from vis_ros.core.streaming.rolling_stats import RateMeter, RollingStats


def test_newest_frame_wins_and_stale_ones_are_counted():
    slot = LatestFrameSlot()
    for i in range(5):
        slot.put(i)
    assert slot.take(0.1) == 4
    assert slot.take(0.01) is None
    c = slot.counters
    assert (c.received, c.taken, c.dropped_stale) == (5, 1, 4)
    assert c.received == c.taken + c.dropped_stale  # nothing lost silently


def test_worker_under_overload_keeps_the_queue_bounded():
    slot = LatestFrameSlot()
    processed = []

    def worker():
        while (item := slot.take(1.0)) is not None:
            processed.append(item)
            threading.Event().wait(0.005)  # slower than the producer

    t = threading.Thread(target=worker)
    t.start()
    for i in range(300):
        slot.put(i)
    slot.close()
    t.join(5)
    c = slot.counters
    assert c.received == 300 and c.taken == len(processed)
    assert c.taken + c.dropped_stale == 300 and c.dropped_stale > 0
    assert processed == sorted(processed)


def test_rolling_stats_and_rate():
    stats = RollingStats(window=3)
    for v in (1, 2, 3, 100):
        stats.add("x", v)
    assert stats.percentiles("x", (50,)) == (3.0,)
    assert stats.percentiles("missing") is None
    meter = RateMeter(window_s=2.0)
    for t in (0.0, 0.5, 1.0, 1.5):
        meter.tick(t)
    assert meter.rate(1.9) == 2.0
    assert meter.rate(3.2) == 0.5


def test_rate_meter_memory_is_bounded_without_reads():
    """process-bag ticks every frame and never reads the rate: old ticks must still be forgotten."""
    meter = RateMeter(window_s=1.0)
    for frame in range(10_000):
        meter.tick(frame / 30.0)
    assert len(meter._times) <= 31
    assert meter.rate(10_000 / 30.0) == 30.0
