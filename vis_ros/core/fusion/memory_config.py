"""The object memory's limits, apart from the memory: the parameters read them without numpy or OpenCV."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MemoryConfig:
    """The limits of core/fusion/object_memory.py; parameters `object_memory*` (core/config/parameters.py)."""

    capacity: int = 200  # objects
    keep_s: float = 600.0  # since an object was last seen
    forget_s: float = 1.0  # its place in view, unhidden and empty
    min_similarity: float = 0.6  # colour descriptors' Bhattacharyya coefficient to restore
