"""The large-message Fast DDS profile, under both names Fast DDS reads.

Fast DDS 3 (Kilted) reads FASTDDS_DEFAULT_PROFILES_FILE, Fast DDS 2 (Jazzy,
every apt-installed Jazzy robot) only FASTRTPS_DEFAULT_PROFILES_FILE. With
the profile under the Kilted name alone, Jazzy sent camera images over
fragmented UDP: the demo lost 5 of 120 frames and p50 latency tripled.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from vis_ros.processes.fastdds_profile import (
    PROFILE_VARIABLES,
    large_message_profile,
    profile_additions,
    with_large_message_transport,
)

FASTDDS, FASTRTPS = PROFILE_VARIABLES


def test_both_names_point_at_the_profile():
    env = with_large_message_transport({"PATH": "/usr/bin"})
    assert env[FASTDDS] == env[FASTRTPS] == str(large_message_profile())
    assert Path(env[FASTRTPS]).is_file()


@pytest.mark.parametrize("given", [FASTDDS, FASTRTPS])
def test_a_profile_the_user_gave_under_either_name_is_kept_and_given_the_other(given):
    env = with_large_message_transport({given: "/robot/my_profile.xml"})
    assert env[FASTDDS] == env[FASTRTPS] == "/robot/my_profile.xml"


def test_two_profiles_the_user_gave_are_left_as_they_are():
    env = {FASTDDS: "/a.xml", FASTRTPS: "/b.xml"}
    assert profile_additions(env) == {} and with_large_message_transport(env) == env


@pytest.mark.parametrize("rmw, applies", [("", True), ("rmw_fastrtps_cpp", True),
                                          ("rmw_fastrtps_dynamic_cpp", True), ("rmw_cyclonedds_cpp", False)])
def test_only_fast_dds_gets_it(rmw, applies):
    env = {"RMW_IMPLEMENTATION": rmw} if rmw else {}
    assert bool(profile_additions(env)) == applies
