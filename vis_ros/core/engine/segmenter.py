"""The segmentation engine: pre-process -> backend -> decode, timed per stage."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from vis_ros.core.data.detections import Detection
from vis_ros.core.data.errors import ModelLayoutError
from vis_ros.core.engine.backends import create_backend
from vis_ros.core.engine.decoder import Decoder, DecoderConfig
from vis_ros.core.engine.model_spec import RAW_HEAD, ModelSpec, build_spec, read_labels_file
from vis_ros.core.engine.preprocess import Preprocessor

WARM_RUNS = 3  # engine runs before the first frame: allocation and kernel tuning happen in the first two

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
        self.preprocess = Preprocessor(self.spec.input_hw, dtype, self.spec.stride if self.spec.dynamic_hw else None)
        self._preprocessors: dict = {None: self.preprocess}  # per camera: each keeps its own letterbox and input buffer
        self._batch_buffers: dict[tuple, np.ndarray] = {}  # by input shape
        self.decode = Decoder(self.spec.class_names, decoder, self.spec.layout or RAW_HEAD)
        if self.spec.layout is None:  # symbolic output shapes: the first real output says which layout
            self.warm_up(runs=1)

    def reconfigure(self, decoder: DecoderConfig) -> None:
        """Use new decoder thresholds from the next frame on (the engine stays loaded)."""
        self.decode = Decoder(self.spec.class_names, decoder, self.decode.layout)

    def describe(self) -> str:
        """Say the input size, head layout and classes, for the log."""
        h, w = self.spec.input_hw
        size = f"input up to {w}x{h} (dynamic, stride {self.spec.stride})" if self.spec.dynamic_hw else \
            f"input {w}x{h}"
        return f"{size}, {self.decode.layout}, {self.spec.num_classes} classes"

    @property
    def class_names(self) -> tuple[str, ...]:
        """Class names, from the labels file or the model's metadata."""
        return self.spec.class_names

    @property
    def batches(self) -> bool:
        """Whether the model has a dynamic batch axis: several images per engine call."""
        return self.spec.batch is None

    def warm_up(self, runs: int = WARM_RUNS) -> None:
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
        sizes batch together when their inputs agree: always for a fixed-size
        model; for a dynamic one, cameras of one aspect ratio). A fixed-batch
        model runs them one after another.
        """
        if not images:
            return []
        if not self.batches or len(images) == 1:
            return [self._one(key, rgb) for key, rgb in images]
        t0 = time.perf_counter()
        prepared = [self._preprocessor(key)(rgb) for key, rgb in images]
        preprocess_s = (time.perf_counter() - t0) / len(prepared)
        groups: dict[tuple, list[int]] = {}
        for i, (tensor, _) in enumerate(prepared):
            groups.setdefault(tensor.shape, []).append(i)
        limit = getattr(self.backend, "max_batch", None) or len(prepared)  # a TensorRT profile's largest batch
        results: list[SegmentationResult | None] = [None] * len(prepared)
        for members in groups.values():
            for start in range(0, len(members), limit):
                chunk = members[start:start + limit]
                for i, result in zip(chunk, self._run_group([prepared[i] for i in chunk], preprocess_s), strict=True):
                    results[i] = result
        return results

    def _run_group(self, prepared, preprocess_s: float) -> list[SegmentationResult]:
        """Run images whose input tensors have one shape in one engine call."""
        count = len(prepared)
        if count == 1:
            tensor, letterbox = prepared[0]
            t1 = time.perf_counter()
            outputs = self.backend.run(tensor)
        else:
            shape = prepared[0][0].shape[1:]
            buffer = self._batch_buffers.get(shape)
            if buffer is None or buffer.shape[0] < count:
                buffer = self._batch_buffers[shape] = np.empty((count, *shape), prepared[0][0].dtype)
            batch = buffer[:count]
            for row, (tensor, _) in zip(batch, prepared, strict=True):
                row[...] = tensor[0]
            t1 = time.perf_counter()
            outputs = self.backend.run(batch)
        t2 = time.perf_counter()
        results = []
        for i, (_, letterbox) in enumerate(prepared):
            t3 = time.perf_counter()
            detections = self._decode(outputs, i, letterbox)
            results.append(SegmentationResult(detections, {"preprocess": preprocess_s, "engine": t2 - t1,
                                                           "decode": time.perf_counter() - t3}, count))
        return results

    def _preprocessor(self, key) -> Preprocessor:
        if key not in self._preprocessors:
            self._preprocessors[key] = Preprocessor(self.spec.input_hw, self.preprocess.dtype.name,
                                                    self.preprocess.stride)
        return self._preprocessors[key]

    def _one(self, key, rgb: np.ndarray) -> SegmentationResult:
        """One image through the engine alone, with its camera's pre-processing buffer."""
        t0 = time.perf_counter()
        prepared = self._preprocessor(key)(rgb)
        return self._run_group([prepared], time.perf_counter() - t0)[0]

    def _decode(self, outputs: dict, index: int, letterbox) -> list[Detection]:
        """Check one image's outputs against the layout (every call: shapes may be symbolic), then decode."""
        detections, prototypes = outputs[self.spec.detections_name][index], outputs[self.spec.prototypes_name][index]
        layout = self.spec.check_outputs(detections.shape, prototypes.shape,
                                         (letterbox.input_height, letterbox.input_width))
        if self.spec.layout is None:  # the first real output: the layout is now known
            self.spec = replace(self.spec, layout=layout)
            self.decode = Decoder(self.spec.class_names, self.decode.config, layout)
        return self.decode(detections, prototypes, letterbox)
