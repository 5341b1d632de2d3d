"""The connected-but-silent camera warning."""
from vis_ros.core.input_watch import InputWatch


def test_warns_only_while_publishers_are_matched_and_nothing_arrives():
    watch = InputWatch(stall_after_s=5.0)
    assert watch.check(0.0, 0, 1, "/cam/image_raw") is None  # just matched
    assert watch.check(4.0, 0, 1, "/cam/image_raw") is None
    message = watch.check(6.0, 0, 1, "/cam/image_raw")
    assert message and "/cam/image_raw" in message and "fastdds_large_messages.xml" in message
    assert watch.check(7.0, 3, 1, "/cam/image_raw") is None  # frames flow again
    assert watch.check(11.0, 3, 1, "/cam/image_raw") is None
    assert watch.check(12.5, 3, 1, "/cam/image_raw") is not None  # stalled again
    assert watch.check(20.0, 3, 0, "/cam/image_raw") is None  # no camera at all: not this problem
    assert watch.check(24.0, 3, 1, "/cam/image_raw") is None  # the clock restarts when one appears
