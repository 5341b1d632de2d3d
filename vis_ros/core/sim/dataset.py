"""On-disk format of a simulated sequence, and reading it back.

DIR/manifest.json   sequence metadata, intrinsics, classes, per-frame ground truth
DIR/rgb/NNNNNN.png        8-bit colour (standard PNG, RGB)
DIR/depth/NNNNNN.png      16-bit depth in millimetres aligned to rgb, 0 = invalid
DIR/instances/NNNNNN.png  16-bit instance ids (object id, 0 = background)

Per object and frame the manifest holds the persistent `id`, `class_id`,
`class_name`, `visible_pixels`, the 2D `bbox` [x, y, w, h] of its visible
pixels, and in the camera optical frame (REP-103, metres): `position` of its
footprint centre, `rotation` (3x3, object -> camera) and the 3D box
(`box_center`, `box_size` along the object's axes, same rotation).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from vis_ros.core.fusion.camera import PinholeCamera
from vis_ros.core.sim.scene import SimOptions
from vis_ros.core.sim.sequence import generate_sequence
from vis_ros.core.sim.shapes import CLASS_NAMES

FORMAT_VERSION = 1


def _object_record(truth, ids: np.ndarray) -> dict:
    ys, xs = np.nonzero(ids == truth.object_id)
    bbox = ([int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
            if len(xs) else [0, 0, 0, 0])
    return {
        "id": truth.object_id, "class_id": truth.class_id, "class_name": truth.class_name,
        "visible_pixels": truth.visible_pixels, "bbox": bbox,
        "position": truth.position.tolist(), "rotation": truth.rotation.tolist(),
        "box_center": truth.box_center.tolist(), "box_size": truth.box_size.tolist(),
    }


def write_sequence(out: Path, seed: int, frames: int, options: SimOptions = SimOptions(),
                   progress=None) -> Path:
    """Render a sequence to `out` and return the manifest path."""
    intrinsics, frame_iter = generate_sequence(seed, frames, options)
    for sub in ("rgb", "depth", "instances"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    records = []
    for frame in frame_iter:
        name = f"{frame.index:06d}.png"
        cv2.imwrite(str(out / "rgb" / name), cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(out / "depth" / name), frame.depth_mm)
        cv2.imwrite(str(out / "instances" / name), frame.instance_ids)
        records.append({
            "index": frame.index, "stamp_ns": frame.stamp_ns,
            "rgb": f"rgb/{name}", "depth": f"depth/{name}", "instances": f"instances/{name}",
            "objects": [_object_record(t, frame.instance_ids) for t in frame.objects],
        })
        if progress is not None:
            progress()
    manifest = {
        "format_version": FORMAT_VERSION, "seed": seed, "frames": frames,
        "options": {**asdict(options), "classes": list(options.classes)},
        "fps": options.fps, "width": intrinsics.width, "height": intrinsics.height,
        "intrinsics": {"fx": intrinsics.fx, "fy": intrinsics.fy, "cx": intrinsics.cx,
                       "cy": intrinsics.cy, "distortion_model": "plumb_bob",
                       "distortion": [0.0] * 5},
        "depth_scale_m": 0.001, "frame_id": "camera_color_optical_frame",
        "classes": list(CLASS_NAMES), "frames_gt": records,
    }
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, indent=1))
    return path


@dataclass(frozen=True)
class LoadedFrame:
    """One frame read back from disk: colour, depth and the instance ids."""

    index: int
    stamp_ns: int
    rgb: np.ndarray
    depth_mm: np.ndarray
    instance_ids: np.ndarray
    objects: list[dict]


class SimDataset:
    """Reads a sequence written by `write_sequence`."""

    def __init__(self, root: Path):
        self.root = Path(root)
        path = self.root / "manifest.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: not a vis-ros sim sequence")
        self.manifest = json.loads(path.read_text())
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: format_version {self.manifest.get('format_version')}"
                             f" is not {FORMAT_VERSION}")
        k = self.manifest["intrinsics"]
        self.intrinsics = PinholeCamera(k["fx"], k["fy"], k["cx"], k["cy"],
                                     self.manifest["width"], self.manifest["height"])
        self.classes: list[str] = self.manifest["classes"]

    def __len__(self) -> int:
        """Count the frames on disk."""
        return len(self.manifest["frames_gt"])

    def __getitem__(self, i: int) -> LoadedFrame:
        """Load frame `i` (PNG decode: use once per frame)."""
        rec = self.manifest["frames_gt"][i]
        bgr = cv2.imread(str(self.root / rec["rgb"]), cv2.IMREAD_COLOR)
        return LoadedFrame(
            index=rec["index"], stamp_ns=rec["stamp_ns"], rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB),
            depth_mm=cv2.imread(str(self.root / rec["depth"]), cv2.IMREAD_UNCHANGED),
            instance_ids=cv2.imread(str(self.root / rec["instances"]), cv2.IMREAD_UNCHANGED),
            objects=rec["objects"],
        )

    def __iter__(self) -> Iterator[LoadedFrame]:
        """Load the frames in order."""
        return (self[i] for i in range(len(self)))
