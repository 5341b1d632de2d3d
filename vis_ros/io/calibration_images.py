"""Where calibration images come from: a folder, a rosbag2 image topic, or the simulator.

Unreadable files or messages are skipped and counted, so a folder with a few
bad files still calibrates; one with no readable image is an error naming
the folder. The tensors are made by vis_ros.core.model_tools.calibration.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass
class CalibrationSource:
    """Where calibration images come from: exactly one of folder, bag (+ topic) or sim frames.

    `skipped` counts images that could not be read, once iterated.
    """

    folder: Path | None = None
    bag: Path | None = None
    topic: str = "/camera/color/image_raw"
    sim_frames: int = 0
    count: int = 300
    skipped: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        """Refuse zero or several sources and a count below 1."""
        given = [self.folder is not None, self.bag is not None, self.sim_frames > 0]
        if sum(given) != 1:
            raise ValueError("give exactly one calibration source: a folder, a bag, or a number of sim frames")
        if self.count < 1:
            raise ValueError(f"count must be >= 1, got {self.count}")

    def describe(self) -> str:
        """Name the source for logs and the model's metadata."""
        if self.folder is not None:
            return f"images under {self.folder}"
        if self.bag is not None:
            return f"{self.topic} in {self.bag}"
        return f"{self.sim_frames} simulated frames"

    def images(self) -> Iterator[np.ndarray]:
        """Yield up to `count` (H, W, 3) uint8 RGB images; ValueError if none is readable."""
        produced = 0
        source = self._folder() if self.folder is not None else self._bag() if self.bag is not None else self._sim()
        for rgb in source:
            if rgb is None:
                self.skipped += 1
                continue
            yield rgb
            produced += 1
            if produced >= self.count:
                return
        if produced == 0:
            raise ValueError(f"no readable calibration image in {self.describe()} ({self.skipped} unreadable)")

    def _folder(self):
        import cv2

        folder = Path(self.folder)
        if not folder.is_dir():
            raise ValueError(f"calibration folder {folder} does not exist")
        for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            yield None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _bag(self):
        from vis_ros.io.bag_images import colour_images

        for rgb in colour_images(self.bag, self.topic):
            yield None if rgb is None else np.ascontiguousarray(rgb)

    def _sim(self):
        from vis_ros.core.sim.scene import SimOptions
        from vis_ros.core.sim.sequence import generate_sequence

        for i in range(self.sim_frames):  # one frame per scene: variety over repetition
            _, frames = generate_sequence(CALIBRATION_SEED_BASE + i, 1, SimOptions())
            yield next(frames).rgb


# Far from training (0..), detection evaluation (1_000_000..) and tracking (2_000_000..).
CALIBRATION_SEED_BASE = 3_000_000


