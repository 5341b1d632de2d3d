"""The node's TransformSource: tf2_ros' Buffer, asked without a timeout.

The 3D stage (core/pipeline/three_d.py) asks for the camera's pose in
target_frame at each image's stamp and waits, as for late depth, up to
`depth_wait`; the worker thread never sleeps in tf2 (a lookup with a timeout
would hold every camera's frames for it). tf2's answers map onto the stage's:

- the transform: here it is;
- extrapolation into the future (TF has not reached the image's stamp yet),
  an unknown frame or frames not yet connected: not yet, it may still come;
- extrapolation into the past (older than the buffer keeps): never.
A link with a single transform so far says neither ("at time T, but only
time U is in the buffer"): later than U may still come, earlier never.
"""
from __future__ import annotations

import re

from rclpy.time import Time

from vis_ros.core.fusion.transform import Rigid
from vis_ros.core.streaming.transforms import TransformLookup


class Tf2Transforms:
    """Transforms into `target_frame` from a tf2_ros Buffer (fed by the node's TransformListener)."""

    def __init__(self, tf2_ros, buffer, target_frame: str):
        self.target_frame = target_frame
        self._buffer = buffer
        self._not_yet = (tf2_ros.LookupException, tf2_ros.ConnectivityException)
        self._extrapolation = tf2_ros.ExtrapolationException

    def lookup(self, source_frame: str, stamp_ns: int) -> TransformLookup:
        """Return the transform from `source_frame` into the target frame at `stamp_ns`, or why not; never waits."""
        try:
            transform = self._buffer.lookup_transform(self.target_frame, source_frame,
                                                      Time(nanoseconds=stamp_ns)).transform
        except self._extrapolation as exc:
            text = " ".join(str(exc).split())
            return TransformLookup(None, _may_still_come(text), text)
        except self._not_yet as exc:
            return TransformLookup(None, True, " ".join(str(exc).split()))
        q, p = transform.rotation, transform.translation
        return TransformLookup(Rigid((q.x, q.y, q.z, q.w), (p.x, p.y, p.z)))


def _may_still_come(extrapolation: str) -> bool:
    """Whether tf2's extrapolation error is about a time TF has not reached yet (see the module docstring)."""
    if "into the future" in extrapolation:
        return True
    single = re.search(r"at time ([0-9.]+), but only time ([0-9.]+)", extrapolation)
    return single is not None and float(single[1]) > float(single[2])
