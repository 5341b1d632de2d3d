"""Held-out simulated frames: seeds never used in training.

Training draws scene seeds 0..samples-1 (far below HELDOUT_SEED_BASE), so
every frame here comes from a scene the model has never seen.
"""
from __future__ import annotations

from collections.abc import Iterator

from vis_ros.core.sim.scene import SimOptions, random_scene
from vis_ros.core.sim.sequence import SimFrame, render_sim_frame

HELDOUT_SEED_BASE = 1_000_000


def heldout_frames(count: int, per_sequence: int = 10, spacing: int = 9,
                   options: SimOptions = SimOptions()) -> Iterator[tuple[int, SimFrame]]:
    """`count` frames: `per_sequence` frames `spacing` apart from consecutive held-out scenes."""
    produced, seed = 0, HELDOUT_SEED_BASE
    while produced < count:
        scene = random_scene(seed, options)
        for i in range(min(per_sequence, count - produced)):
            yield seed, render_sim_frame(scene, seed, i * spacing, options)
            produced += 1
        seed += 1
