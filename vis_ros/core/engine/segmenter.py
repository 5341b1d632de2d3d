"""The segmentation engine: pre-process -> backend -> decode, timed per stage."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vis_ros.core.detections import Detection
from vis_ros.core.engine.backends import create_backend
from vis_ros.core.engine.decoder import Decoder, DecoderConfig
from vis_ros.core.engine.errors import ModelLayoutError
from vis_ros.core.engine.model_spec import ModelSpec, build_spec, read_labels_file
from vis_ros.core.engine.preprocess import Preprocessor


@dataclass(frozen=True)
class SegmentationResult:
    """One image's detections and the time each stage took, in seconds."""

    detections: list[Detection]
    timings_s: dict[str, float] = field(default_factory=dict)  # preprocess, engine, decode


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
        self.decode = Decoder(self.spec.class_names, decoder)

    def reconfigure(self, decoder: DecoderConfig) -> None:
        """Use new decoder thresholds from the next frame on (the engine stays loaded)."""
        self.decode = Decoder(self.spec.class_names, decoder)

    @property
    def class_names(self) -> tuple[str, ...]:
        """Class names, from the labels file or the model's metadata."""
        return self.spec.class_names

    def warm_up(self, runs: int = 2) -> None:
        """First runs allocate and tune kernels; do them before real frames arrive."""
        h, w = self.spec.input_hw
        for _ in range(runs):
            self(np.zeros((h, w, 3), np.uint8))

    def __call__(self, rgb: np.ndarray) -> SegmentationResult:
        """Segment one RGB image: pre-process, run the engine, decode."""
        t0 = time.perf_counter()
        tensor, letterbox = self.preprocess(rgb)
        t1 = time.perf_counter()
        outputs = self.backend.run(tensor)
        t2 = time.perf_counter()
        detections = self.decode(outputs[self.spec.detections_name][0],
                                 outputs[self.spec.prototypes_name][0], letterbox)
        t3 = time.perf_counter()
        return SegmentationResult(detections, {"preprocess": t1 - t0, "engine": t2 - t1,
                                               "decode": t3 - t2})
