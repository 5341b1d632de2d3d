"""Fast DDS settings for camera-sized messages (config/fastdds_large_messages.xml).

The profile must be in the environment before a process creates its first
ROS context, and it only matters with Fast DDS (the default RMW). A profile
the user already set is never replaced.
"""
from __future__ import annotations

import os
from pathlib import Path

from vis_ros.core.config.model_path import share_file

PROFILE_NAME = "fastdds_large_messages.xml"
PROFILE_VARIABLE = "FASTDDS_DEFAULT_PROFILES_FILE"


def large_message_profile() -> Path:
    """Return the installed Fast DDS profile for camera-sized messages."""
    return share_file("config", PROFILE_NAME)


def with_large_message_transport(env: dict | None = None) -> dict:
    """Return a copy of `env` (default os.environ) that uses the profile, where it applies."""
    env = dict(os.environ if env is None else env)
    rmw = env.get("RMW_IMPLEMENTATION", "")
    if PROFILE_VARIABLE not in env and (not rmw or rmw.startswith("rmw_fastrtps")):
        env[PROFILE_VARIABLE] = str(large_message_profile())
    return env


def use_large_message_transport() -> None:
    """Apply to this process; call before rclpy.init()."""
    os.environ.update(with_large_message_transport())
