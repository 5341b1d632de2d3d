"""The simulated RGB-D world: determinism, self-consistent ground truth, bag export."""
from __future__ import annotations

import numpy as np
import pytest

from vis_ros.core.sim.dataset import SimDataset, write_sequence
from vis_ros.core.sim.render import _camera_rays, static_background
from vis_ros.core.sim.scene import SimOptions, random_scene
from vis_ros.core.sim.sequence import generate_sequence, render_sim_frame, sequence_frames

SMALL = SimOptions(width=320, height=240, objects=8)


def _frames(seed, n=3, options=SMALL):
    return list(generate_sequence(seed, n, options)[1])


def test_same_seed_same_data_and_different_seed_different_data():
    a, b, c = _frames(4), _frames(4), _frames(5)
    for fa, fb in zip(a, b, strict=True):
        np.testing.assert_array_equal(fa.rgb, fb.rgb)
        np.testing.assert_array_equal(fa.depth_mm, fb.depth_mm)
        np.testing.assert_array_equal(fa.instance_ids, fb.instance_ids)
        assert fa.stamp_ns == fb.stamp_ns
    assert not np.array_equal(a[0].rgb, c[0].rgb)


@pytest.mark.parametrize("options", [SMALL, SimOptions(width=160, height=120, lighting_change=True, motion_blur=True)],
                         ids=["plain", "light_and_blur"])
def test_a_still_camera_s_background_computed_once_renders_the_same_frames(options):
    scene = random_scene(11, options)
    rays = _camera_rays(scene)
    background = static_background(scene, rays)
    assert background is not None
    for index in (0, 9):
        once, each = (render_sim_frame(scene, 11, index, options, rays, b) for b in (background, None))
        for field in ("rgb", "depth_mm", "depth_true_m", "instance_ids"):
            np.testing.assert_array_equal(getattr(once, field), getattr(each, field))
    assert static_background(random_scene(11, SimOptions(camera_motion=0.2)), rays) is None  # it moves


@pytest.mark.parametrize("motion_blur", [False, True])
def test_frames_picked_by_index_equal_those_of_the_whole_sequence(motion_blur):
    options = SimOptions(width=160, height=120, objects=6, motion_blur=motion_blur)
    whole = _frames(7, 7, options)
    _, picked = sequence_frames(7, [6, 0, 3], options)
    for frame in picked:
        same = whole[frame.index]
        assert frame.stamp_ns == same.stamp_ns
        assert [(o.object_id, o.visible_pixels) for o in frame.objects] == [
            (o.object_id, o.visible_pixels) for o in same.objects]
        for field in ("rgb", "depth_mm", "depth_true_m", "instance_ids"):
            np.testing.assert_array_equal(getattr(frame, field), getattr(same, field))


@pytest.mark.parametrize("seed", range(6))
def test_mask_pixels_back_project_into_their_3d_box(seed):
    options = SimOptions(width=320, height=240, objects=12, camera_motion=0.2)
    intrinsics, frames = sequence_frames(seed, range(0, 12, 4), options)
    k = intrinsics
    checked = 0
    for frame in frames:
        for obj in frame.objects:
            ys, xs = np.nonzero(frame.instance_ids == obj.object_id)
            if len(xs) == 0:
                continue
            z = frame.depth_true_m[ys, xs].astype(np.float64)
            points = np.stack([(xs + 0.0 - k.cx) * z / k.fx, (ys + 0.0 - k.cy) * z / k.fy, z], 1)
            local = (points - obj.box_center) @ obj.rotation  # box frame
            assert np.all(np.abs(local) <= obj.box_size / 2 + 2e-3), obj.class_name
            checked += 1
    assert checked > 10


def test_objects_enter_and_leave_the_view():
    """Over a long sequence visibility changes: some object is both seen and unseen."""
    options = SimOptions(width=160, height=120, objects=10, object_speed=0.3)
    changed = 0
    for seed in range(3):
        _, frames = sequence_frames(seed, range(0, 150, 10), options)
        visible = np.array([[o.visible_pixels > 0 for o in f.objects] for f in frames])
        changed += int(np.sum(visible.any(0) & ~visible.all(0)))
    assert changed > 0


def test_depth_defects_are_realistic():
    frame = _frames(2, 1, SimOptions(width=320, height=240))[0]
    valid = frame.depth_mm > 0
    assert 0.5 < valid.mean() < 0.995, "holes exist but most pixels are measured"
    truth_mm = frame.depth_true_m * 1000
    both = valid & (frame.instance_ids == 0) & (truth_mm > 0)
    error = np.abs(frame.depth_mm[both] - truth_mm[both])
    assert np.median(error) < 15 and np.median(error) > 0


@pytest.mark.parametrize("kwargs, message", [
    ({"objects": 0}, "objects must be in 1..30"),
    ({"objects": 31}, "objects must be in 1..30"),
    ({"width": 8}, "image size"),
    ({"classes": (9,)}, "classes must be ids"),
    ({"fps": 0}, "fps must be > 0"),
])
def test_options_reject_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SimOptions(**kwargs)


def test_written_sequence_reads_back(tmp_path):
    write_sequence(tmp_path, 9, 4, SMALL)
    dataset = SimDataset(tmp_path)
    frames = _frames(9, 4)
    assert len(dataset) == 4 and dataset.classes[0] == "box"
    for loaded, made in zip(dataset, frames, strict=True):
        np.testing.assert_array_equal(loaded.rgb, made.rgb)
        np.testing.assert_array_equal(loaded.depth_mm, made.depth_mm)
        np.testing.assert_array_equal(loaded.instance_ids, made.instance_ids)
        assert [o["id"] for o in loaded.objects] == [o.object_id for o in made.objects]


def test_bag_export_reads_back_with_rosbags(tmp_path):
    from rosbags.rosbag2 import Reader

    from vis_ros.io.bag_export import COLOR_TOPIC, DEPTH_TOPIC, INFO_TOPIC, export_bag, typestore

    write_sequence(tmp_path / "seq", 3, 3, SMALL)
    dataset = SimDataset(tmp_path / "seq")
    export_bag(dataset, tmp_path / "bag")
    store = typestore()
    seen = {COLOR_TOPIC: [], DEPTH_TOPIC: [], INFO_TOPIC: []}
    with Reader(tmp_path / "bag") as reader:
        for connection, stamp, raw in reader.messages():
            seen[connection.topic].append((stamp, store.deserialize_cdr(raw, connection.msgtype)))
    assert all(len(v) == 3 for v in seen.values())
    stamp, image = seen[COLOR_TOPIC][1]
    assert stamp == dataset[1].stamp_ns and image.encoding == "rgb8"
    pixels = np.asarray(image.data).reshape(image.height, image.step)[:, :image.width * 3]
    np.testing.assert_array_equal(pixels.reshape(image.height, image.width, 3), dataset[1].rgb)
    _, depth = seen[DEPTH_TOPIC][2]
    assert depth.encoding == "16UC1"
    np.testing.assert_array_equal(np.asarray(depth.data).view(np.uint16).reshape(240, 320),
                                  dataset[2].depth_mm)
    _, info = seen[INFO_TOPIC][0]
    assert info.k[0] == pytest.approx(dataset.intrinsics.fx) and info.header.frame_id
