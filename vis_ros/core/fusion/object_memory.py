"""A memory of objects in a world-fixed frame: an object that leaves the view and comes back keeps its ID.

The tracker re-identifies a lost track for `reid_window_s` (3 s) from its
image position and colour. A robot that turns its head, or drives down an
aisle and back, sees the same cup again after ten seconds or two minutes,
where the image position says nothing; the cup's position in the world
(`target_frame`: map, odom) still does. So, with depth and a world-fixed
target frame, each object that leaves the view is remembered: class, 3D box,
how uncertain its position is, its colour descriptor, when it was last seen.
A new track whose 3D box agrees with a remembered object (the same class, or
one either was ever detected as; within the positions' uncertainty; similar
colours) takes the remembered ID in its first RESTORE_WINDOW_S: the ID users
see (`aliases`: tracker id -> object ID) changes, the tracker's own ids do
not. A track whose position leaps away
from its object's between two frames (the tracker took a neighbour of the
same class) is taken for a new track again.

The world changes: a remembered object whose place is in view, not hidden
behind something nearer in the depth image, yet not seen there for
`forget_s`, is forgotten (someone took the cup away). The memory is bounded:
at most `capacity` objects (the least recently seen goes first) and none
older than `keep_s`.

One memory serves every camera of a runner (track ids are unique across
them), so an object that leaves one camera's view and enters another's keeps
its ID too; each camera's frames only decide about what that camera sees.
"""
from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

import numpy as np

from vis_ros.core.data.instances import Instance3D, Instance3DFrame, InstanceFrame
from vis_ros.core.fusion.memory_config import MemoryConfig
from vis_ros.core.fusion.memory_records import (
    ENTRY_ALLOWANCE,
    GATE_SIGMAS,
    CameraView,
    MemoryCounts,
    RememberedObject,
    RememberedSet,
    position_sigma,
)
from vis_ros.core.tracking.appearance import similarity
from vis_ros.core.tracking.track import Appearance

RESTORE_WINDOW_S = 1.0  # a new track may take a remembered ID this long after its first 3D frame (class settling)
JUMP_SIGMA = 0.01  # standard deviation of a position's change between two frames, per metre of range (and at 1 m)
MAX_SPEED = 2.0  # m/s an object may move between two frames (a walking person: 1.5) before a leap is a jump
NO_APPEARANCE = Appearance(None, frozenset())
TRACK_GONE_S = 120.0  # a tracker id unseen this long is not coming back (reid_window_s is at most 60 s)


class ObjectMemory:
    """See the module docstring."""

    def __init__(self, config: MemoryConfig | None = None,
                 forget_tracks: Callable[[Iterable[int]], None] | None = None):
        self.config = config or MemoryConfig()
        self._forget_tracks = forget_tracks  # tells the trackers to stop re-identifying these ids
        self.reset()

    def reset(self) -> None:
        """Forget everything (stamps went backwards: a bag loop, a clock reset)."""
        self.aliases: dict[int, int] = {}  # tracker id -> object ID, where they differ
        self._live: dict[int, RememberedObject] = {}  # object ID -> as seen in its camera's latest frame
        self._remembered = RememberedSet()
        self._tracks: dict[int, tuple[int, int]] = {}  # tracker id -> its first (restorable since) and latest stamp
        self._expected_ns: dict[tuple[int, int], int] = {}  # (camera, object ID) -> since when its place is seen empty
        self._counts = collections.Counter()

    @property
    def counts(self) -> MemoryCounts:
        """Return what the memory did so far."""
        c = self._counts
        return MemoryCounts(len(self._remembered), c["restored"], c["forgotten"], c["dropped"], c["jumps"])

    def remembered(self) -> tuple[RememberedObject, ...]:
        """Return the objects remembered now (not in any camera's latest frame), least recently seen first."""
        return tuple(self._remembered)

    def object_id(self, track_id: int) -> int:
        """Return the ID users see for a tracker's id."""
        return self.aliases.get(track_id, track_id)

    def renamed(self, frame: InstanceFrame | Instance3DFrame) -> InstanceFrame | Instance3DFrame:
        """Return a 2D or 3D frame with the IDs users see."""
        if not any(i.track_id in self.aliases for i in frame.instances):
            return frame
        return replace(frame, instances=tuple(replace(i, track_id=self.object_id(i.track_id))
                                              for i in frame.instances))

    def update(self, camera: int, frame: Instance3DFrame, view: CameraView,
               appearances: Mapping[int, Appearance]) -> Instance3DFrame:
        """Take one camera's fused frame (in the memory's frame, tracker ids); return it with the IDs users see.

        `appearances` gives each tracker id's colours and classes (Tracker.appearances).
        """
        stamp = frame.stamp_ns
        present = {self.object_id(i.track_id) for i in frame.instances}
        for object_id in [k for k, seen in self._live.items() if seen.camera == camera and k not in present]:
            self._remembered.add(self._live.pop(object_id))
        for inst in frame.instances:
            self._tracks[inst.track_id] = (self._tracks.get(inst.track_id, (stamp, stamp))[0], stamp)
        jumped = [inst for inst in frame.instances if self._jumped(camera, inst, view, stamp)]
        self._restore(frame, appearances)
        for inst in jumped:  # its own object, unrestored: it moved after all
            if self.object_id(inst.track_id) == inst.track_id:
                self._remembered.pop(inst.track_id)
        self._one_track_an_object(frame)
        for inst in frame.instances:
            if inst.confidence > 0:  # else no usable pose this frame: keep what was seen before
                self._see(camera, inst, view, stamp, appearances.get(inst.track_id, NO_APPEARANCE))
        self._forget_unseen(camera, view, stamp)
        self._bound(stamp)
        return self.renamed(frame)

    # -- steps --------------------------------------------------------------------------
    def _see(self, camera: int, inst: Instance3D, view: CameraView, stamp: int, appearance: Appearance) -> None:
        object_id = self.object_id(inst.track_id)
        before = self._live.get(object_id)
        descriptor = appearance.descriptor if appearance.descriptor is not None or before is None \
            else before.descriptor
        classes = appearance.classes | {inst.class_id} | (before.classes if before is not None else frozenset())
        self._live[object_id] = RememberedObject(object_id, inst.class_id, inst.class_name, inst.position,
                                                 inst.orientation, inst.size, position_sigma(_range(inst, view)),
                                                 stamp, camera, descriptor, classes)

    def _jumped(self, camera: int, inst: Instance3D, view: CameraView, stamp: int) -> bool:
        """Tell whether a track leapt away from its object since this camera's last frame; if so, start it over.

        The object is remembered where it was; the track loses its alias and
        may be restored like a new one.
        """
        object_id = self.object_id(inst.track_id)
        seen = self._live.get(object_id)
        if inst.confidence <= 0 or seen is None or seen.camera != camera:
            return False
        allowed = GATE_SIGMAS * JUMP_SIGMA * max(_range(inst, view), 1.0) * np.sqrt(2.0) \
            + ENTRY_ALLOWANCE * max(seen.size) + MAX_SPEED * (stamp - seen.last_seen_ns) * 1e-9
        if float(np.linalg.norm(np.asarray(inst.position) - np.asarray(seen.position))) <= allowed:
            return False
        self._remembered.add(self._live.pop(object_id))
        self.aliases.pop(inst.track_id, None)
        self._tracks[inst.track_id] = (stamp, stamp)
        self._counts["jumps"] += 1
        return True

    def _restore(self, frame: Instance3DFrame, appearances: Mapping[int, Appearance]) -> None:
        """Give new tracks agreeing with a remembered object its ID (each object at most once, best pairs first)."""
        stamp, pairs = frame.stamp_ns, []
        for inst in frame.instances:
            track = inst.track_id
            if track in self.aliases or inst.confidence <= 0 or (stamp - self._tracks[track][0]) * 1e-9 > \
                    RESTORE_WINDOW_S:
                continue
            appearance = appearances.get(track, NO_APPEARANCE)
            for old, gap, gate in self._remembered.candidates(inst.class_id, appearance.classes, inst.position):
                alike = similarity(appearance.descriptor, old.descriptor)
                if alike >= self.config.min_similarity:
                    pairs.append((gap / gate - alike, track, old.object_id))
        taken_tracks, taken_objects = set(), set()
        for _, track, object_id in sorted(pairs):
            if track in taken_tracks or object_id in taken_objects:
                continue
            taken_tracks.add(track)
            taken_objects.add(object_id)
            self._remembered.pop(object_id)
            self._not_expected(object_id)
            self._counts["restored"] += 1
            if object_id == track:  # the tracker revived its own track: nothing to rename
                continue
            if self._forget_tracks is not None:  # its earlier tracks: not to be revived beside this one
                self._forget_tracks([t for t, o in self.aliases.items() if o == object_id] + [object_id])
            self.aliases[track] = object_id
            self._live.pop(track, None)  # seen under its own id within the window: that was this object

    def _one_track_an_object(self, frame: Instance3DFrame) -> None:
        """Two tracks of one object in a frame (an earlier one came back beside the new): one keeps the ID.

        The object's own first track keeps it, else the newest (restored last);
        the others go back to their own ids.
        """
        by_object = collections.defaultdict(list)
        for inst in frame.instances:
            by_object[self.object_id(inst.track_id)].append(inst.track_id)
        for object_id, tracks in by_object.items():
            if len(tracks) > 1:
                keep = object_id if object_id in tracks else max(tracks)
                for track in tracks:
                    if track != keep:
                        self.aliases.pop(track, None)

    def _forget_unseen(self, camera: int, view: CameraView, stamp: int) -> None:
        """Forget remembered objects whose place this camera sees, unhidden and empty, for forget_s."""
        seen = set(self._remembered.in_view(view))
        for key in [key for key in self._expected_ns if key[0] == camera and key[1] not in seen]:
            del self._expected_ns[key]
        for object_id in seen:
            since = self._expected_ns.setdefault((camera, object_id), stamp)
            if (stamp - since) * 1e-9 >= self.config.forget_s:
                self._drop(object_id, "forgotten")

    def _not_expected(self, object_id: int) -> None:
        for key in [key for key in self._expected_ns if key[1] == object_id]:  # few: the places in view
            del self._expected_ns[key]

    def _bound(self, stamp: int) -> None:
        """Keep at most `capacity` objects, none older than keep_s; forget tracker ids long gone."""
        keep_ns = int(self.config.keep_s * 1e9)
        while len(self._remembered):
            oldest = self._remembered.oldest()
            if stamp - oldest.last_seen_ns <= keep_ns and len(self._remembered) <= self.config.capacity:
                break
            self._drop(oldest.object_id, "dropped")
        if len(self._tracks) > 4 * (len(self._live) + 64):
            self._tracks = {t: seen for t, seen in self._tracks.items() if (stamp - seen[1]) * 1e-9 <= TRACK_GONE_S}
            self.aliases = {t: o for t, o in self.aliases.items() if t in self._tracks}

    def _drop(self, object_id: int, why: str) -> None:
        self._remembered.pop(object_id)
        self._not_expected(object_id)
        for track in [t for t, o in self.aliases.items() if o == object_id]:
            del self.aliases[track]
        self._counts[why] += 1


def _range(inst: Instance3D, view: CameraView) -> float:
    """Return how far the instance is from the camera (metres)."""
    return float(np.linalg.norm(np.asarray(inst.position) - np.asarray(view.pose.translation)))
