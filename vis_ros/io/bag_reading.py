"""Reading a rosbag2 in record order, in bounded memory, with errors that name the bag."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

from rosbags.rosbag2 import Reader

# Record time read per rosbags call. One call over a whole MCAP file keeps a
# paused reader for every chunk of it until that chunk's turn comes (about
# 0.5 kB a 1 MiB chunk: 2 MB for a 10,000-frame 320x240 bag, hundreds of MB
# for a shift of 640x480 images); a window of a minute holds only its own.
READ_WINDOW_NS = 60 * 10**9


@contextlib.contextmanager
def open_bag(path: Path) -> Iterator[Reader]:
    """Open a bag for reading; anything rosbags refuses becomes a ValueError naming the bag."""
    if not path.exists():
        raise FileNotFoundError(f"bag {path} does not exist")
    try:
        reader = Reader(path)
        reader.open()
    except Exception as exc:
        raise ValueError(f"cannot read bag {path} (corrupt or truncated, or not a rosbag2): {_said(exc)}") from exc
    try:
        yield reader
    finally:
        reader.close()


def read_messages(reader: Reader, connections, bag: Path) -> Iterator:
    """Yield (connection, record time, raw) in record order; a read that breaks off is a ValueError naming the bag.

    Windows of READ_WINDOW_NS follow one another in time, so a bag of one
    file yields the same messages in the same order as one read; the first
    and the last are open-ended, for anything outside the span the
    metadata gives.
    """
    edges = [None, *range(reader.start_time, reader.end_time, READ_WINDOW_NS), None]
    for start, stop in pairwise(edges):
        iterator = reader.messages(connections=connections, start=start, stop=stop)
        while True:
            try:
                item = next(iterator)
            except StopIteration:
                break
            except Exception as exc:
                raise ValueError(f"bag {bag} is corrupt or truncated: {_said(exc)}") from exc
            yield item


def _said(exc: Exception) -> str:
    """Return an exception's message on one line (its type's name when it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__
