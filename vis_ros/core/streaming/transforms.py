"""Where a camera is at an image's stamp: transforms as a condition of the 3D stage, never a blocking call.

The 3D stage (core/pipeline/three_d.py) fuses a frame in `target_frame` (a
world-fixed frame: map, odom, world) when a transform from the image's frame
to it is known at the image's stamp, and waits for it, as for late depth, at
most `depth_wait`. A TransformSource answers at once: here it is, not yet
(it may still come: the stamp is newer than what arrived), or never (the
reason). Sources:

- TransformBuffer: TF's tree kept ROS-free, for process-bag (fed from the
  bag's /tf and /tf_static in record order) and the evaluation (the
  simulated camera's pose);
- the node's, backed by tf2_ros' Buffer, asked without a timeout
  (ros/transforms.py).

A transform here maps source-frame coordinates into the target frame (the
pose of the source frame in the target frame), as tf2's lookup_transform(
target, source) returns it.
"""
from __future__ import annotations

import bisect
import math
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vis_ros.core.fusion.transform import Rigid


@dataclass(frozen=True)
class TransformLookup:
    """A source's answer: the transform, or why not and whether it may still come."""

    transform: Rigid | None
    may_still_come: bool = False
    reason: str = ""


class TransformSource(Protocol):
    """Transforms into one target frame, answered at once."""

    target_frame: str

    def lookup(self, source_frame: str, stamp_ns: int) -> TransformLookup:
        """Return the transform from `source_frame` into the target frame at `stamp_ns`, or why not."""


def _slerp(a, b, w: float) -> tuple[float, float, float, float]:
    qa, qb = np.asarray(a, float), np.asarray(b, float)
    dot = float(qa @ qb)
    if dot < 0:
        qb, dot = -qb, -dot
    if dot > 0.9995:
        q = qa + w * (qb - qa)
    else:
        theta = math.acos(min(dot, 1.0))
        q = (math.sin((1 - w) * theta) * qa + math.sin(w * theta) * qb) / math.sin(theta)
    return tuple(q / np.linalg.norm(q))


class _Link:
    """One parent -> child edge over time (or static)."""

    def __init__(self, parent: str, static: bool):
        self.parent, self.static = parent, static
        self.stamps: list[int] = []
        self.poses: list[Rigid] = []

    def add(self, stamp_ns: int, pose: Rigid, cache_ns: int) -> None:
        if self.static:
            self.stamps, self.poses = [0], [pose]
            return
        k = bisect.bisect(self.stamps, stamp_ns)
        self.stamps.insert(k, stamp_ns)
        self.poses.insert(k, pose)
        cut = bisect.bisect_left(self.stamps, self.stamps[-1] - cache_ns)
        if cut:
            del self.stamps[:cut], self.poses[:cut]

    def at(self, stamp_ns: int, child: str) -> TransformLookup:
        if self.static:
            return TransformLookup(self.poses[0])
        if stamp_ns > self.stamps[-1]:
            return TransformLookup(None, True, f"{self.parent} -> {child} known up to"
                                               f" {(stamp_ns - self.stamps[-1]) * 1e-9:.3f} s before the image")
        if stamp_ns < self.stamps[0]:
            return TransformLookup(None, False, f"{self.parent} -> {child} not kept that far back"
                                                f" ({(self.stamps[0] - stamp_ns) * 1e-9:.3f} s before the oldest)")
        k = bisect.bisect_left(self.stamps, stamp_ns)
        if self.stamps[k] == stamp_ns:
            return TransformLookup(self.poses[k])
        t0, t1 = self.stamps[k - 1], self.stamps[k]
        w = (stamp_ns - t0) / (t1 - t0)
        a, b = self.poses[k - 1], self.poses[k]
        translation = tuple((1 - w) * np.asarray(a.translation) + w * np.asarray(b.translation))
        return TransformLookup(Rigid(_slerp(a.rotation, b.rotation, w), translation))


class TransformBuffer:
    """TF's tree over time, ROS-free: each child frame has one parent, static or stamped; see the module docstring.

    Lookups interpolate between the two stamps around the image's; a stamp
    newer than a link's newest may still come; one older than the kept
    history (`cache_s`) never will.
    """

    def __init__(self, target_frame: str, cache_s: float = 10.0):
        self.target_frame = target_frame
        self._cache_ns = int(cache_s * 1e9)
        self._links: dict[str, _Link] = {}  # child -> its link to its parent
        self._lock = threading.Lock()

    def add(self, parent: str, child: str, stamp_ns: int, pose: Rigid, static: bool = False) -> None:
        """Take the pose of `child` in `parent` at `stamp_ns` (for all time where `static`)."""
        parent, child = parent.strip("/"), child.strip("/")
        with self._lock:
            link = self._links.get(child)
            if link is None or link.parent != parent or link.static != static:
                link = self._links[child] = _Link(parent, static)
            link.add(stamp_ns, pose, self._cache_ns)

    def lookup(self, source_frame: str, stamp_ns: int) -> TransformLookup:
        """Return the transform from `source_frame` into the target frame at `stamp_ns`, or why not."""
        return self.between(self.target_frame, source_frame, stamp_ns)

    def between(self, target_frame: str, source_frame: str, stamp_ns: int) -> TransformLookup:
        """Return the transform from `source_frame` into `target_frame` at `stamp_ns`, or why not."""
        source, target = source_frame.strip("/"), target_frame.strip("/")
        if source == target:
            return TransformLookup(Rigid())
        with self._lock:
            up_source = self._to_root(source)
            up_target = self._to_root(target)
            common = next((f for f, _ in up_source if f in {g for g, _ in up_target}), None)
            if common is None:
                known = sorted(set(self._links) | {link.parent for link in self._links.values()})
                return TransformLookup(None, True, f"no transform {source} -> {target} (frames known: {known})")
            source_in_common = self._chain(up_source, common, stamp_ns)
            target_in_common = self._chain(up_target, common, stamp_ns)
        for part in (source_in_common, target_in_common):
            if part.transform is None:
                return part
        return TransformLookup(target_in_common.transform.inverse().compose(source_in_common.transform))

    def _to_root(self, frame: str) -> list[tuple[str, str | None]]:
        """Return the frames from `frame` up to its root, each with the child below it (None for `frame`)."""
        path, child, seen = [(frame, None)], frame, {frame}
        while child in self._links and self._links[child].parent not in seen:
            parent = self._links[child].parent
            path.append((parent, child))
            seen.add(parent)
            child = parent
        return path

    def _chain(self, path: list[tuple[str, str | None]], common: str, stamp_ns: int) -> TransformLookup:
        """Return the pose of path[0]'s frame in `common`, composing the links on the way up.

        A single link comes back as stored (exactly: Rigid.compose leaves the
        identity out), as tf2 gives it.
        """
        pose = Rigid()
        if path[0][0] == common:
            return TransformLookup(pose)
        for frame, child in path[1:]:
            step = self._links[child].at(stamp_ns, child)
            if step.transform is None:
                return step
            pose = step.transform.compose(pose)
            if frame == common:
                break
        return TransformLookup(pose)
