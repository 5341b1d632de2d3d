"""The instance index: one Parquet row per published instance, per bag and over a fleet of bags.

Columns: bag, camera, stamp_ns, frame_id, track_id, class_id, class_name,
score, state, the 2D box (box_x, box_y, box_width, box_height, image
pixels) and, where depth was fused, the 3D centre (x, y, z), size
(size_x, size_y, size_z) and distance from the camera, in metres in the
camera's optical frame (NaN without 3D). pyarrow is needed by the commands
that write an index only, and imported here only.
"""
from __future__ import annotations

from pathlib import Path

from vis_ros.core.outputs.files import replaced_when_done

COLUMNS = (("bag", "string"), ("camera", "string"), ("stamp_ns", "int64"), ("frame_id", "string"),
           ("track_id", "uint64"), ("class_id", "uint16"), ("class_name", "string"), ("score", "float64"),
           ("state", "uint8"), ("box_x", "uint32"), ("box_y", "uint32"), ("box_width", "uint32"),
           ("box_height", "uint32"), ("x", "float64"), ("y", "float64"), ("z", "float64"), ("size_x", "float64"),
           ("size_y", "float64"), ("size_z", "float64"), ("distance", "float64"))


def schema():
    """Return the index's pyarrow schema."""
    import pyarrow as pa

    return pa.schema([(name, getattr(pa, kind)()) for name, kind in COLUMNS])


def write_index(rows: list[dict], path: Path) -> None:
    """Write one bag's rows as a Parquet file (through a temporary name)."""
    import pyarrow as pa

    table = pa.Table.from_pylist(rows, schema=schema())
    _write(table, Path(path))


def merge_indexes(paths: list[Path], out: Path) -> int:
    """Write the rows of every bag's index as one Parquet table at `out`; return the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(p, schema=schema()) for p in paths]
    table = pa.concat_tables(tables) if tables else schema().empty_table()
    _write(table, Path(out))
    return table.num_rows


def _write(table, path: Path) -> None:
    import pyarrow.parquet as pq

    with replaced_when_done(path) as partial:
        pq.write_table(table, partial)
