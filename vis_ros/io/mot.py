"""MOTChallenge text format: detections in, tracks out.

Each line: frame, id, bb_left, bb_top, bb_width, bb_height, conf, x, y, z
(frames 1-based; detections carry id -1; world coordinates -1 when unknown).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vis_ros.core.data.detections import Detection
from vis_ros.core.data.instances import PixelBox


def read_mot(path: Path) -> dict[int, np.ndarray]:
    """Frame -> (N, 10) float array of that frame's rows."""
    path = Path(path)
    rows = np.loadtxt(path, delimiter=",", ndmin=2) if path.stat().st_size else np.zeros((0, 10))
    if rows.shape[1] < 7:
        raise ValueError(f"{path}: MOT lines need at least 7 comma-separated values, got {rows.shape[1]}")
    frames: dict[int, list] = {}
    for row in rows:
        frames.setdefault(int(row[0]), []).append(row)
    return {f: np.array(r) for f, r in frames.items()}


def rows_to_detections(rows: np.ndarray, width: int, height: int) -> list[Detection]:
    """Box-only detections; the 'mask' is the full box, clipped to the image."""
    out = []
    for row in rows:
        x0, y0 = max(row[2], 0.0), max(row[3], 0.0)
        x1, y1 = min(row[2] + row[4], width), min(row[3] + row[5], height)
        if x1 <= x0 or y1 <= y0:
            continue
        roi = PixelBox(int(np.floor(x0)), int(np.floor(y0)),
                       int(np.ceil(x1) - np.floor(x0)), int(np.ceil(y1) - np.floor(y0)))
        out.append(Detection(box=(float(x0), float(y0), float(x1), float(y1)),
                             score=float(np.clip(row[6], 0.0, 1.0)), class_id=0, class_name="object",
                             roi=roi, mask=np.ones((roi.height, roi.width), bool)))
    return out


def format_track_line(frame: int, track_id: int, roi: PixelBox, score: float) -> str:
    """Format one MOTChallenge result line (1-based frame, box in pixels, no 3D)."""
    return f"{frame},{track_id},{roi.x:.2f},{roi.y:.2f},{roi.width:.2f},{roi.height:.2f},{score:.4f},-1,-1,-1"
