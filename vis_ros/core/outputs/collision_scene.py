"""Which collision objects a planning scene should hold, as ADD / MOVE / REMOVE updates.

MoveIt's planning scene keeps every object it was told to ADD until it is told
to REMOVE it, so a perception node that only ever adds leaves ghosts behind,
and one that re-adds every frame makes the scene (and every planner reading
it) churn. This keeps the scene in step with the tracker, frame by frame:

- ADD when a track is confirmed and its 3D box was measured (confidence > 0);
  ADD again (MoveIt replaces the object) when the box's size changed by more
  than RESIZE_FRACTION, since a MOVE cannot change geometry;
- MOVE when its pose changed (more than MOVE_MIN_M or MOVE_MIN_RAD), at most
  `move_rate_hz` times a second per object, counted on the image stamps (a
  played bag gives the same updates at any speed);
- REMOVE when the tracker drops it (its id leaves the published frame) or its
  class leaves the chosen classes; `clear()` removes everything (the node
  calls it at deactivate, so a stopped node leaves no stale objects).

Coasting tracks keep their last object (the predicted box is not a
measurement); tentative ones get none. ROS-free: the node turns the updates
into moveit_msgs/CollisionObject messages.
"""
from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass

from vis_ros.core.data.instances import Instance3D, Instance3DFrame, TrackState

RESIZE_FRACTION = 0.25
MOVE_MIN_M = 0.005
MOVE_MIN_RAD = math.radians(2.0)


class CollisionOperation(enum.IntEnum):
    """What to do with an object; values match moveit_msgs/CollisionObject's constants."""

    ADD = 0
    REMOVE = 1
    MOVE = 3


@dataclass(frozen=True)
class CollisionSceneConfig:
    """How often objects may move, and which classes become objects (empty: all)."""

    move_rate_hz: float = 2.0
    classes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse a rate that is not positive."""
        if not self.move_rate_hz > 0.0:
            raise ValueError(f"collision_object_rate must be > 0, got {self.move_rate_hz!r}")


@dataclass(frozen=True)
class CollisionUpdate:
    """One update for the planning scene; `instance` is None for a REMOVE."""

    operation: CollisionOperation
    object_id: str
    stamp_ns: int
    frame_id: str
    instance: Instance3D | None = None


@dataclass
class _Placed:
    """What the scene was last told about one object."""

    instance: Instance3D
    sent_ns: int


class CollisionScene:
    """The objects this node has put into a planning scene; see the module docstring."""

    def __init__(self, id_prefix: str, config: CollisionSceneConfig | None = None):
        self.id_prefix = id_prefix
        self.config = config if config is not None else CollisionSceneConfig()
        self._placed: dict[int, _Placed] = {}
        self._frame_id = ""

    def object_id(self, track_id: int) -> str:
        """Return the object id of a track: the prefix (the node's name) and the track id.

        No '/': MoveIt reads "object/name" as a subframe of "object".
        """
        return f"{self.id_prefix}_{track_id}"

    @property
    def object_count(self) -> int:
        """Number of objects the scene holds from this node."""
        return len(self._placed)

    def update(self, frame: Instance3DFrame, states: Mapping[int, TrackState]) -> list[CollisionUpdate]:
        """Return the updates that bring the scene to this frame.

        `states` maps every track id the node published in this frame's 2D
        output to its state: an id missing from it has been dropped.
        """
        updates = []
        if frame.frame_id != self._frame_id and self._placed:
            updates += self.clear()  # objects are kept in one frame; a new one starts over
        self._frame_id = frame.frame_id
        wanted = set(self.config.classes)
        for track_id in list(self._placed):
            placed = self._placed[track_id]
            if track_id not in states or (wanted and placed.instance.class_name not in wanted):
                updates.append(self._remove(track_id, frame.stamp_ns))
        for instance in frame.instances:
            if states.get(instance.track_id) != TrackState.CONFIRMED or instance.confidence <= 0.0:
                continue
            if wanted and instance.class_name not in wanted:
                continue
            update = self._place(instance, frame.stamp_ns, frame.frame_id)
            if update is not None:
                updates.append(update)
        return updates

    def clear(self) -> list[CollisionUpdate]:
        """REMOVE every object this node placed (deactivate, a new frame)."""
        updates = [CollisionUpdate(CollisionOperation.REMOVE, self.object_id(tid), placed.sent_ns, self._frame_id)
                   for tid, placed in self._placed.items()]
        self._placed.clear()
        return updates

    def resend(self) -> list[CollisionUpdate]:
        """ADD every object again, as last sent: for a planning scene that subscribed late."""
        return [CollisionUpdate(CollisionOperation.ADD, self.object_id(tid), placed.sent_ns, self._frame_id,
                                placed.instance) for tid, placed in self._placed.items()]

    def _remove(self, track_id: int, stamp_ns: int) -> CollisionUpdate:
        del self._placed[track_id]
        return CollisionUpdate(CollisionOperation.REMOVE, self.object_id(track_id), stamp_ns, self._frame_id)

    def _place(self, instance: Instance3D, stamp_ns: int, frame_id: str) -> CollisionUpdate | None:
        placed = self._placed.get(instance.track_id)
        if placed is None or _resized(placed.instance, instance):
            operation = CollisionOperation.ADD
        else:
            due = stamp_ns - placed.sent_ns >= 1e9 / self.config.move_rate_hz or stamp_ns < placed.sent_ns
            if not (due and _moved(placed.instance, instance)):
                return None
            operation = CollisionOperation.MOVE
        self._placed[instance.track_id] = _Placed(instance, stamp_ns)
        return CollisionUpdate(operation, self.object_id(instance.track_id), stamp_ns, frame_id, instance)


def _resized(before: Instance3D, now: Instance3D) -> bool:
    return any(abs(n - b) > RESIZE_FRACTION * max(b, 1e-6) for b, n in zip(before.size, now.size, strict=True))


def _moved(before: Instance3D, now: Instance3D) -> bool:
    if math.dist(before.position, now.position) > MOVE_MIN_M:
        return True
    dot = abs(sum(a * b for a, b in zip(before.orientation, now.orientation, strict=True)))
    return 2.0 * math.acos(min(1.0, dot)) > MOVE_MIN_RAD
