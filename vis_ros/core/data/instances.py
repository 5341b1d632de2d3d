"""Plain data that crosses the core/ROS seam: 2D and 3D instances per frame.

Times are integer nanoseconds (`stamp_ns`), not float seconds, because a float
cannot hold a ROS stamp exactly and these records must round-trip through
messages losslessly. Lengths are metres; pixel boxes are integer pixels.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

import numpy as np

_UINT16_MAX = 2**16 - 1
_UINT32_MAX = 2**32 - 1
_UINT64_MAX = 2**64 - 1
_STAMP_NS_MAX = (2**31 - 1) * 10**9 + 10**9 - 1  # builtin_interfaces/Time range


def _check_text(name: str, value: str) -> None:
    """Refuse text a ROS string cannot carry.

    ROS strings are UTF-8 C strings on the wire: a NUL would silently truncate
    them, and text that is not valid UTF-8 (lone surrogates) cannot be sent.
    """
    if "\x00" in value:
        raise ValueError(f"{name} must not contain NUL characters, got {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} is not valid UTF-8 text: {value!r}") from exc


class TrackState(enum.IntEnum):
    """Life cycle of a track; values match the Instance.STATE_* constants."""

    TENTATIVE = 0
    CONFIRMED = 1
    COASTING = 2


def is_published(state: TrackState, publish_tentative: bool = False) -> bool:
    """Tell whether the node publishes a track in this state.

    The node's one rule: confirmed and coasting tracks (the tracker reports
    coasting ones only within report_coasting_s), tentative ones only on
    request. The tracking evaluation scores the same set.
    """
    return publish_tentative or state != TrackState.TENTATIVE


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")


@dataclass(frozen=True)
class PixelBox:
    """Axis-aligned box in image pixels: top-left corner and size."""

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        """Check every field fits its message field (uint32)."""
        # One chained test first: boxes are made per instance per frame, and
        # the per-field checks (for the message) cost more than the test.
        if 0 <= self.x <= _UINT32_MAX and 0 <= self.y <= _UINT32_MAX \
                and 0 <= self.width <= _UINT32_MAX and 0 <= self.height <= _UINT32_MAX:
            return
        for name in ("x", "y", "width", "height"):
            _check_range(f"PixelBox.{name}", getattr(self, name), 0, _UINT32_MAX)

    @property
    def x_end(self) -> int:
        """First column right of the box."""
        return self.x + self.width

    @property
    def y_end(self) -> int:
        """First row below the box."""
        return self.y + self.height


@dataclass(frozen=True, eq=False)
class Instance2D:
    """One segmented object in one image; `mask` is local to `box`."""

    track_id: int
    class_id: int
    class_name: str
    score: float
    state: TrackState
    age: int
    box: PixelBox
    mask: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        """Check ranges and text against the Instance message, the mask against the box."""
        if not (1 <= self.track_id <= _UINT64_MAX and 0 <= self.class_id <= _UINT16_MAX
                and 0 <= self.age <= _UINT32_MAX):  # one test on the hot path, then the message
            _check_range("track_id", self.track_id, 1, _UINT64_MAX)
            _check_range("class_id", self.class_id, 0, _UINT16_MAX)
            _check_range("age", self.age, 0, _UINT32_MAX)
        _check_text("class_name", self.class_name)
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {self.score!r}")
        if type(self.state) is not TrackState:
            object.__setattr__(self, "state", TrackState(self.state))
        if self.mask.dtype != bool:
            raise ValueError(f"mask must be bool, got {self.mask.dtype}")
        if self.mask.shape != (self.box.height, self.box.width):
            raise ValueError(
                f"mask shape {self.mask.shape} does not match box"
                f" {self.box.height}x{self.box.width}"
            )

    def __eq__(self, other: object) -> bool:
        """Compare field by field, masks by value (numpy arrays have no single truth value)."""
        if not isinstance(other, Instance2D):
            return NotImplemented
        return (
            (self.track_id, self.class_id, self.class_name, self.score)
            == (other.track_id, other.class_id, other.class_name, other.score)
            and (self.state, self.age, self.box) == (other.state, other.age, other.box)
            and np.array_equal(self.mask, other.mask)
        )

    __hash__ = None  # mutable numpy payload: not hashable

    def full_mask(self, height: int, width: int) -> np.ndarray:
        """Paste the mask into a (height, width) image; for tests and drawing."""
        out = np.zeros((height, width), dtype=bool)
        box = self.box
        out[box.y : box.y_end, box.x : box.x_end] = self.mask[
            : max(0, height - box.y), : max(0, width - box.x)
        ]
        return out


@dataclass(frozen=True)
class InstanceFrame:
    """All instances of one image, stamped with that image's time and frame."""

    stamp_ns: int
    frame_id: str
    height: int
    width: int
    keyframe: bool
    instances: tuple[Instance2D, ...] = ()

    def __post_init__(self) -> None:
        """Check the stamp, size and frame id against the message; store instances as a tuple."""
        _check_range("stamp_ns", self.stamp_ns, 0, _STAMP_NS_MAX)
        _check_range("height", self.height, 0, _UINT32_MAX)
        _check_range("width", self.width, 0, _UINT32_MAX)
        _check_text("frame_id", self.frame_id)
        object.__setattr__(self, "instances", tuple(self.instances))

    def published(self, publish_tentative: bool = False, class_names=()) -> InstanceFrame:
        """Keep the instances the node publishes.

        The tracks `is_published` accepts, of `class_names` only when given: one
        filter for the node and for process-bag.
        """
        wanted = {c for c in class_names if c}
        keep = [i for i in self.instances if is_published(i.state, publish_tentative)
                and (not wanted or i.class_name in wanted)]
        return replace(self, instances=keep)


Vector3 = tuple[float, float, float]
Quaternion = tuple[float, float, float, float]  # x, y, z, w


@dataclass(frozen=True)
class Instance3D:
    """One instance located in 3D, in the frame of its Instance3DFrame.

    `confidence` 0 means too few valid depth points: the instance is reported
    so consumers see it, but its pose must not be used.
    """

    track_id: int
    class_id: int
    class_name: str
    score: float
    position: Vector3
    orientation: Quaternion
    size: Vector3
    velocity: Vector3
    num_points: int
    confidence: float

    def __post_init__(self) -> None:
        """Check ranges and text against the Instance3D message; store vectors as float tuples."""
        _check_range("track_id", self.track_id, 1, _UINT64_MAX)
        _check_range("class_id", self.class_id, 0, _UINT16_MAX)
        _check_range("num_points", self.num_points, 0, _UINT32_MAX)
        _check_text("class_name", self.class_name)
        for name in ("score", "confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        for name, length in (("position", 3), ("orientation", 4), ("size", 3), ("velocity", 3)):
            value = tuple(float(v) for v in getattr(self, name))
            if len(value) != length:
                raise ValueError(f"{name} needs {length} values, got {value!r}")
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class Instance3DFrame:
    """All 3D instances of one image."""

    stamp_ns: int
    frame_id: str
    instances: tuple[Instance3D, ...] = ()

    def __post_init__(self) -> None:
        """Check the stamp and frame id against the message; store instances as a tuple."""
        _check_range("stamp_ns", self.stamp_ns, 0, _STAMP_NS_MAX)
        _check_text("frame_id", self.frame_id)
        object.__setattr__(self, "instances", tuple(self.instances))
