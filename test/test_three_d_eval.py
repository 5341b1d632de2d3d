"""The end-to-end 3D evaluation's geometry, held to boxes whose answers are known."""
from __future__ import annotations

import math

import numpy as np
import pytest

from vis_ros.core.data.instances import Instance3D
from vis_ros.core.fusion.transform import matrix_quaternion
from vis_ros.core.sim.render import ObjectTruth
from vis_ros.evaluation.box_scoring import box_iou_3d, compare

UP = np.array([0.0, -1.0, 0.0])  # a level camera: the world's up is the optical frame's -y


def _box(center, yaw_deg, s1, s2, h):
    yaw = math.radians(yaw_deg)
    a1 = np.array([math.cos(yaw), 0.0, math.sin(yaw)])
    a2 = np.cross(UP, a1)
    return {"center": np.array(center, float), "a1": a1, "a2": a2, "s1": s1, "s2": s2, "h": h}


def test_iou_of_upright_boxes():
    box = _box((0.0, 0.0, 2.0), 30, 0.4, 0.2, 0.3)
    assert box_iou_3d(box, box, UP) == pytest.approx(1.0)
    shifted = _box(box["center"] + 0.2 * box["a1"], 30, 0.4, 0.2, 0.3)  # half its length along its long side
    assert box_iou_3d(shifted, box, UP) == pytest.approx(1 / 3)
    lower = _box(box["center"] - 0.15 * UP, 30, 0.4, 0.2, 0.3)  # half its height down
    assert box_iou_3d(lower, box, UP) == pytest.approx(1 / 3)
    turned = _box(box["center"], 120, 0.4, 0.2, 0.3)  # a quarter turn: the 0.2 x 0.2 middle is shared
    assert box_iou_3d(turned, box, UP) == pytest.approx(0.04 / (0.08 + 0.08 - 0.04))
    assert box_iou_3d(_box((5.0, 0.0, 2.0), 0, 0.4, 0.2, 0.3), box, UP) == 0.0


def _truth(center, yaw_deg, size):
    """Make an object standing on the floor, seen by a level camera: object z is the world's up."""
    yaw = math.radians(yaw_deg)
    x = np.array([math.cos(yaw), 0.0, math.sin(yaw)])
    z = UP
    y = np.cross(z, x)
    return ObjectTruth(1, 0, "box", np.stack([x, y, z], axis=1), np.array(center), np.array(center),
                       np.array(size, float), 1000)


def _estimate(center, yaw_deg, long_side, short_side, height):
    """Make a fused box as fusion lays it out: x horizontal, y down (-up), z horizontal."""
    yaw = math.radians(yaw_deg)
    x = np.array([math.cos(yaw), 0.0, math.sin(yaw)])
    y = -UP
    z = np.cross(x, y)
    rotation = np.stack([x, y, z], axis=1)
    return Instance3D(1, 0, "box", 0.9, tuple(center), matrix_quaternion(rotation), (long_side, height, short_side),
                      (0.0, 0.0, 0.0), 100, 1.0)


def test_a_perfect_estimate_scores_zero_errors():
    row = compare(_estimate((0.1, 0.0, 1.5), 20, 0.3, 0.1, 0.2), _truth((0.1, 0.0, 1.5), 20, (0.3, 0.1, 0.2)), UP)
    assert row["centre"] == pytest.approx(0.0, abs=1e-9) and row["iou"] == pytest.approx(1.0)
    assert row["size"] == pytest.approx([0.0, 0.0, 0.0], abs=1e-9) and row["yaw"] == pytest.approx(0.0, abs=1e-6)


def test_errors_are_measured_along_the_matched_axes():
    truth = _truth((0.0, 0.0, 2.0), 0, (0.3, 0.1, 0.2))
    row = compare(_estimate((0.0, 0.0, 2.02), 10, 0.33, 0.1, 0.2), truth, UP)
    assert row["centre"] == pytest.approx(0.02) and row["centre_over_range"] == pytest.approx(0.01)
    assert row["size"] == pytest.approx([0.1, 0.0, 0.0], abs=1e-9)  # the long side 10% long
    assert row["yaw"] == pytest.approx(10.0)
    turned = compare(_estimate((0.0, 0.0, 2.0), 170, 0.3, 0.1, 0.2), truth, UP)  # a box's axis either way
    assert turned["yaw"] == pytest.approx(10.0)
    square = compare(_estimate((0.0, 0.0, 2.0), 40, 0.2, 0.2, 0.2), _truth((0.0, 0.0, 2.0), 0, (0.2, 0.19, 0.2)),
                     UP)
    assert square["yaw"] is None  # a square footprint has no yaw to get wrong


@pytest.mark.slow
def test_the_evaluation_scores_the_nodes_3d_on_a_short_sequence():
    from vis_ros.evaluation.three_d_eval import evaluate_3d

    report = evaluate_3d(sequences=1, frames=9, every=3)
    bands = report["still camera, keyframe every 1"]["bands"]
    assert bands["0.5-3 m"]["objects_scored"] > 0 and 0.0 < bands["0.5-3 m"]["usable_share"] <= 1.0
    assert report["static jitter near 1 m"]["objects"] >= 0
    world = report["moving camera, in the world frame, keyframe every 1"]["bands"]["0.5-3 m"]
    assert world["objects_scored"] > 0 and world["centre_error_over_range"]["p50"] < 0.1
    speeds = report["static objects, camera moving at 0.25 m/s: published speed (m/s)"]
    assert set(speeds) == {"camera frame", "world frame", "goal_p90_world_frame"}


def test_the_goals_say_what_is_met_and_by_how_much_the_rest_is_missed():
    from vis_ros.evaluation.three_d_figures import against_goals

    band = {"centre_error_over_range": {"p50": 0.008, "p90": 0.035}, "size_error_long_side": {"p90": 0.29},
            "size_error_short_side": {"p90": 0.39}, "size_error_height": {"p90": 0.31},
            "yaw_error_deg": {"p50": 4.4, "p90": 14.5}, "iou_share_over_0.5": 0.57}
    goals = against_goals(band)
    assert goals["centre_over_range_p50"]["met"] and goals["yaw_p90_deg"]["met"]
    assert goals["centre_over_range_p90"]["missed_by"] == pytest.approx(0.005)
    assert goals["size_error_p90"]["measured"] == 0.39 and goals["size_error_p90"]["missed_by"] == pytest.approx(0.24)
    assert not goals["iou_share_over_0.5"]["met"] and goals["iou_share_over_0.5"]["missed_by"] == pytest.approx(0.23)

