"""The object memory's evaluation: its sim scenes (a camera that leaves and comes back), its scoring, one run."""
from __future__ import annotations

import numpy as np
import pytest

from vis_ros.core.sim.scene import CameraSweep
from vis_ros.evaluation.memory_eval import SIM, memory_cost, memory_scene, run_sequence, score_reentries


def test_the_camera_slides_out_stays_away_and_comes_back():
    sweep = CameraSweep(distance=2.0, start_s=1.0, slide_s=2.0, away_s=10.0)
    assert [sweep.offset(t) for t in (0.0, 1.0, 2.0, 3.0, 8.0, 13.0, 14.0, 15.0, 20.0)] == \
        [0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 1.0, 0.0, 0.0]
    assert sweep.end_s == 15.0


def test_while_away_one_object_is_taken_off_and_a_look_alike_put_down_elsewhere():
    from vis_ros.core.sim.sequence import render_sim_frame

    scene, removed, lookalike, original = memory_scene(8_300_000, 2.0)
    by_id = {o.object_id: o for o in scene.objects}
    assert by_id[lookalike].shape == by_id[original].shape
    assert np.linalg.norm(by_id[lookalike].start_xy - by_id[original].start_xy) > 0.3
    sweep = scene.camera_sweep
    before = render_sim_frame(scene, 0, 0, SIM)
    away = render_sim_frame(scene, 0, int((sweep.start_s + sweep.slide_s + 0.5) * SIM.fps), SIM)
    back = render_sim_frame(scene, 0, int((sweep.end_s + 0.5) * SIM.fps), SIM)
    seen = [{o.object_id for o in f.objects if o.visible_pixels > 0} for f in (before, away, back)]
    assert removed in seen[0] and lookalike not in seen[0]
    assert seen[1] == set()
    assert removed not in seen[2] and lookalike in seen[2] and by_id[original].present(sweep.end_s)


def test_restored_wrong_and_time_to_restore_are_counted_per_object():
    # before: objects 1 and 2 as ids 10 and 20; back: object 1 first as 11, then 10 (restored after 1 s),
    # object 2 as 30 (not restored), object 3 (new) as 20: another object's old id (a wrong restoration)
    matches = [(0, {10: 1, 20: 2}), (1, {10: 1, 20: 2}),
               (10, {11: 1, 30: 2, 20: 3}), (11, {10: 1, 30: 2, 20: 3}), (12, {10: 1, 30: 2, 20: 3})]
    row = score_reentries(matches, fps=1.0, left_s=5.0, back_s=10.0)
    assert (row["reentries"], row["restored"], row["wrong"], row["objects_back"]) == (2, 1, 1, 3)
    assert row["delays_s"] == [1.0]


def test_the_memorys_cost_is_measured_up_to_its_capacity():
    cost = memory_cost(capacity=20, repeats=3)
    assert {k: v["remembered"] for k, v in cost.items()} == {"0": 0, "5": 5, "20": 20}
    assert all(v["update_ms_new_tracks"] > 0 and v["update_ms_known_tracks"] > 0 for v in cost.values())


@pytest.mark.slow
def test_objects_back_after_two_seconds_keep_their_ids_with_the_memory_and_not_without():
    from vis_ros.core.config.factories import build_segmenter
    from vis_ros.core.config.settings import node_defaults
    from vis_ros.evaluation.memory_eval import AFTER_S, SEEN_S

    seed = 8_300_001
    scene, _, lookalike, _ = memory_scene(seed, 2.0)
    frames = int(round((scene.camera_sweep.end_s + AFTER_S) * SIM.fps))
    matches, _, counts = run_sequence(build_segmenter(node_defaults()), scene, seed, frames)
    rows = {on: score_reentries(matches[on], SIM.fps, SEEN_S, scene.camera_sweep.end_s) for on in (True, False)}
    with_memory, alone = rows[True], rows[False]
    assert with_memory["reentries"] >= 3
    assert with_memory["restored"] >= with_memory["reentries"] - 1 and with_memory["wrong"] == 0
    assert with_memory["ids_after"][lookalike] not in with_memory["ids_before"].values()
    assert alone["restored"] < with_memory["restored"]
    assert counts.restored >= with_memory["restored"]
