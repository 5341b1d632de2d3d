"""process-bag with several image topics: one tracker each, ids unique, batched like the node.

The per-camera results of the batched run equal single-topic runs of the
same bag, instance for instance (ids aside: one id source for all cameras).
"""
from __future__ import annotations

import pytest
from rosbags.rosbag2 import Reader

from vis_ros.cli import main
from vis_ros.core.sim.dataset import SimDataset, write_sequence
from vis_ros.core.sim.scene import SimOptions
from vis_ros.io.bag_export import export_cameras_bag
from vis_ros.io.bag_process import bag_cameras
from vis_ros.io.output_messages import output_typestore

FRAMES = 6


def _read(bag, topic):
    store = output_typestore()
    with Reader(bag) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        return [store.deserialize_cdr(raw, c.msgtype) for c, _, raw in reader.messages(connections=connections)]


def _content(messages):
    return [[(i.class_name, i.roi.x_offset, i.roi.y_offset, i.roi.width, i.roi.height, bytes(i.mask_runs))
             for i in m.instances] for m in messages]


def test_several_topics_are_tracked_apart_and_batched_with_the_results_of_single_runs(tmp_path):
    datasets = {}
    for name, seed, size in (("front", 7_000_001, (640, 480)), ("left", 7_000_002, (320, 240))):
        write_sequence(tmp_path / name, seed, FRAMES, SimOptions(width=size[0], height=size[1], objects=4))
        datasets[name] = SimDataset(tmp_path / name)
    topics = export_cameras_bag(datasets, tmp_path / "in")
    args = ["process-bag", str(tmp_path / "in"), str(tmp_path / "both")]
    assert main(args + [a for t in topics.values() for a in ("--image-topic", t.image)]) == 0
    both = {name: _read(tmp_path / "both", f"/vis_ros/{name}/instances") for name in topics}
    assert [len(v) for v in both.values()] == [FRAMES, FRAMES]
    assert {m.header.frame_id for m in both["left"]} == {"left_optical"}
    ids = {name: {i.id for m in msgs for i in m.instances} for name, msgs in both.items()}
    assert ids["front"] and ids["left"] and not ids["front"] & ids["left"]
    for name, topic in topics.items():
        alone = tmp_path / f"alone_{name}"
        assert main(["process-bag", str(tmp_path / "in"), str(alone), "--image-topic", topic.image]) == 0
        assert _content(both[name]) == _content(_read(alone, "/vis_ros/instances"))


def test_camera_names_come_from_the_topics_or_are_numbered_when_they_collide():
    cameras = bag_cameras(["/front/color/image_raw", "/left/color/image_raw"])
    assert [(c.output_ns, c.name) for c in cameras] == [("/vis_ros/front", "front"), ("/vis_ros/left", "left")]
    same = bag_cameras(["/cam/a", "/cam/b"])
    assert [c.output_ns for c in same] == ["/vis_ros/cam0", "/vis_ros/cam1"]
    assert bag_cameras(["/x/image"])[0].output_ns == "/vis_ros"


def test_a_topic_given_twice_is_refused_by_name():
    with pytest.raises(ValueError, match="/front/color/image_raw given more than once"):
        bag_cameras(["/front/color/image_raw", "/left/color/image_raw", "/front/color/image_raw"])


def test_a_missing_topic_is_named(tmp_path, capsys):
    write_sequence(tmp_path / "s", 7_000_003, 2, SimOptions(width=320, height=240, objects=2))
    export_cameras_bag({"front": SimDataset(tmp_path / "s")}, tmp_path / "in")
    assert main(["process-bag", str(tmp_path / "in"), str(tmp_path / "out"), "--image-topic",
                 "/front/color/image_raw", "--image-topic", "/left/color/image_raw"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()[-1:]
    assert line.startswith("vis-ros process-bag: ") and "has no topic /left/color/image_raw" in line


def test_a_bag_whose_stamps_jump_back_is_processed_to_the_end_with_tracking_reset(tmp_path):
    """A recorded loop (stamps going back) resets tracking there and goes on, as the node does."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    from vis_ros.io.bag_export import image_message, typestore

    write_sequence(tmp_path / "s", 7_000_004, 6, SimOptions(objects=5, object_speed=0.05))
    dataset = SimDataset(tmp_path / "s")
    store = typestore()
    order = list(range(6)) + list(range(4))  # played twice: the header stamps jump back at the 7th image
    with Writer(tmp_path / "in", version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection("/camera/color/image_raw", "sensor_msgs/msg/Image", typestore=store)
        for k, index in enumerate(order):
            frame = dataset[index]
            msg = image_message(store.types, frame.stamp_ns, "cam", frame.rgb, "rgb8")
            writer.write(connection, 10**9 + k * 33_333_333, store.serialize_cdr(msg, "sensor_msgs/msg/Image"))
    assert main(["process-bag", str(tmp_path / "in"), str(tmp_path / "out")]) == 0
    messages = _read(tmp_path / "out", "/vis_ros/instances")
    assert len(messages) == len(order)
    first = {i.id for m in messages[:6] for i in m.instances}
    second = {i.id for m in messages[6:] for i in m.instances}
    assert first and second and not first & second  # tracking restarted: new ids after the jump
