"""Writing a user's file: under a temporary name beside it, renamed into place only when complete.

Every command that writes a model, an index, a summary or a report goes
through here, so an interrupted or failed write never leaves a file that
looks finished, nor replaces a good one with half of a new one.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced_when_done(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write; it becomes `path` when the block ends without error.

    On an error the temporary file is removed and `path` is left as it was.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_json(path: Path, value) -> None:
    """Write `value` as indented JSON into `path`, replacing it only when complete."""
    with replaced_when_done(path) as partial:
        partial.write_text(json.dumps(value, indent=2) + "\n")
