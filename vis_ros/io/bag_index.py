"""The instance index: one Parquet row per published instance, per bag and over a fleet of bags.

Columns: bag, camera, stamp_ns, frame_id, track_id, class_id, class_name,
score, state, the 2D box (box_x, box_y, box_width, box_height, image
pixels) and, where depth was fused, the 3D centre (x, y, z), size
(size_x, size_y, size_z) and distance from the camera, in metres, in the
frame named by frame_3d: the camera's optical frame, or the target frame
(--target-frame) (NaN and "" without 3D). pyarrow is needed by the commands
that write an index only, and imported here only.

Written as the bag is read, never held whole: InstanceIndex is a FrameSink
of its own (made only when an index is asked for) that keeps a frame's rows
only until its 3D is known (fused, or never coming: at most depth_wait of
record time), then streams them out in row groups of ROW_GROUP rows, in the
order the frames were published. Memory stays flat however long the bag.
"""
from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from vis_ros.core.data.files import replaced_when_done
from vis_ros.core.data.instances import InstanceFrame
from vis_ros.core.pipeline.results import Published2D, Published3D

COLUMNS = (("bag", "string"), ("camera", "string"), ("stamp_ns", "int64"), ("frame_id", "string"),
           ("track_id", "uint64"), ("class_id", "uint16"), ("class_name", "string"), ("score", "float64"),
           ("state", "uint8"), ("box_x", "uint32"), ("box_y", "uint32"), ("box_width", "uint32"),
           ("box_height", "uint32"), ("x", "float64"), ("y", "float64"), ("z", "float64"), ("size_x", "float64"),
           ("size_y", "float64"), ("size_z", "float64"), ("distance", "float64"), ("frame_3d", "string"))
ROW_GROUP = 2048  # rows written at once: about 3 MB of rows in memory at most (bench --bag-memory)


def schema():
    """Return the index's pyarrow schema."""
    import pyarrow as pa

    return pa.schema([(name, getattr(pa, kind)()) for name, kind in COLUMNS])


class IndexWriter:
    """A Parquet file written row group by row group, through a temporary name renamed when closed."""

    def __init__(self, path: Path):
        import pyarrow.parquet as pq

        self._stack = ExitStack()
        partial = self._stack.enter_context(replaced_when_done(Path(path)))
        self._writer = self._stack.enter_context(pq.ParquetWriter(partial, schema()))
        self._rows: list[dict] = []
        self.count = 0

    def add(self, rows: Sequence[dict]) -> None:
        """Add rows; a full row group goes to the file."""
        self._rows.extend(rows)
        if len(self._rows) >= ROW_GROUP:
            self._flush()

    def add_table(self, table) -> None:
        """Add a pyarrow table's rows (another index, read a row group at a time)."""
        self._writer.write_table(table)
        self.count += table.num_rows

    def _flush(self) -> None:
        import pyarrow as pa

        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=schema()))
            self.count += len(self._rows)
            self._rows = []

    def close(self) -> None:
        """Write what is left and put the file in place."""
        self._flush()
        self._stack.close()

    def abandon(self) -> None:
        """Leave nothing behind (the bag failed)."""
        self._stack.__exit__(RuntimeError, RuntimeError("abandoned"), None)


class InstanceIndex:
    """The bag's index as a FrameSink: rows out as soon as their frame's 3D is known; see the module docstring."""

    def __init__(self, path: Path, bag_name: str, cameras: Sequence[str], with_depth: Sequence[bool]):
        self.writer = IndexWriter(path)
        self.bag_name, self.cameras, self.with_depth = bag_name, list(cameras), list(with_depth)
        self._frames: collections.deque = collections.deque()  # [camera, stamp, rows, settled], publish order

    def publish_2d(self, result: Published2D) -> None:
        """Queue one row per published instance; settled at once for a camera without depth."""
        frame, camera = result.frame, result.camera.index
        rows = [_row(self.bag_name, self.cameras[camera], frame, instance) for instance in frame.instances]
        self._frames.append([camera, frame.stamp_ns, rows, not self.with_depth[camera] or not rows])
        self._flush()

    def publish_3d(self, result: Published3D) -> None:
        """Add the 3D of a fused frame's instances to their rows; the frame is settled."""
        fused = result.fused
        by_track = {i.track_id: i for i in fused.frame.instances if i.confidence > 0}
        cx, cy, cz = fused.camera_origin
        for entry in self._pending(result.camera.index, result.frame.stamp_ns):
            for row in entry[2]:
                instance = by_track.get(row["track_id"])
                if instance is not None:
                    (x, y, z), (sx, sy, sz) = instance.position, instance.size
                    row.update(x=x, y=y, z=z, size_x=sx, size_y=sy, size_z=sz, frame_3d=fused.frame.frame_id,
                               distance=math.sqrt((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2))
            entry[3] = True
        self._flush()

    def without_3d(self, camera: int, frame: InstanceFrame) -> None:
        """Settle a frame whose 3D will not come: its rows keep NaN 3D."""
        for entry in self._pending(camera, frame.stamp_ns):
            entry[3] = True
        self._flush()

    def close(self) -> int:
        """Write every row left (3D or not) and put the file in place; return the row count."""
        for entry in self._frames:
            entry[3] = True
        self._flush()
        self.writer.close()
        return self.writer.count

    def _pending(self, camera: int, stamp_ns: int):
        return [entry for entry in self._frames if entry[0] == camera and entry[1] == stamp_ns and not entry[3]]

    def _flush(self) -> None:
        """Write the settled frames at the head of the queue (publish order is kept)."""
        while self._frames and self._frames[0][3]:
            self.writer.add(self._frames.popleft()[2])


def _row(bag: str, camera: str, frame: InstanceFrame, instance) -> dict:
    box = instance.box
    return {"bag": bag, "camera": camera, "stamp_ns": frame.stamp_ns, "frame_id": frame.frame_id,
            "track_id": instance.track_id, "class_id": instance.class_id, "class_name": instance.class_name,
            "score": float(instance.score), "state": int(instance.state), "box_x": box.x, "box_y": box.y,
            "box_width": box.width, "box_height": box.height, "x": math.nan, "y": math.nan, "z": math.nan,
            "size_x": math.nan, "size_y": math.nan, "size_z": math.nan, "distance": math.nan,
            "frame_3d": ""}


def merge_indexes(paths: list[Path], out: Path) -> int:
    """Write the rows of every bag's index as one Parquet table at `out`, a row group at a time; return the rows."""
    import pyarrow.parquet as pq

    writer = IndexWriter(Path(out))
    try:
        for path in paths:
            source = pq.ParquetFile(path)
            for group in range(source.num_row_groups):
                writer.add_table(source.read_row_group(group).cast(schema()))
    except BaseException:
        writer.abandon()
        raise
    writer.close()
    return writer.count
