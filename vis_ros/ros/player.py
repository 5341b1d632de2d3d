"""Plays a simulated sequence as live camera topics (colour, aligned depth, camera info).

Stamps are the wall (or sim) clock at publish time, as a live driver's would
be, so latency measured downstream is real. The sequence's own stamps map
each published frame back to its ground truth (`stamp_to_index`).

A camera driver costs the machine little; decoding three PNGs per frame does
not. On a 2-core machine the player shares the CPU with the node it feeds, so
frames are decoded once before playing and the player sleeps in the
middleware's wait between frames, to measure the node rather than the player.
"""
from __future__ import annotations

import time

from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from vis_ros.core.sim.dataset import SimDataset
from vis_ros.ros.image_msgs import image_msg

COLOR, DEPTH, INFO = "/camera/color/image_raw", "/camera/aligned_depth_to_color/image_raw", "/camera/color/camera_info"


class SequencePlayer:
    """Publishes a recorded sim sequence as live colour, depth and camera_info topics."""

    def __init__(self, node: Node, dataset: SimDataset, reliable: bool = True,
                 topics: tuple[str, str, str] = (COLOR, DEPTH, INFO), with_depth: bool = True,
                 depth_after_s: float = 0.0):
        """Publish on `topics`; with `depth_after_s` > 0, depth + CameraInfo follow their colour that much later.

        Many RGB-D drivers send aligned depth after colour (it is computed
        from it); 0 sends it first, so the node has it when the image comes.
        """
        self.node, self.dataset, self.with_depth = node, dataset, with_depth
        self.depth_after_s = depth_after_s
        self._late_depth: tuple | None = None  # (due monotonic s, header, depth_mm) waiting to be sent
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE if reliable
                         else ReliabilityPolicy.BEST_EFFORT)
        self.color = node.create_publisher(Image, topics[0], qos)
        self.depth = node.create_publisher(Image, topics[1], qos)
        self.info = node.create_publisher(CameraInfo, topics[2], qos)
        self.frame_id = dataset.manifest["frame_id"]
        self.stamp_to_index: dict[int, int] = {}
        self.published = 0
        self._frames: dict[int, tuple] = {}  # index -> (rgb, depth_mm), decoded once

    def wait_for_subscriber(self, timeout_s: float = 20.0, spin=None) -> bool:
        """Wait until something subscribes to the colour topic, spinning with `spin` meanwhile."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.color.get_subscription_count() > 0:
                return True
            spin() if spin else time.sleep(0.05)
        return False

    def camera_info(self, header: Header) -> CameraInfo:
        """Build the CameraInfo of the sequence's intrinsics under `header`."""
        k = self.dataset.intrinsics
        return CameraInfo(header=header, height=k.height, width=k.width, distortion_model="plumb_bob",
                          d=[0.0] * 5, k=[k.fx, 0.0, k.cx, 0.0, k.fy, k.cy, 0.0, 0.0, 1.0],
                          r=[1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0],
                          p=[k.fx, 0.0, k.cx, 0.0, 0.0, k.fy, k.cy, 0.0, 0.0, 0.0, 1.0, 0.0])

    def publish(self, index: int) -> int:
        """Publish frame `index` now (its depth now too, or after depth_after_s); returns its stamp in ns."""
        rgb, depth_mm = self._frame(index)
        if self._late_depth is not None:  # the previous frame's depth is overdue: it goes now, never lost
            self.send_due_depth(now_s=float("inf"))
        now = self.node.get_clock().now()
        header = Header(stamp=now.to_msg(), frame_id=self.frame_id)
        if self.with_depth and self.depth_after_s <= 0:  # first: the node has the depth when the image comes
            self._send_depth(header, depth_mm)
        self.color.publish(image_msg(header, rgb, "rgb8"))
        if self.with_depth and self.depth_after_s > 0:
            self._late_depth = (time.monotonic() + self.depth_after_s, header, depth_mm)
        self.stamp_to_index[now.nanoseconds] = index
        self.published += 1
        return now.nanoseconds

    def send_due_depth(self, now_s: float | None = None) -> float | None:
        """Send the late depth if it is due; return when the one still waiting is due (None: none waits)."""
        if self._late_depth is None:
            return None
        due, header, depth_mm = self._late_depth
        if (time.monotonic() if now_s is None else now_s) < due:
            return due
        self._send_depth(header, depth_mm)
        self._late_depth = None
        return None

    def _send_depth(self, header: Header, depth_mm) -> None:
        self.depth.publish(image_msg(header, depth_mm, "16UC1"))
        self.info.publish(self.camera_info(header))

    def _frame(self, index: int) -> tuple:
        if index not in self._frames:
            frame = self.dataset[index]
            self._frames[index] = (frame.rgb, frame.depth_mm)
        return self._frames[index]

    def preload(self, frames: int | None = None) -> None:
        """Decode the first `frames` frames (all by default) before playing."""
        for i in range(min(frames or len(self.dataset), len(self.dataset))):
            self._frame(i)

    def play(self, rate_hz: float, spin=None, frames: int | None = None) -> None:
        """All frames at `rate_hz`, calling spin(timeout_s) between frames to serve callbacks."""
        play_together([self], rate_hz, spin, frames)


def play_together(players: list[SequencePlayer], rate_hz: float, spin=None, frames: int | None = None) -> None:
    """Play several cameras at once: frame i of every player, every 1 / rate_hz seconds."""
    count = frames or min(len(p.dataset) for p in players)
    for player in players:
        player.preload(count)
    period = 1.0 / rate_hz
    start = time.monotonic()
    for i in range(count):
        for player in players:
            player.publish(i % len(player.dataset))
        while (left := start + (i + 1) * period - time.monotonic()) > 0:
            dues = [d for d in (p.send_due_depth() for p in players) if d is not None]
            _pause(spin, min([left] + [d - time.monotonic() for d in dues]))
    for player in players:  # a late depth of the last frame
        while (due := player.send_due_depth()) is not None:
            _pause(spin, due - time.monotonic())


def _pause(spin, seconds: float) -> None:
    """Wait up to `seconds`: serve callbacks (at most 10 ms at a time) with `spin`, else sleep."""
    seconds = max(seconds, 0.0)
    spin(min(seconds, 0.01)) if spin else time.sleep(seconds)


