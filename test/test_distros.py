"""What differs between ROS 2 Jazzy and Kilted, held to docs/distros.md.

The profile variable has its own tests (test_fastdds_profile.py); the suite
itself runs on both distributions in CI, which holds rclpy's API. Here: the
two requirement lists match one to one but for the documented split, bags
are written in a metadata version both read, rosbags' two stores agree on
every type the project reads or writes, every rosdep key of package.xml is
in the documented table for both, and `make` puts each distribution in
folders of its own.
"""
from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "distros.md").read_text()
# Kilted's ament_cmake_ros_core has no Jazzy wheel: Jazzy's ament_cmake_ros and the three it needs undeclared
JAZZY_FOR_KILTED = {"ament-cmake-ros-core": {"ament-cmake-ros", "ament-cmake-gmock", "ament-cmake-gtest",
                                             "ament-cmake-pytest"}}


def _ros_wheels(distro: str) -> set[str]:
    prefix = "ros-jazzy-" if distro == "jazzy" else "ros-"
    lines = (ROOT / f"requirements-{distro}.txt").read_text().splitlines()
    return {line[len(prefix):] for line in lines if line.startswith(prefix)}


def test_the_two_requirement_lists_match_but_for_the_documented_split():
    kilted, jazzy = _ros_wheels("kilted"), _ros_wheels("jazzy")
    expected = set()
    for name in kilted:
        expected |= JAZZY_FOR_KILTED.get(name, {name})
    assert jazzy == expected
    for distro in ("kilted", "jazzy"):
        assert "-r requirements.txt" in (ROOT / f"requirements-{distro}.txt").read_text().splitlines()
        assert (ROOT / f"constraints-{distro}.txt").is_file()
    assert not [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("ros-")]


def test_bags_are_written_in_a_metadata_version_jazzy_and_kilted_read(tmp_path):
    from vis_ros.core.sim.dataset import SimDataset, write_sequence
    from vis_ros.core.sim.scene import SimOptions
    from vis_ros.io.bag_export import export_cameras_bag
    from vis_ros.io.output_messages import ROSBAG2_VERSION

    write_sequence(tmp_path / "seq", 7_300_001, 2, SimOptions(width=160, height=120, objects=1))
    export_cameras_bag({"front": SimDataset(tmp_path / "seq")}, tmp_path / "bag")
    metadata = yaml.safe_load((tmp_path / "bag" / "metadata.yaml").read_text())
    assert metadata["rosbag2_bagfile_information"]["version"] == ROSBAG2_VERSION == 9
    assert "reads metadata version 9" in DOC


def _closure(store, names) -> set[str]:
    """Return the types `names` are made of, themselves included (rosbags' field definitions)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        _, fields = store.fielddefs[name]
        for _, (_, spec) in fields:
            for part in re.findall(r"[a-z0-9_]+/msg/[A-Za-z0-9_]+", repr(spec)):
                todo.append(part)
    return seen


def test_rosbags_jazzy_and_kilted_stores_agree_on_every_type_used():
    from rosbags.typesys import Stores, get_typestore

    from vis_ros.io.output_messages import output_typestore

    written = output_typestore()
    ours = [name for name in written.fielddefs if name.startswith(("vis_ros/", "vision_msgs/"))]
    read = ["sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage", "sensor_msgs/msg/CameraInfo",
            "tf2_msgs/msg/TFMessage"]
    used = {name for name in _closure(written, ours + read + ["visualization_msgs/msg/MarkerArray",
                                                            "sensor_msgs/msg/PointCloud2"])
            if not name.startswith(("vis_ros/", "vision_msgs/"))}
    jazzy, kilted = get_typestore(Stores.ROS2_JAZZY), get_typestore(Stores.ROS2_KILTED)
    assert len(used) > 15, used
    for name in sorted(used):
        assert jazzy.fielddefs[name] == kilted.fielddefs[name], name


def _package_keys() -> list[str]:
    root = ET.parse(ROOT / "package.xml").getroot()
    return [element.text for element in root if element.tag.endswith("depend")]


def test_every_rosdep_key_is_documented_as_resolving_on_both():
    rows = {}
    for line in DOC.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1] in ("ROS package", "system"):
            rows[cells[0]] = cells[2:]
    for key in _package_keys():
        assert key in rows, f"{key} is not in docs/distros.md's rosdep table"
        assert all(rows[key]), key


@pytest.mark.parametrize("distro, suffix", [("kilted", ""), ("jazzy", "-jazzy")])
def test_make_keeps_each_distribution_in_folders_of_its_own(distro, suffix):
    plan = subprocess.run(["make", "-n", "-B", "setup", f"ROS_DISTRO={distro}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60).stdout
    assert f".venv{suffix}/bin/pip install" in plan and f"requirements-{distro}.txt" in plan
    assert f"--install-base install{suffix} " in plan and f"--build-base build{suffix} " in plan
    env_sh = (ROOT / "tools" / "env.sh").read_text()
    assert f'{distro}) _vis_ros_suffix="{suffix}"' in env_sh


def test_an_unsupported_distribution_is_refused_by_name():
    run = subprocess.run(["make", "-n", "setup", "ROS_DISTRO=humble"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode != 0 and "ROS_DISTRO=humble is not supported here: use one of kilted jazzy" in run.stderr
