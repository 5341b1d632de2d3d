"""What the object memory keeps: remembered objects, and their centres as arrays for tests over all of them at once.

A frame compares each new track with every remembered object and projects
every remembered centre into the camera; with Python loops that grew to 6 ms
a frame at 200 objects. The centres, uncertainties and sizes are kept as
arrays, rebuilt only when the set changes, so a frame's cost stays flat up
to the capacity (`vis-ros eval --memory`).
"""
from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from vis_ros.core.fusion.camera import PinholeCamera
from vis_ros.core.fusion.transform import Rigid

RANGE_SIGMA = 0.02  # position standard deviation per metre of range (centre error p90 2.7%: docs/benchmarks.md)
BASE_SIGMA_M = 0.01  # and at any range (the camera's pose, mask edges)
GATE_SIGMAS = 3.0  # how far two positions of one object may lie apart, in their combined standard deviations
ENTRY_ALLOWANCE = 0.5  # plus this share of the object's longest side: a partly visible object's centre is off
IN_VIEW_MARGIN = 0.1  # a remembered centre counts as in view this share of the image inside its edges
OCCLUSION_MARGIN_M = 0.1  # depth this much nearer than a remembered centre hides it


def position_sigma(range_m):
    """Return the standard deviation of a position measured at `range_m` metres (a number or an array)."""
    return BASE_SIGMA_M + RANGE_SIGMA * range_m


@dataclass(frozen=True)
class RememberedObject:
    """An object as last seen, in the memory's frame."""

    object_id: int
    class_id: int
    class_name: str
    position: tuple[float, float, float]  # box centre
    orientation: tuple[float, float, float, float]
    size: tuple[float, float, float]
    sigma_m: float  # standard deviation of the position
    last_seen_ns: int
    camera: int  # the camera that saw it last
    descriptor: np.ndarray | None = None  # colour histogram (core/tracking/appearance.py)
    classes: frozenset[int] = frozenset()  # every class its tracks were detected as (a detector may waver)

    def may_be(self, class_id: int, classes: frozenset[int]) -> bool:
        """Tell whether a track of `class_id`, detected as `classes`, may be this object.

        The same class, or one the other was ever detected as: a small or
        far object's class can flip between two look-alike classes.
        """
        return class_id == self.class_id or class_id in self.classes or self.class_id in classes


@dataclass(frozen=True)
class CameraView:
    """What one camera saw at one frame, to tell whether a remembered place was in view."""

    camera: PinholeCamera
    pose: Rigid  # the camera's optical frame in the memory's frame
    depth_m: np.ndarray  # on the camera's grid, 0 = no measurement


@dataclass(frozen=True)
class MemoryCounts:
    """What the memory did so far."""

    remembered: int = 0  # objects remembered now
    restored: int = 0  # new tracks given a remembered ID
    forgotten: int = 0  # remembered places seen empty for forget_s
    dropped: int = 0  # over the capacity or older than keep_s
    jumps: int = 0  # a track's position leapt away from its object's: the tracker took another object


class RememberedSet:
    """The remembered objects, least recently seen first, with their columns for tests over all of them."""

    def __init__(self):
        self._objects: collections.OrderedDict[int, RememberedObject] = collections.OrderedDict()
        self._columns = None  # (ids, centres, sigmas, longest sides), rebuilt after a change

    def __len__(self) -> int:
        """Return how many objects are remembered."""
        return len(self._objects)

    def __iter__(self) -> Iterator[RememberedObject]:
        """Iterate least recently seen first."""
        return iter(self._objects.values())

    def __contains__(self, object_id: int) -> bool:
        """Tell whether the object is remembered."""
        return object_id in self._objects

    def add(self, seen: RememberedObject) -> None:
        """Remember an object (as the most recently seen)."""
        self._objects.pop(seen.object_id, None)
        self._objects[seen.object_id] = seen
        self._columns = None

    def pop(self, object_id: int) -> RememberedObject | None:
        """Forget an object; return it (None if it was not remembered)."""
        self._columns = None
        return self._objects.pop(object_id, None)

    def oldest(self) -> RememberedObject:
        """Return the least recently seen object."""
        return next(iter(self._objects.values()))

    def candidates(self, class_id: int, classes: frozenset[int],
                   position) -> list[tuple[RememberedObject, float, float]]:
        """Return the objects a track at `position` may be (`RememberedObject.may_be`): (object, distance, gate).

        The gate: GATE_SIGMAS combined standard deviations (the remembered
        one's and the new one's, taken at the distance between them as a
        lower bound of its range) plus ENTRY_ALLOWANCE of the object's
        longest side.
        """
        if not self._objects:
            return []
        ids, centres, sigmas, longest = self._arrays()
        gaps = np.linalg.norm(centres - np.asarray(position, np.float64), axis=1)
        gates = GATE_SIGMAS * np.hypot(sigmas, position_sigma(gaps)) + ENTRY_ALLOWANCE * longest
        rows = np.flatnonzero(gaps <= gates)  # few: the ones near
        near = [(self._objects[ids[r]], float(gaps[r]), float(gates[r])) for r in rows[np.argsort(gaps[rows])]]
        return [c for c in near if c[0].may_be(class_id, classes)]

    def in_view(self, view: CameraView) -> list[int]:
        """Return the objects whose place the camera sees, unhidden."""
        if not self._objects:
            return []
        ids, centres, _, _ = self._arrays()
        local = view.pose.inverse().points(centres)
        k, (h, w) = view.camera, view.depth_m.shape
        z = np.maximum(local[:, 2], 1e-6)
        u = (k.fx * local[:, 0] / z + k.cx) * w / k.width  # depth may be on another grid than the camera's
        v = (k.fy * local[:, 1] / z + k.cy) * h / k.height
        inside = (local[:, 2] > 0.1) & (u >= IN_VIEW_MARGIN * w) & (u < (1 - IN_VIEW_MARGIN) * w) \
            & (v >= IN_VIEW_MARGIN * h) & (v < (1 - IN_VIEW_MARGIN) * h)
        seen = []
        for row in np.flatnonzero(inside):  # few: the ones in this view
            col, line = int(u[row]), int(v[row])
            patch = view.depth_m[max(line - 2, 0):line + 3, max(col - 2, 0):col + 3]
            valid = patch[patch > 0]
            if valid.size and float(np.median(valid)) >= local[row, 2] - OCCLUSION_MARGIN_M:
                seen.append(ids[row])  # else no depth there, or something nearer hides it: not seen empty
        return seen

    def _arrays(self):
        if self._columns is None:
            objects = list(self._objects.values())
            self._columns = ([o.object_id for o in objects],
                             np.array([o.position for o in objects], np.float64).reshape(-1, 3),
                             np.array([o.sigma_m for o in objects], np.float64),
                             np.array([max(o.size) for o in objects], np.float64))
        return self._columns
