"""Fast DDS settings for camera-sized messages (config/fastdds_large_messages.xml), on every distro.

The profile must be in the environment before a process creates its first
ROS context, and it only matters with Fast DDS (the default RMW). Fast DDS
3.x (Kilted and later) reads it from FASTDDS_DEFAULT_PROFILES_FILE, Fast DDS
2.x (Jazzy, Humble, every apt-installed Jazzy robot) only from
FASTRTPS_DEFAULT_PROFILES_FILE: set under one name, one of the two
distributions silently sends camera images over fragmented UDP (on Jazzy
5 of 120 demo frames lost, p50 latency 47 ms instead of 14). So both names
are set, to the same file. A profile the user already gave, under either
name, is never replaced: it is given the other name too.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from vis_ros.core.data.model_path import share_file

PROFILE_NAME = "fastdds_large_messages.xml"
# Fast DDS 3.x's name first, then 2.x's (docs/distros.md)
PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")


def large_message_profile() -> Path:
    """Return the installed Fast DDS profile for camera-sized messages."""
    return share_file("config", PROFILE_NAME)


def profile_additions(env: Mapping[str, str]) -> dict[str, str]:
    """Return the variables to add to `env` so both Fast DDS versions read one profile (none for another RMW).

    The user's profile (either name) wins over vis_ros's; where the user set
    both names, nothing is changed.
    """
    rmw = env.get("RMW_IMPLEMENTATION", "")
    if rmw and not rmw.startswith("rmw_fastrtps"):
        return {}
    given = [env[name] for name in PROFILE_VARIABLES if env.get(name)]
    profile = given[0] if given else str(large_message_profile())
    return {name: profile for name in PROFILE_VARIABLES if not env.get(name)}


def with_large_message_transport(env: Mapping[str, str] | None = None) -> dict:
    """Return a copy of `env` (default os.environ) that uses the profile, where it applies."""
    env = dict(os.environ if env is None else env)
    env.update(profile_additions(env))
    return env


def use_large_message_transport() -> None:
    """Apply to this process; call before rclpy.init()."""
    os.environ.update(profile_additions(os.environ))
