"""Aligned depth + CameraInfo pairs of one camera, kept for the images that need them.

Depth and CameraInfo are paired by approximate time before they arrive here
(message_filters on robots, core.streaming.approx_sync elsewhere and
offline); each image then takes the pair closest to its stamp within `slop`.
Aligned depth is often computed after colour and arrives after it, so an
image without a pair yet may still get one: the lookup says whether the pair
is here, may still come (no depth or CameraInfo at or past the image's
stamp has been seen yet), or will not (the streams have moved past it, or
one of them never arrived), and which input is missing. A pair is kept as
the messages' fields, and converted (depth to metres, K to a pinhole camera)
only when an image uses it, on the processing thread: callbacks never pay
for a conversion, and pairs no image asks for cost nothing.

The node and process-bag build DepthSample from their own message objects
(rclpy's, or rosbags' deserialized ones): both carry the same field names,
so one function converts both the same way.
"""
from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from vis_ros.core.codecs.images import depth_to_metres
from vis_ros.core.data.errors import InputError
from vis_ros.core.data.stamps import stamp_to_ns
from vis_ros.core.fusion.camera import PinholeCamera
from vis_ros.core.streaming.approx_sync import ApproxTimeSync


@dataclass(frozen=True, eq=False)
class DepthSample:
    """One depth image and its CameraInfo, as their messages' fields (not yet converted)."""

    stamp_ns: int
    encoding: str
    height: int
    width: int
    step: int
    big_endian: bool
    data: object  # the message's buffer
    k: tuple[float, ...]
    info_width: int
    info_height: int
    distortion_model: str
    d: tuple[float, ...]

    @classmethod
    def of(cls, depth_msg, info_msg) -> DepthSample:
        """Take the fields of a sensor_msgs Image (depth) and CameraInfo (rclpy's or rosbags')."""
        return cls(stamp_to_ns(depth_msg.header.stamp), depth_msg.encoding, depth_msg.height, depth_msg.width,
                   depth_msg.step, bool(depth_msg.is_bigendian), depth_msg.data, tuple(info_msg.k),
                   info_msg.width, info_msg.height, info_msg.distortion_model, tuple(info_msg.d))

    def load(self, depth_scale: float) -> tuple[np.ndarray, PinholeCamera, list[str]]:
        """Depth in metres, the camera, and warnings to say once; InputError naming a bad value."""
        depth = depth_to_metres(self.encoding, self.height, self.width, self.step, self.big_endian, self.data,
                                depth_scale)
        if not depth.any():  # invalid pixels are 0 after conversion (0, NaN, inf, negative)
            raise InputError(f"depth image {self.width}x{self.height} ({self.encoding}) has no valid pixel (all"
                             " zero or NaN): 3D skipped, 2D still published")
        camera, warnings = PinholeCamera.from_camera_info(self.k, self.info_width, self.info_height,
                                                          self.distortion_model, self.d)
        return depth, camera, warnings


class Missing(StrEnum):
    """Why an image has no depth + CameraInfo pair (the cause /diagnostics names)."""

    NONE = ""
    NO_CAMERA_INFO = "no CameraInfo"  # none ever received
    NO_DEPTH = "no depth"  # none ever received
    NOT_YET = "no depth yet"  # the streams have not reached the image's stamp (it may still come)
    NO_PAIR = "no depth + CameraInfo pair"  # the streams passed the stamp without a pair within slop


@dataclass(frozen=True)
class DepthLookup:
    """The pair for an image, or why there is none (and whether it may still come)."""

    sample: DepthSample | None
    missing: Missing = Missing.NONE
    reason: str = ""

    @property
    def may_still_come(self) -> bool:
        """No pair yet, but one may still arrive: worth waiting for."""
        return self.missing in (Missing.NOT_YET, Missing.NO_DEPTH, Missing.NO_CAMERA_INFO)


class DepthPairing:
    """The newest depth + CameraInfo pairs of one camera; see the module docstring."""

    def __init__(self, depth_topic: str, info_topic: str, slop_s: float, queue_size: int,
                 on_pair: Callable[[], None] | None = None):
        self.depth_topic, self.info_topic = depth_topic, info_topic
        self.slop_ns = int(slop_s * 1e9)
        self._pairs: collections.deque = collections.deque(maxlen=queue_size)
        self._lock = threading.Lock()
        self._on_pair = on_pair  # wakes whoever waits for depth (the node's worker)
        self.last_depth_ns: int | None = None
        self.last_info_ns: int | None = None

    def clear(self) -> None:
        """Forget every pair and arrival (the node starts a new activation: nothing old may pair)."""
        with self._lock:
            self._pairs.clear()
        self.last_depth_ns = self.last_info_ns = None

    def seen_depth(self, stamp_ns: int) -> None:
        """Note a depth image's arrival (paired or not): says which input is missing."""
        self.last_depth_ns = stamp_ns

    def seen_info(self, stamp_ns: int) -> None:
        """Note a CameraInfo's arrival (paired or not)."""
        self.last_info_ns = stamp_ns

    def add(self, sample: DepthSample) -> None:
        """Keep a pair (the oldest beyond queue_size is forgotten)."""
        with self._lock:
            self._pairs.append(sample)
        if self._on_pair is not None:
            self._on_pair()

    def lookup(self, stamp_ns: int) -> DepthLookup:
        """Find the pair closest to `stamp_ns` within slop, else say why there is none."""
        with self._lock:
            pairs = list(self._pairs)
        if pairs:
            best = min(pairs, key=lambda p: abs(p.stamp_ns - stamp_ns))
            if abs(best.stamp_ns - stamp_ns) <= self.slop_ns:
                return DepthLookup(best)
        if self.last_depth_ns is None:
            both = " or CameraInfo" if self.last_info_ns is None else ""
            return DepthLookup(None, Missing.NO_DEPTH, f"no depth image{both} received on {self.depth_topic}"
                                                       + (f" and {self.info_topic}" if both else ""))
        if self.last_info_ns is None:
            return DepthLookup(None, Missing.NO_CAMERA_INFO, f"no CameraInfo received on {self.info_topic}")
        if min(self.last_depth_ns, self.last_info_ns) < stamp_ns - self.slop_ns or (
                pairs and pairs[-1].stamp_ns < stamp_ns - self.slop_ns):
            return DepthLookup(None, Missing.NOT_YET, "no depth + CameraInfo pair for the image stamp yet")
        return DepthLookup(None, Missing.NO_PAIR, "no depth + CameraInfo pair within sync_slop of the image stamp")


class PairedByStamp:
    """Depth and CameraInfo messages, in arrival order, paired by approximate time into a DepthPairing.

    What process-bag and the node (where message_filters is not installed)
    feed their messages to: each arrival is noted (it tells which input is
    missing), then paired with core.streaming.approx_sync.
    """

    def __init__(self, pairing: DepthPairing, slop_s: float, queue_size: int):
        self.pairing = pairing
        self._sync = ApproxTimeSync(2, queue_size, slop_s, lambda depth, info: pairing.add(DepthSample.of(depth, info)))

    def add_depth(self, msg) -> None:
        """Take a depth image message."""
        stamp = stamp_to_ns(msg.header.stamp)
        self.pairing.seen_depth(stamp)
        self._sync.add(0, stamp, msg)

    def add_info(self, msg) -> None:
        """Take a CameraInfo message."""
        stamp = stamp_to_ns(msg.header.stamp)
        self.pairing.seen_info(stamp)
        self._sync.add(1, stamp, msg)
