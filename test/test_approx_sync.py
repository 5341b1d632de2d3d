import pytest

from vis_ros.core.streaming.approx_sync import ApproxTimeSync

MS = 1_000_000


def _sync(inputs=3, slop=0.01, queue=5):
    out = []
    return ApproxTimeSync(inputs, queue, slop, lambda *m: out.append(m)), out


def test_pairs_messages_within_slop_in_any_arrival_order():
    sync, out = _sync()
    sync.add(0, 100 * MS, "rgb@100")
    sync.add(2, 104 * MS, "depth@104")
    assert out == []
    sync.add(1, 98 * MS, "info@98")
    assert out == [("rgb@100", "info@98", "depth@104")]


def test_messages_too_far_apart_are_not_paired_and_old_ones_are_counted():
    sync, out = _sync(inputs=2, slop=0.005)
    sync.add(0, 100 * MS, "a100")
    sync.add(1, 120 * MS, "b120")
    assert out == []
    sync.add(0, 133 * MS, "a133")
    sync.add(1, 134 * MS, "b134")
    assert out == [("a133", "b134")]
    assert sync.unpaired_dropped == [1, 1]  # a100 and b120 were older than the emitted set


def test_queue_size_bounds_memory():
    sync, out = _sync(inputs=2, queue=3)
    for i in range(10):
        sync.add(0, i * 100 * MS, i)
    assert out == [] and sync.unpaired_dropped[0] == 7


def test_closest_candidate_is_chosen():
    sync, out = _sync(inputs=2, slop=0.02)
    sync.add(1, 95 * MS, "far")
    sync.add(1, 101 * MS, "near")
    sync.add(0, 100 * MS, "rgb")
    assert out == [("rgb", "near")]


def test_rejects_bad_settings():
    with pytest.raises(ValueError, match="slop >= 0"):
        ApproxTimeSync(2, 5, -1.0, print)
