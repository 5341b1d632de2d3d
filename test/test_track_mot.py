"""vis-ros track-mot on MOTChallenge-format files, scored with trackeval."""
from __future__ import annotations

import numpy as np

from vis_ros.cli import main
from vis_ros.evaluation.tracking_metrics import SequenceRecorder, summarize
from vis_ros.io.mot import read_mot


def _truth(frames=80):
    """Three pedestrians-like boxes: two cross, one walks behind the others."""
    rows = []
    for f in range(1, frames + 1):
        rows.append((f, 1, 100 + 6 * f, 300, 40, 100))
        rows.append((f, 2, 700 - 6 * f, 310, 40, 100))
        rows.append((f, 3, 300, 100 + 2 * f, 50, 120))
    return np.array(rows, float)


def test_track_mot_recovers_identities_from_noisy_detections(tmp_path):
    rng = np.random.default_rng(0)
    truth = _truth()
    dets = []
    for row in truth:
        if rng.random() < 0.08:  # missed detections
            continue
        noisy = row.copy()
        noisy[1] = -1
        noisy[2:4] += rng.normal(0, 2, 2)
        dets.append([*noisy, rng.uniform(0.6, 1.0), -1, -1, -1])
    det_file = tmp_path / "det.txt"
    np.savetxt(det_file, np.array(dets), delimiter=",", fmt="%.2f")
    out = tmp_path / "tracks.txt"
    assert main(["track-mot", "--detections", str(det_file), "--out", str(out),
                 "--width", "800", "--height", "600"]) == 0
    tracks = read_mot(out)
    rec = SequenceRecorder()
    gt_frames = read_mot_rows(truth)
    for frame in range(1, 81):
        gt = {int(r[1]): _box_mask(r) for r in gt_frames.get(frame, [])}
        tr = {int(r[1]): _box_mask(r) for r in tracks.get(frame, [])}
        rec.add(gt, tr)
    metrics = summarize([rec])
    assert metrics["IDF1"] > 0.9 and metrics["IDSW"] <= 1
    line = out.read_text().splitlines()[0].split(",")
    assert len(line) == 10 and line[7:] == ["-1", "-1", "-1"]


def read_mot_rows(rows):
    frames = {}
    for r in rows:
        frames.setdefault(int(r[0]), []).append(r)
    return frames


def _box_mask(row, h=600, w=800):
    m = np.zeros((h, w), bool)
    x, y, bw, bh = (int(round(v)) for v in row[2:6])
    m[max(y, 0):y + bh, max(x, 0):x + bw] = True
    return m
