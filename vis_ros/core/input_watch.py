"""Notices a camera that is connected but delivers nothing.

The most common "no output" report with ROS 2 cameras is a publisher that is
matched yet whose images never arrive: incompatible QoS (the middleware says
so, and the node warns), or, silently, camera-sized messages that Fast DDS
cannot carry between processes with its default shared-memory segments. This
watch turns the silent case into a warning that names the fix.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class InputWatch:
    """Watches the received-frame count of one input against its matched publishers."""

    stall_after_s: float = 5.0
    _last_count: int = field(default=-1, repr=False)
    _since_s: float | None = field(default=None, repr=False)

    def check(self, now_s: float, frames_received: int, publishers: int, topic: str) -> str | None:
        """Return a warning while `publishers` are matched but no frame came for stall_after_s, else None."""
        if frames_received != self._last_count or publishers == 0:
            self._last_count, self._since_s = frames_received, now_s
            return None
        silent = now_s - self._since_s
        if silent < self.stall_after_s:
            return None
        return (f"{publishers} publisher(s) matched on {topic} but no image for {silent:.0f} s."
                " If the camera runs in another process on Fast DDS, images over 0.5 MB need"
                " larger shared-memory segments: start the camera driver with"
                " FASTDDS_DEFAULT_PROFILES_FILE=<vis_ros share>/config/fastdds_large_messages.xml"
                " (see README, 'Large messages over Fast DDS'). Otherwise check that it is streaming.")
