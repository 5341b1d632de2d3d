"""A node's typed reports, read as tests read /diagnostics: by camera name."""
from __future__ import annotations


def camera_report(node, name: str = ""):
    """Return the CameraReport of the camera called `name` ("" is the one unnamed camera)."""
    cameras, _ = node.reports()
    return next(c for c in cameras if c.name == name)


def counts(node, name: str = ""):
    """Return the FrameCounts of the camera called `name`."""
    return camera_report(node, name).counts
