"""The stream runner, the one per-frame path of the node, process-bag and the evaluation.

Real engine (the embedded model), real frames from the simulator; the
runner's failure policy is checked frame by frame: a bad frame is counted
and named on its camera only, a failing engine call is retried frame by
frame, stamps going back reset that camera's tracking, and 3D follows depth.
"""
from __future__ import annotations

import numpy as np
import pytest

from vis_ros.core.config.factories import build_runner, build_segmenter
from vis_ros.core.config.settings import node_defaults
from vis_ros.core.pipeline.offline import CollectingSink, frame_in
from vis_ros.core.pipeline.results import Arrival, FrameIn
from vis_ros.core.sim.scene import SimOptions
from vis_ros.core.sim.sequence import generate_sequence
from vis_ros.core.streaming.depth_pairing import DepthPairing, DepthSample
from vis_ros.core.streaming.notices import Notices

SETTINGS = node_defaults()


class _Log:
    def __init__(self):
        self.lines = []

    def warning(self, text):
        self.lines.append(("warning", text))

    def error(self, text):
        self.lines.append(("error", text))


@pytest.fixture(scope="module")
def segmenter():
    return build_segmenter(SETTINGS)


@pytest.fixture(scope="module")
def frames():
    camera, it = generate_sequence(4_000_001, 8, SimOptions(objects=5, object_speed=0.1))
    return camera, list(it)


def _runner(segmenter, settings=SETTINGS, cameras=("front", "left"), depth=None):
    log = _Log()
    return build_runner(settings, segmenter, Notices(log), cameras=list(cameras), depth=depth), log


def test_a_bad_frame_is_counted_and_named_on_its_camera_only(segmenter, frames):
    _, sim = frames
    runner, log = _runner(segmenter)
    sink = CollectingSink()

    def broken():
        raise ValueError("unsupported colour encoding 'yuv422'")

    runner.run_batch([FrameIn(0, Arrival(sim[0].stamp_ns, sim[0].stamp_ns), "f", broken),
                      frame_in(1, sim[0].rgb, sim[0].stamp_ns, "l")], sink)
    front, left = (runner.report(camera.index) for camera in runner.cameras)
    assert (front.counts.frames_invalid, front.counts.frames_processed) == (1, 0)
    assert (left.counts.frames_invalid, left.counts.frames_processed) == (0, 1)
    assert "yuv422" in front.last_error and not left.last_error
    assert [r.camera.name for r in sink.results_2d] == ["left"]
    assert log.lines == [("error", "frame rejected on front: ValueError: unsupported colour encoding 'yuv422'")]


def test_when_the_shared_engine_call_fails_only_the_frame_that_caused_it_is_rejected(segmenter, frames):
    _, sim = frames
    runner, _ = _runner(segmenter)
    sink = CollectingSink()
    four_channels = np.zeros((480, 640, 4), np.uint8)  # decodes, but the engine refuses it
    runner.run_batch([frame_in(0, four_channels, sim[0].stamp_ns, "f"), frame_in(1, sim[0].rgb, sim[0].stamp_ns, "l")],
                     sink)
    front, left = (runner.report(camera.index) for camera in runner.cameras)
    assert front.counts.frames_invalid == 1 and "expected an (H, W, 3) uint8 RGB image" in front.last_error
    assert left.counts.frames_processed == 1 and sink.results_2d[0].frame.stamp_ns == sim[0].stamp_ns


def test_stamps_going_back_reset_that_camera_and_processing_goes_on(segmenter, frames):
    _, sim = frames
    runner, log = _runner(segmenter, cameras=[""])
    sink = CollectingSink()
    for f in sim[:5] + sim[:3]:  # a bag loop: the stamps jump back
        runner.run_batch([frame_in(0, f.rgb, f.stamp_ns, "cam")], sink)
    report = runner.report(0)
    assert report.counts.frames_processed == 8 and report.counts.pipeline_resets == 1
    before = {i.track_id for r in sink.results_2d[:5] for i in r.frame.instances}
    after = {i.track_id for r in sink.results_2d[5:] for i in r.frame.instances}
    assert before and after and not before & after  # new tracks (ids keep counting)
    assert ("warning", "image stamps went backwards (bag loop or clock reset): tracks reset") in log.lines


def test_frames_of_several_cameras_share_one_engine_call(segmenter, frames):
    _, sim = frames
    runner, _ = _runner(segmenter)
    runner.run_batch([frame_in(0, sim[0].rgb, sim[0].stamp_ns), frame_in(1, sim[1].rgb, sim[1].stamp_ns)],
                     CollectingSink())
    assert runner.engine_report().calls_by_batch == {2: 1}


def _depth_sample(frame, camera, stamp_ns):
    class Header:
        def __init__(self, ns):
            self.stamp = type("Stamp", (), {"sec": ns // 10**9, "nanosec": ns % 10**9})()

    depth = frame.depth_mm
    depth_msg = type("Depth", (), {"header": Header(stamp_ns), "encoding": "16UC1", "height": depth.shape[0],
                                   "width": depth.shape[1], "step": depth.strides[0], "is_bigendian": 0,
                                   "data": depth.tobytes()})()
    info = type("Info", (), {"k": [camera.fx, 0, camera.cx, 0, camera.fy, camera.cy, 0, 0, 1], "width": camera.width,
                             "height": camera.height, "distortion_model": "plumb_bob", "d": [0.0] * 5})()
    return DepthSample.of(depth_msg, info)


def test_with_depth_each_frame_is_fused_or_counted_without_3d_with_the_reason(segmenter, frames):
    camera, sim = frames
    settings = node_defaults(use_depth=True)
    depth = DepthPairing("/depth", "/camera_info", 0.02, 10)
    runner, log = _runner(segmenter, settings, cameras=[""], depth=[depth])
    sink = CollectingSink()
    runner.run_batch([frame_in(0, sim[0].rgb, sim[0].stamp_ns)], sink)  # nothing paired yet
    assert runner.report(0).counts.frames_without_3d == 1 and not sink.results_3d
    assert ("warning", "3D skipped: no depth image or CameraInfo received on /depth and /camera_info") in log.lines
    for f in sim[1:4]:
        depth.add(_depth_sample(f, camera, f.stamp_ns))
        runner.run_batch([frame_in(0, f.rgb, f.stamp_ns)], sink)
    assert len(sink.results_3d) == 3 and runner.report(0).counts.frames_without_3d == 1
    fused = sink.results_3d[-1]
    assert fused.frame.stamp_ns == sim[3].stamp_ns == fused.fused.frame.stamp_ns
    assert {i.track_id for i in fused.fused.frame.instances} == {i.track_id for i in fused.frame.instances}
    assert fused.fused.points and all(p.shape[1] == 3 for p in fused.fused.points.values())
