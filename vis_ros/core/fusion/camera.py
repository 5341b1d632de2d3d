"""Pinhole camera from CameraInfo fields, and its scaling to another resolution."""
from __future__ import annotations

from dataclasses import dataclass

from vis_ros.core.data.errors import InputError


@dataclass(frozen=True)
class PinholeCamera:
    """Pinhole intrinsics in pixels (REP-103 optical frame: x right, y down, z forward)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_camera_info(cls, k, width: int, height: int, distortion_model: str = "",
                         d=()) -> tuple[PinholeCamera, list[str]]:
        """Build the camera from CameraInfo fields, with warnings to log once.

        Camera and warnings (to log once). Aligned depth is expected rectified, so
        a distortion model other than none / zero plumb_bob is warned about.
        """
        k = [float(v) for v in k]
        if len(k) != 9 or not k[0] > 0 or not k[4] > 0:
            shown = "[" + ", ".join(f"{v:g}" for v in k) + "]"
            raise InputError(f"CameraInfo K is not a valid intrinsic matrix (fx = K[0] and fy = K[4] must be"
                             f" > 0): {shown}")
        if width <= 0 or height <= 0:
            raise InputError(f"CameraInfo size is {width}x{height}")
        warnings = []
        if distortion_model not in ("", "none") and any(abs(float(v)) > 1e-9 for v in d):
            warnings.append(f"camera distortion model {distortion_model!r} with non-zero coefficients:"
                            " aligned depth is expected rectified; 3D positions ignore distortion")
        return cls(float(k[0]), float(k[4]), float(k[2]), float(k[5]), int(width), int(height)), warnings

    def scaled_to(self, width: int, height: int) -> PinholeCamera:
        """Return the same camera at another resolution (pixel-centre convention)."""
        sx, sy = width / self.width, height / self.height
        return PinholeCamera(self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5,
                             (self.cy + 0.5) * sy - 0.5, width, height)
