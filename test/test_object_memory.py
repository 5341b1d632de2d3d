"""The object memory: restore an ID on return, forget a removed object, ignore a look-alike elsewhere, stay bounded."""
from __future__ import annotations

import numpy as np
import pytest

from vis_ros.core.data.instances import Instance2D, Instance3D, Instance3DFrame, InstanceFrame, PixelBox, TrackState
from vis_ros.core.fusion.camera import PinholeCamera
from vis_ros.core.fusion.memory_config import MemoryConfig
from vis_ros.core.fusion.memory_records import CameraView
from vis_ros.core.fusion.object_memory import ObjectMemory
from vis_ros.core.fusion.transform import Rigid
from vis_ros.core.tracking.track import Appearance

CAMERA = PinholeCamera(100.0, 100.0, 79.5, 59.5, 160, 120)
T0 = 1_700_000_000 * 10**9
FRAME_NS = 100_000_000  # 10 Hz
RED, BLUE = np.zeros(72), np.zeros(72)
RED[3], BLUE[40] = 1.0, 1.0


def _instance(track: int, position, class_id: int = 1) -> Instance3D:
    return Instance3D(track_id=track, class_id=class_id, class_name=f"class{class_id}", score=0.9,
                      position=position, orientation=(0.0, 0.0, 0.0, 1.0), size=(0.1, 0.1, 0.1),
                      velocity=(0.0, 0.0, 0.0), num_points=100, confidence=0.8)


def _view(depth_m: float = 2.05, pose: Rigid | None = None) -> CameraView:
    """Return a camera looking along the world's z (by default) at a surface `depth_m` away."""
    return CameraView(CAMERA, pose or Rigid(), np.full((120, 160), depth_m, np.float32))


def _step(memory, index: int, instances, colours=None, view=None, camera: int = 0, classes=None):
    """Feed one frame; `colours` and `classes` by track id (default: red, and the instance's class)."""
    frame = Instance3DFrame(T0 + index * FRAME_NS, "world", tuple(instances))
    colours, classes = colours or {}, classes or {}
    looks = {i.track_id: Appearance(colours.get(i.track_id, RED), frozenset(classes.get(i.track_id, {i.class_id})))
             for i in instances}
    out = memory.update(camera, frame, view if view is not None else _view(), looks)
    return [i.track_id for i in out.instances]


AWAY = Rigid((0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 0.0))  # turned round: the remembered place is behind the camera


def _seen_then_away(memory, frames_away: int = 100) -> int:
    """Object 1 seen for 10 frames at (0, 0, 2), then the camera looks away; return the next frame index."""
    for k in range(10):
        assert _step(memory, k, [_instance(1, (0.0, 0.0, 2.0))]) == [1]
    for k in range(10, 10 + frames_away):
        _step(memory, k, [], view=_view(pose=AWAY))
    return 10 + frames_away


def test_an_object_that_comes_back_gets_its_old_id_from_its_first_frame():
    memory = ObjectMemory()
    k = _seen_then_away(memory)
    assert [o.object_id for o in memory.remembered()] == [1]
    assert _step(memory, k, [_instance(7, (0.02, 0.0, 2.01))]) == [1]  # 10 s later, a new track there
    assert _step(memory, k + 1, [_instance(7, (0.02, 0.0, 2.01))]) == [1]
    assert memory.aliases == {7: 1} and memory.counts.restored == 1 and memory.remembered() == ()
    frame = InstanceFrame(T0, "cam", 120, 160, True, (Instance2D(7, 1, "class1", 0.9, TrackState.CONFIRMED, 3,
                                                                  PixelBox(0, 0, 2, 2), np.ones((2, 2), bool)),))
    assert [i.track_id for i in memory.renamed(frame).instances] == [1]


def test_a_look_alike_elsewhere_or_another_class_or_other_colours_keeps_its_own_id():
    memory = ObjectMemory()
    k = _seen_then_away(memory)
    assert _step(memory, k, [_instance(8, (0.6, 0.0, 2.0))]) == [8]  # same class and colours, 0.6 m away
    assert _step(memory, k + 1, [_instance(9, (0.0, 0.0, 2.0), class_id=2)]) == [9]
    assert _step(memory, k + 2, [_instance(10, (0.0, 0.0, 2.0))], {10: BLUE}) == [10]
    assert memory.counts.restored == 0


def test_an_object_taken_away_is_forgotten_once_its_place_is_seen_empty():
    memory = ObjectMemory(MemoryConfig(forget_s=1.0))
    k = _seen_then_away(memory)
    for j in range(k, k + 11):  # its place in view, the surface behind it: nothing there for 1 s
        _step(memory, j, [])
    assert memory.remembered() == () and memory.counts.forgotten == 1
    assert _step(memory, k + 11, [_instance(11, (0.0, 0.0, 2.0))]) == [11]


def test_a_place_hidden_behind_something_nearer_is_not_taken_for_empty():
    memory = ObjectMemory(MemoryConfig(forget_s=1.0))
    k = _seen_then_away(memory)
    for j in range(k, k + 30):
        _step(memory, j, [], view=_view(depth_m=1.0))  # something 1 m nearer in front of the place
    assert [o.object_id for o in memory.remembered()] == [1]
    assert _step(memory, k + 30, [_instance(12, (0.0, 0.0, 2.0))]) == [1]


def test_the_memory_keeps_at_most_its_capacity_and_nothing_older_than_keep_s():
    memory = ObjectMemory(MemoryConfig(capacity=3, keep_s=5.0))
    for track in range(1, 6):  # five objects, each seen once, one after the other, then out of view
        _step(memory, track, [_instance(track, (0.3 * track, 0.0, 2.0))], view=_view(pose=AWAY))
        _step(memory, track, [], view=_view(pose=AWAY))
    assert [o.object_id for o in memory.remembered()] == [3, 4, 5] and memory.counts.dropped == 2
    _step(memory, 5 + 51, [], view=_view(pose=AWAY))  # 5.1 s after the last was seen
    assert memory.remembered() == () and memory.counts.dropped == 5


def test_a_track_seen_longer_than_the_restore_window_keeps_its_id():
    memory = ObjectMemory()
    k = _seen_then_away(memory)
    for j in range(k, k + 11):  # a track of another colour first (1 s), then its colours become the red ones
        _step(memory, j, [_instance(13, (0.0, 0.0, 2.0))], {13: BLUE}, view=_view(depth_m=1.0))
    assert _step(memory, k + 11, [_instance(13, (0.0, 0.0, 2.0))], view=_view(depth_m=1.0)) == [13]


def test_a_new_track_whose_class_settles_within_the_window_gets_the_id():
    memory = ObjectMemory()
    k = _seen_then_away(memory)
    for j in range(k, k + 8):  # first taken for another class (0.7 s): the place is not empty, nothing forgotten
        assert _step(memory, j, [_instance(16, (0.0, 0.0, 2.0), class_id=2)], view=_view(depth_m=1.0)) == [16]
    assert _step(memory, k + 8, [_instance(16, (0.0, 0.0, 2.0))], view=_view(depth_m=1.0)) == [1]


def test_restoring_tells_the_trackers_to_stop_reidentifying_the_old_track():
    forgotten = []
    memory = ObjectMemory(forget_tracks=forgotten.extend)
    k = _seen_then_away(memory)
    _step(memory, k, [_instance(14, (0.0, 0.0, 2.0))])
    assert forgotten == [1]


def test_an_object_seen_by_another_camera_is_not_taken_for_gone():
    memory = ObjectMemory()
    _step(memory, 0, [_instance(1, (0.0, 0.0, 2.0))], camera=0)
    _step(memory, 0, [], camera=1, view=_view(pose=AWAY))  # camera 1 does not see it: nothing said about it
    assert memory.remembered() == ()
    _step(memory, 1, [], camera=0, view=_view(pose=AWAY))
    assert [o.object_id for o in memory.remembered()] == [1]
    assert _step(memory, 2, [_instance(15, (0.0, 0.0, 2.0))], camera=1) == [1]  # and camera 1 restores it


@pytest.mark.parametrize("target_frame", ["", "world"])
def test_without_a_target_frame_there_is_no_memory(target_frame):
    import logging

    from vis_ros.core.config.factories import build_runner, build_segmenter, depth_sources
    from vis_ros.core.config.settings import node_defaults
    from vis_ros.core.streaming.notices import Notices
    from vis_ros.core.streaming.transforms import TransformBuffer

    settings = node_defaults(use_depth=True)
    transforms = TransformBuffer(target_frame) if target_frame else None
    segmenter = build_segmenter(settings, warm=False)
    runner = build_runner(settings, segmenter, Notices(logging.getLogger("test")),
                          depth=depth_sources(settings, [("depth", "camera_info")]), transforms=transforms)
    assert (runner.three_d.memory is not None) == bool(target_frame)
    no_depth = build_runner(settings, segmenter, Notices(logging.getLogger("test")), transforms=transforms)
    assert no_depth.three_d.memory is None


def test_a_track_that_leaps_to_a_remembered_neighbour_takes_its_id_and_its_own_object_is_remembered():
    memory = ObjectMemory()
    _step(memory, 0, [_instance(1, (0.0, 0.0, 2.0)), _instance(2, (0.4, 0.0, 2.0))])
    _step(memory, 1, [_instance(1, (0.0, 0.0, 2.0))])  # object 2 out of view (hidden: depth nearer there)
    assert _step(memory, 2, [_instance(1, (0.4, 0.0, 2.0))], view=_view(depth_m=1.0)) == [2]  # the tracker erred
    assert memory.counts.jumps == 1 and [o.object_id for o in memory.remembered()] == [1]
    assert _step(memory, 3, [_instance(1, (0.4, 0.0, 2.0)), _instance(3, (0.0, 0.0, 2.0))],
                 view=_view(depth_m=1.0)) == [2, 1]


def test_an_object_once_detected_as_another_class_comes_back_as_that_class():
    memory = ObjectMemory()
    for k in range(10):  # the detector wavered between class 1 and 5 on it
        _step(memory, k, [_instance(1, (0.0, 0.0, 2.0))], classes={1: {1, 5}})
    _step(memory, 10, [], view=_view(pose=AWAY))
    assert _step(memory, 11, [_instance(17, (0.0, 0.0, 2.0), class_id=5)]) == [1]


def test_a_place_one_camera_sees_empty_is_forgotten_while_another_camera_looks_elsewhere():
    memory = ObjectMemory(MemoryConfig(forget_s=1.0))
    k = _seen_then_away(memory)
    for j in range(k, k + 11):  # camera 1 sees the place empty, camera 0 (turned away) frame by frame between
        _step(memory, j, [], camera=1)
        _step(memory, j, [], camera=0, view=_view(pose=AWAY))
    assert memory.remembered() == () and memory.counts.forgotten == 1
