"""Fingerprint of what the node's pipeline publishes, to show a refactor changed nothing.

Runs the node's stream runner at its default parameters
(vis_ros.core.config.settings.node_defaults) with the embedded model at each
precision over 8 simulated sequences x 30 frames (8 objects each), frame by
frame and with keyframe_interval 3, serializes each frame's published
InstanceArray with the node's own writer, and prints
one SHA-256 per precision and mode. Same digests before and after a change:
byte-identical output on these 240 frames.

    source tools/env.sh && python -P tools/pipeline_fingerprint.py
"""
from __future__ import annotations

import hashlib
import logging

from vis_ros.core.config.factories import build_runner, build_segmenter
from vis_ros.core.config.settings import node_defaults
from vis_ros.core.pipeline.offline import run_one
from vis_ros.core.sim.scene import SimOptions
from vis_ros.core.sim.sequence import generate_sequence
from vis_ros.core.streaming.notices import Notices
from vis_ros.io.instance_wire import serialize_instance_array

SEQUENCES, FRAMES, SEED_BASE = 8, 30, 9000


def fingerprint(keyframe_interval: int, segmenter, precision: str) -> str:
    """Return the SHA-256 of every published frame's bytes, in order."""
    settings = node_defaults(keyframe_interval=keyframe_interval, precision=precision)
    digest = hashlib.sha256()
    for seed in range(SEED_BASE, SEED_BASE + SEQUENCES):
        runner = build_runner(settings, segmenter, Notices(logging.getLogger("fingerprint")))
        _, frames = generate_sequence(seed, FRAMES, SimOptions(objects=8))
        for f in frames:
            digest.update(serialize_instance_array(run_one(runner, f.rgb, f.stamp_ns, "cam").frame))
    return digest.hexdigest()


def main() -> int:
    """Print the digest of each mode."""
    for precision in ("fp32", "int8"):
        segmenter = build_segmenter(node_defaults(precision=precision))
        for interval in (1, 3):
            print(f"{precision} keyframe_interval {interval}: {fingerprint(interval, segmenter, precision)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
