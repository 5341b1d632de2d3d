"""TensorRT engine files: metadata header, compatibility key, cache naming.

Layout (the one Ultralytics uses, so its exported .engine files load too):
  4-byte little-endian length N | N bytes of UTF-8 JSON metadata | serialised plan
The JSON carries the model metadata (names, imgsz, ...) plus, for engines
vis_ros builds, the key it was built under: GPU name, compute capability,
TensorRT version and build options. A plan only runs on the GPU model and
TensorRT version it was built for, so the key is checked before loading.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from vis_ros.core.data.errors import ModelLoadError
from vis_ros.core.data.files import replaced_when_done

_MAX_METADATA = 1 << 20


@dataclass(frozen=True)
class EngineKey:
    """What an engine was built for and from; any difference means rebuild, never load."""

    gpu_name: str
    compute_capability: str
    tensorrt_version: str
    fp16: bool
    int8: bool
    workspace_mb: int
    max_batch: int
    onnx_sha256: str

    def slug(self) -> str:
        """Return a file-name-safe form of the key, naming the model, GPU, TensorRT and options."""
        gpu = re.sub(r"[^A-Za-z0-9]+", "-", self.gpu_name).strip("-").lower()
        precision = "int8" if self.int8 else "fp16" if self.fp16 else "fp32"
        return (f"{self.onnx_sha256[:12]}-{gpu}-sm{self.compute_capability.replace('.', '')}"
                f"-trt{self.tensorrt_version}-{precision}-b{self.max_batch}-ws{self.workspace_mb}")


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_engine(path: Path, plan: bytes, metadata: dict) -> Path:
    """Write the plan with the model's metadata in front, so the engine names its classes."""
    blob = json.dumps(metadata, sort_keys=True).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_when_done(path) as partial, open(partial, "wb") as f:
        f.write(len(blob).to_bytes(4, "little"))
        f.write(blob)
        f.write(plan)
    return path


def read_engine(path: Path) -> tuple[dict, bytes]:
    """(metadata, plan). A file without a JSON header is taken as a bare plan."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"engine file {path} does not exist")
    data = path.read_bytes()
    if len(data) < 8:
        raise ModelLoadError(f"engine file {path} is truncated ({len(data)} bytes)")
    length = int.from_bytes(data[:4], "little")
    if 0 < length <= _MAX_METADATA and data[4:5] == b"{":
        try:
            return json.loads(data[4:4 + length].decode("utf-8")), data[4 + length:]
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"engine file {path} has a corrupt metadata header: {exc}") from exc
    return {}, data


def check_key(metadata: dict, current: EngineKey | None, path: Path) -> None:
    """Refuse an engine built for another GPU or TensorRT version, saying which."""
    built = metadata.get("engine_key")
    if not built or current is None:
        return
    mismatches = [f"{k} {built.get(k)!r} (here {v!r})" for k, v in asdict(current).items()
                  if k in ("gpu_name", "compute_capability", "tensorrt_version") and built.get(k) != v]
    if mismatches:
        raise ModelLoadError(f"engine {path} was built for another platform: {'; '.join(mismatches)}."
                             " Rebuild it here with `vis-ros build-engine`.")
