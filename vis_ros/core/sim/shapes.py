"""The object classes of the simulated world: geometry and surface patterns.

An object's local frame has its origin at the centre of its footprint on the
table and +z up, so placing it is a yaw and a position on the table plane.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vis_ros.core.sim import primitives

CLASS_NAMES = ("box", "ball", "cylinder", "cup", "bottle", "toy")


@dataclass(frozen=True)
class Part:
    """One primitive of an object, translated by `offset` in the object frame."""

    kind: str  # "box" | "ellipsoid" | "frustum"
    offset: tuple[float, float, float]
    params: tuple[float, ...]

    def hit(self, o: np.ndarray, d: np.ndarray):
        """Intersect rays (origins o, directions d) with the shape; return distances (inf for misses)."""
        o = o - np.asarray(self.offset)
        if self.kind == "box":
            return primitives.hit_box(o, d, np.asarray(self.params))
        if self.kind == "ellipsoid":
            return primitives.hit_ellipsoid(o, d, np.asarray(self.params))
        return primitives.hit_frustum(o, d, *self.params)


@dataclass(frozen=True)
class Shape:
    """An object's parts, its tight local bounding box and its surface colours."""

    class_id: int
    parts: tuple[Part, ...]
    half_extents: tuple[float, float, float]  # of the local bounding box
    height: float  # the box spans z in [0, height]
    colour_a: tuple[float, float, float]  # linear RGB in [0, 1]
    colour_b: tuple[float, float, float]
    pattern_scale: float

    @property
    def class_name(self) -> str:
        """The class the shape's instances are labelled with."""
        return CLASS_NAMES[self.class_id]

    @property
    def footprint_radius(self) -> float:
        """Radius of the shape's footprint on its support, to keep objects from overlapping."""
        return float(np.hypot(self.half_extents[0], self.half_extents[1]))

    def hit(self, o: np.ndarray, d: np.ndarray):
        """Nearest hit over all parts: (t, local normal, local point)."""
        best_t = np.full(len(o), np.inf)
        best_n = np.zeros_like(o)
        for part in self.parts:
            t, n = part.hit(o, d)
            closer = t < best_t
            best_t = np.where(closer, t, best_t)
            best_n[closer] = n[closer]
        point = o + d * np.where(np.isfinite(best_t), best_t, 0.0)[:, None]
        return best_t, best_n, point

    def albedo(self, p: np.ndarray) -> np.ndarray:
        """Per-hit colour from the class's pattern at local points p (N, 3)."""
        k = self.pattern_scale
        name = self.class_name
        if name == "box":  # cardboard grain with a tape band across the top
            pick = (np.abs(p[:, 1]) < 0.12 * self.half_extents[1]) & (p[:, 2] > 0.7 * self.height)
            grain = 0.9 + 0.1 * np.sin(p[:, 0] * 60.0 * k)
            return np.where(pick[:, None], self.colour_b, np.asarray(self.colour_a) * grain[:, None])
        if name == "ball":  # alternating longitude sectors
            angle = np.arctan2(p[:, 1], p[:, 0])
            pick = (np.floor(angle / (np.pi / 3)) % 2) == 0
        elif name == "cylinder":  # horizontal bands
            pick = (np.floor(p[:, 2] / (self.height / (3 + 2 * k))) % 2) == 0
        elif name == "cup":  # plain with one band near the rim
            pick = (p[:, 2] > 0.62 * self.height) & (p[:, 2] < 0.8 * self.height)
        elif name == "bottle":  # label on the body
            body = self.parts[0].params[2]
            pick = (p[:, 2] > 0.3 * body) & (p[:, 2] < 0.75 * body)
        else:  # toy: 3D checker
            cells = np.floor(p / (0.025 * k)).astype(np.int64)
            pick = (cells.sum(axis=1) % 2) == 0
        return np.where(pick[:, None], self.colour_b, self.colour_a)


def _colour(rng: np.random.Generator, saturation=(0.3, 1.0), value=(0.3, 1.0)):
    import colorsys

    return colorsys.hsv_to_rgb(rng.random(), rng.uniform(*saturation), rng.uniform(*value))


def random_shape(class_id: int, rng: np.random.Generator) -> Shape:
    """Sample sizes (metres) and colours of one object of `class_id`."""
    name = CLASS_NAMES[class_id]
    u = rng.uniform
    if name == "box":
        hx, hy, hz = u(0.04, 0.12), u(0.04, 0.12), u(0.03, 0.1)
        parts = (Part("box", (0, 0, hz), (hx, hy, hz)),)
        half, height = (hx, hy, hz), 2 * hz
        colour_a = _colour(rng, (0.3, 0.7), (0.4, 0.8))
    elif name == "ball":
        r = u(0.035, 0.09)
        parts = (Part("ellipsoid", (0, 0, r), (r, r, r)),)
        half, height = (r, r, r), 2 * r
        colour_a = _colour(rng, (0.6, 1.0), (0.6, 1.0))
    elif name == "cylinder":
        r, h = u(0.03, 0.06), u(0.08, 0.2)
        parts = (Part("frustum", (0, 0, 0), (r, r, h)),)
        half, height = (r, r, h / 2), h
        colour_a = _colour(rng)
    elif name == "cup":
        r0, h = u(0.03, 0.045), u(0.07, 0.11)
        r1 = r0 * u(1.2, 1.45)
        parts = (Part("frustum", (0, 0, 0), (r0, r1, h)),)
        half, height = (r1, r1, h / 2), h
        colour_a = _colour(rng, (0.0, 0.3), (0.7, 1.0))
    elif name == "bottle":
        r, rn = u(0.03, 0.045), u(0.012, 0.018)
        hb, hs, hn = u(0.12, 0.2), u(0.025, 0.045), u(0.04, 0.07)
        parts = (Part("frustum", (0, 0, 0), (r, r, hb)),
                 Part("frustum", (0, 0, hb), (r, rn, hs)),
                 Part("frustum", (0, 0, hb + hs), (rn, rn, hn)))
        half, height = (r, r, (hb + hs + hn) / 2), hb + hs + hn
        colour_a = _colour(rng, (0.4, 1.0), (0.3, 0.8))
    elif name == "toy":
        rx, ry, rz = u(0.04, 0.08), u(0.03, 0.06), u(0.025, 0.045)
        parts = (Part("ellipsoid", (0, 0, rz), (rx, ry, rz)),)
        half, height = (rx, ry, rz), 2 * rz
        colour_a = _colour(rng, (0.6, 1.0), (0.6, 1.0))
    else:
        raise ValueError(f"unknown class id {class_id}; valid: 0..{len(CLASS_NAMES) - 1}")
    return Shape(class_id=class_id, parts=parts, half_extents=tuple(float(v) for v in half),
                 height=float(height), colour_a=tuple(colour_a), colour_b=_colour(rng),
                 pattern_scale=float(u(0.7, 1.4)))
