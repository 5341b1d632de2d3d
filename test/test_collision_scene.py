"""The planning-scene bookkeeping: ADD on confirmation, MOVE as objects move (rate-limited), REMOVE on drop."""
from __future__ import annotations

import math

import pytest

from vis_ros.core.data.instances import Instance3D, Instance3DFrame, TrackState
from vis_ros.core.outputs.collision_scene import (
    MOVE_MIN_M,
    CollisionOperation,
    CollisionScene,
    CollisionSceneConfig,
)

ADD, MOVE, REMOVE = CollisionOperation.ADD, CollisionOperation.MOVE, CollisionOperation.REMOVE
CONFIRMED, TENTATIVE, COASTING = TrackState.CONFIRMED, TrackState.TENTATIVE, TrackState.COASTING
S = 1_000_000_000


def _instance(track_id=7, x=1.0, size=(0.2, 0.1, 0.3), confidence=1.0, class_name="mug", yaw=0.0):
    return Instance3D(track_id=track_id, class_id=1, class_name=class_name, score=0.9, position=(x, 0.5, 0.8),
                      orientation=(0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)), size=size,
                      velocity=(0.0, 0.0, 0.0), num_points=500, confidence=confidence)


def _frame(t_s, *instances, frame_id="world"):
    return Instance3DFrame(stamp_ns=round(t_s * S), frame_id=frame_id, instances=tuple(instances))


def _ops(updates):
    return [(u.operation, u.object_id) for u in updates]


def test_a_confirmed_track_is_added_once_with_its_box_in_the_frame():
    scene = CollisionScene("vis_ros")
    (update,) = scene.update(_frame(0.0, _instance()), {7: CONFIRMED})
    assert (update.operation, update.object_id, update.frame_id, update.stamp_ns) == (ADD, "vis_ros_7", "world", 0)
    assert update.instance.size == (0.2, 0.1, 0.3)
    assert scene.update(_frame(1.0, _instance()), {7: CONFIRMED}) == []  # not moved: nothing to say
    assert scene.object_count == 1


@pytest.mark.parametrize("state, confidence", [(TENTATIVE, 1.0), (COASTING, 1.0), (CONFIRMED, 0.0)])
def test_no_object_for_unconfirmed_tracks_or_unmeasured_boxes(state, confidence):
    scene = CollisionScene("n")
    assert scene.update(_frame(0.0, _instance(confidence=confidence)), {7: state}) == []
    assert scene.object_count == 0


def test_moves_are_sent_when_the_pose_changed_at_most_at_the_rate():
    scene = CollisionScene("n", CollisionSceneConfig(move_rate_hz=2.0))
    scene.update(_frame(0.0, _instance(x=1.0)), {7: CONFIRMED})
    assert scene.update(_frame(0.2, _instance(x=1.1)), {7: CONFIRMED}) == []  # too soon after the ADD
    (move,) = scene.update(_frame(0.5, _instance(x=1.2)), {7: CONFIRMED})
    assert move.operation == MOVE and move.instance.position[0] == 1.2
    assert scene.update(_frame(1.0, _instance(x=1.2 + MOVE_MIN_M / 2)), {7: CONFIRMED}) == []  # below the threshold
    (turn,) = scene.update(_frame(1.5, _instance(x=1.2, yaw=math.radians(10))), {7: CONFIRMED})
    assert turn.operation == MOVE


def test_a_box_that_grew_is_added_again_since_a_move_cannot_change_geometry():
    scene = CollisionScene("n")
    scene.update(_frame(0.0, _instance(size=(0.2, 0.1, 0.3))), {7: CONFIRMED})
    (update,) = scene.update(_frame(0.1, _instance(size=(0.2, 0.2, 0.3))), {7: CONFIRMED})
    assert update.operation == ADD and update.instance.size == (0.2, 0.2, 0.3)


def test_coasting_keeps_the_object_where_it_was_and_a_dropped_track_is_removed():
    scene = CollisionScene("n")
    scene.update(_frame(0.0, _instance(x=1.0)), {7: CONFIRMED})
    assert scene.update(_frame(1.0, _instance(x=2.0)), {7: COASTING}) == []  # a prediction is not a measurement
    assert _ops(scene.update(_frame(2.0), {})) == [(REMOVE, "n_7")]
    assert scene.object_count == 0 and scene.update(_frame(3.0), {}) == []


def test_only_the_chosen_classes_become_objects_and_a_class_taken_off_the_list_is_removed():
    scene = CollisionScene("n", CollisionSceneConfig(classes=("mug",)))
    updates = scene.update(_frame(0.0, _instance(7, class_name="mug"), _instance(8, class_name="box")),
                           {7: CONFIRMED, 8: CONFIRMED})
    assert _ops(updates) == [(ADD, "n_7")]
    scene.config = CollisionSceneConfig(classes=("box",))
    updates = scene.update(_frame(1.0, _instance(7, class_name="mug"), _instance(8, class_name="box")),
                           {7: CONFIRMED, 8: CONFIRMED})
    assert _ops(updates) == [(REMOVE, "n_7"), (ADD, "n_8")]


def test_clear_removes_everything_and_resend_adds_everything_as_last_sent():
    scene = CollisionScene("n")
    scene.update(_frame(0.0, _instance(7, x=1.0), _instance(8, x=2.0)), {7: CONFIRMED, 8: CONFIRMED})
    scene.update(_frame(1.0, _instance(7, x=1.5), _instance(8, x=2.0)), {7: CONFIRMED, 8: CONFIRMED})
    again = scene.resend()
    assert _ops(again) == [(ADD, "n_7"), (ADD, "n_8")] and again[0].instance.position[0] == 1.5
    assert sorted(_ops(scene.clear())) == [(REMOVE, "n_7"), (REMOVE, "n_8")]
    assert scene.object_count == 0 and scene.clear() == []


def test_a_new_frame_id_starts_the_scene_over():
    scene = CollisionScene("n")
    scene.update(_frame(0.0, _instance(), frame_id="map"), {7: CONFIRMED})
    updates = scene.update(_frame(1.0, _instance(), frame_id="odom"), {7: CONFIRMED})
    assert [(u.operation, u.frame_id) for u in updates] == [(REMOVE, "map"), (ADD, "odom")]


def test_stamps_going_backwards_do_not_hold_moves_back_forever():
    scene = CollisionScene("n", CollisionSceneConfig(move_rate_hz=1.0))
    scene.update(_frame(100.0, _instance(x=1.0)), {7: CONFIRMED})
    (move,) = scene.update(_frame(0.0, _instance(x=1.5)), {7: CONFIRMED})  # a bag looped
    assert move.operation == MOVE


def test_a_rate_that_is_not_positive_is_refused_by_name():
    with pytest.raises(ValueError, match="collision_object_rate must be > 0, got 0.0"):
        CollisionSceneConfig(move_rate_hz=0.0)
