"""The segmentation engine: pre-process -> backend -> decode, timed per stage."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vis_ros.core.data.detections import Detection
from vis_ros.core.engine.backends import create_backend
from vis_ros.core.engine.decoder import Decoder, DecoderConfig
from vis_ros.core.engine.errors import ModelLayoutError
from vis_ros.core.engine.model_spec import ModelSpec, build_spec, read_labels_file
from vis_ros.core.engine.preprocess import Preprocessor


@dataclass(frozen=True)
class SegmentationResult:
    """One image's detections, the time each stage took (seconds) and the engine call's batch size.

    In a batch, `engine` is the whole call's time (what the frame waited for).
    """

    detections: list[Detection]
    timings_s: dict[str, float] = field(default_factory=dict)  # preprocess, engine, decode
    batch_size: int = 1


class Segmenter:
    """Loads a YOLO-seg model once and segments RGB images with it."""

    def __init__(self, model_path, backend: str = "auto", decoder: DecoderConfig = DecoderConfig(),
                 labels_file: Path | None = None, precision: str = "", **backend_options):
        self.model_path = Path(model_path)
        self.precision = precision  # what the log says runs (core/engine/precision.py)
        self.backend = create_backend(backend, self.model_path, **backend_options)
        labels = read_labels_file(labels_file) if labels_file else None
        self.spec: ModelSpec = build_spec(self.backend.inputs, self.backend.outputs,
                                          self.backend.metadata, labels)
        dtype = self.spec.input_dtype if self.spec.input_dtype in ("float32", "float16") else None
        if dtype is None:
            raise ModelLayoutError(f"input '{self.spec.input_name}' is {self.spec.input_dtype};"
                                   " expected float32 or float16")
        self.preprocess = Preprocessor(self.spec.input_hw, dtype)
        self._preprocessors: dict = {None: self.preprocess}  # per camera: each keeps its own letterbox and input buffer
        self._batch_buffer: np.ndarray | None = None
        self.decode = Decoder(self.spec.class_names, decoder)

    def reconfigure(self, decoder: DecoderConfig) -> None:
        """Use new decoder thresholds from the next frame on (the engine stays loaded)."""
        self.decode = Decoder(self.spec.class_names, decoder)

    @property
    def class_names(self) -> tuple[str, ...]:
        """Class names, from the labels file or the model's metadata."""
        return self.spec.class_names

    @property
    def batches(self) -> bool:
        """Whether the model has a dynamic batch axis: several images per engine call."""
        return self.spec.batch is None

    def warm_up(self, runs: int = 2) -> None:
        """First runs allocate and tune kernels; do them before real frames arrive."""
        h, w = self.spec.input_hw
        for _ in range(runs):
            self(np.zeros((h, w, 3), np.uint8))

    def __call__(self, rgb: np.ndarray) -> SegmentationResult:
        """Segment one RGB image: pre-process, run the engine, decode."""
        return self._one(None, rgb)

    def segment_batch(self, images) -> list[SegmentationResult]:
        """Segment several cameras' images, in one engine call where the model batches.

        `images` is a sequence of (camera key, RGB image); each camera keeps
        its own pre-processing buffer and letterbox (cameras of different
        sizes batch together). A fixed-batch model runs them one after another.
        """
        if not images:
            return []
        limit = getattr(self.backend, "max_batch", None)  # a TensorRT profile's largest batch
        if self.batches and limit and len(images) > limit:
            return [r for i in range(0, len(images), limit) for r in self.segment_batch(images[i:i + limit])]
        if not self.batches or len(images) == 1:
            return [self._one(key, rgb) for key, rgb in images]
        t0 = time.perf_counter()
        prepared = [self._preprocessor(key)(rgb) for key, rgb in images]
        count = len(prepared)
        shape = (count, *prepared[0][0].shape[1:])
        if self._batch_buffer is None or self._batch_buffer.shape[0] < count:
            self._batch_buffer = np.empty(shape, prepared[0][0].dtype)
        batch = self._batch_buffer[:count]
        for row, (tensor, _) in zip(batch, prepared, strict=True):
            row[...] = tensor[0]
        t1 = time.perf_counter()
        outputs = self.backend.run(batch)
        t2 = time.perf_counter()
        results = []
        for i, (_, letterbox) in enumerate(prepared):
            t3 = time.perf_counter()
            detections = self.decode(outputs[self.spec.detections_name][i], outputs[self.spec.prototypes_name][i],
                                     letterbox)
            results.append(SegmentationResult(detections, {"preprocess": (t1 - t0) / count, "engine": t2 - t1,
                                                           "decode": time.perf_counter() - t3}, count))
        return results

    def _preprocessor(self, key) -> Preprocessor:
        if key not in self._preprocessors:
            self._preprocessors[key] = Preprocessor(self.spec.input_hw, self.preprocess.dtype.name)
        return self._preprocessors[key]

    def _one(self, key, rgb: np.ndarray) -> SegmentationResult:
        """One image through the engine alone, with its camera's pre-processing buffer."""
        t0 = time.perf_counter()
        tensor, letterbox = self._preprocessor(key)(rgb)
        t1 = time.perf_counter()
        outputs = self.backend.run(tensor)
        t2 = time.perf_counter()
        detections = self.decode(outputs[self.spec.detections_name][0],
                                 outputs[self.spec.prototypes_name][0], letterbox)
        return SegmentationResult(detections, {"preprocess": t1 - t0, "engine": t2 - t1,
                                               "decode": time.perf_counter() - t2})
