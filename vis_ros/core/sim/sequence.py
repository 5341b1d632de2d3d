"""Deterministic RGB-D sequences: a Scene rendered over time with sensor effects."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from vis_ros.core.fusion.camera import PinholeCamera
from vis_ros.core.sim.render import Background, ObjectTruth, _camera_rays, render_frame, static_background
from vis_ros.core.sim.scene import Scene, SimOptions, random_scene
from vis_ros.core.sim.sensor import blend_exposure, noisy_rgb, sensor_depth_mm

# Sequences start at a fixed, realistic epoch so stamps are deterministic.
EPOCH_NS = 1_700_000_000 * 1_000_000_000
_EXPOSURE_S = 1.0 / 60.0


@dataclass(frozen=True)
class SimFrame:
    """One simulated RGB-D frame with its ground truth."""

    index: int
    stamp_ns: int
    rgb: np.ndarray  # (H, W, 3) uint8, RGB order
    depth_mm: np.ndarray  # (H, W) uint16, aligned to rgb, 0 = invalid
    depth_true_m: np.ndarray  # (H, W) float32, exact depth before sensor effects
    instance_ids: np.ndarray  # (H, W) uint16, 0 = background, else object id
    objects: tuple[ObjectTruth, ...]


def render_sim_frame(scene: Scene, seed: int, index: int, options: SimOptions,
                     rays: np.ndarray | None = None, background: Background | None = None) -> SimFrame:
    """Frame `index` of the sequence of `scene` (seeded noise, so order-independent)."""
    t = index / options.fps
    rendered = render_frame(scene, t, rays, background)
    rgb = rendered.rgb
    if options.motion_blur:
        rgb = blend_exposure([render_frame(scene, t - _EXPOSURE_S / 2, rays, background).rgb, rgb,
                              render_frame(scene, t + _EXPOSURE_S / 2, rays, background).rgb])
    rng = np.random.default_rng((seed, index))
    return SimFrame(
        index=index,
        stamp_ns=EPOCH_NS + round(t * 1e9),
        rgb=noisy_rgb(rgb, rng, options.rgb_noise),
        depth_mm=sensor_depth_mm(rendered.depth, rng, options.depth_defects),
        depth_true_m=rendered.depth,
        instance_ids=rendered.instance_ids,
        objects=rendered.objects,
    )


def generate_sequence(seed: int, frames: int, options: SimOptions = SimOptions()
                      ) -> tuple[PinholeCamera, Iterator[SimFrame]]:
    """Return the intrinsics and a lazy iterator over `frames` frames of scene `seed`."""
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    return sequence_frames(seed, range(frames), options)


def sequence_frames(seed: int, indices: Sequence[int], options: SimOptions = SimOptions()
                    ) -> tuple[PinholeCamera, Iterator[SimFrame]]:
    """Return the intrinsics and a lazy iterator over frames `indices` of scene `seed`.

    A frame depends on its index only, so every 10th frame costs a tenth of
    the sequence, and equals the same frame of `generate_sequence`.
    """
    scene = random_scene(seed, options)
    rays = _camera_rays(scene)
    background = static_background(scene, rays)
    return scene.intrinsics, (render_sim_frame(scene, seed, i, options, rays, background) for i in indices)
