"""Objects built from the node's settings: the segmenter, a camera's pipeline, the stream runner.

The node, process-bag, the fleet command, the evaluation and the benchmarks
build theirs here, so they run the same pipeline with the same defaults.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import cv2

from vis_ros.core.config.settings import EngineSettings, NodeSettings
from vis_ros.core.engine.segmenter import Segmenter
from vis_ros.core.fusion.stage import FusionStage
from vis_ros.core.pipeline.camera_stream import CameraStream
from vis_ros.core.pipeline.runner import StreamRunner
from vis_ros.core.pipeline.segment_track import SegmentTrackPipeline
from vis_ros.core.streaming.notices import Notices
from vis_ros.core.tracking.tracker import Tracker, TrackIds


def apply_opencv_threads(engine: EngineSettings) -> None:
    """Set OpenCV's thread count, which belongs to the process, where the pipeline is built.

    Why 1 is the default: docs/benchmarks.md.
    """
    count = engine.opencv_threads
    cv2.setNumThreads(count if count > 0 else -1)  # OpenCV: < 0 restores its default


def build_segmenter(settings: NodeSettings) -> Segmenter:
    """Build the node's segmenter: model, backend, device, engine and OpenCV threads, decoder.

    The node, process-bag and the tracking evaluation all build theirs here,
    so they run the same pipeline.
    """
    from vis_ros.core.engine.precision import choose_model

    engine = settings.engine
    choice = choose_model(engine.model, engine.precision, on_cpu=_engine_on_cpu(engine))
    apply_opencv_threads(engine)
    options: dict[str, Any] = {"intra_op_threads": engine.threads}
    if engine.device == "cpu":
        options["providers"] = ["CPUExecutionProvider"]
    elif engine.device == "cuda":
        options["providers"] = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return Segmenter(choice.path, backend=engine.backend, decoder=settings.decoder,
                     labels_file=engine.labels_file or None, precision=f"{choice.precision} ({choice.reason})",
                     **options)


def _engine_on_cpu(engine: EngineSettings) -> bool:
    """Whether ONNX Runtime will run on the CPU: forced, or no GPU provider is installed."""
    if engine.device != "auto":
        return engine.device == "cpu"
    import onnxruntime

    gpu = {"CUDAExecutionProvider", "TensorrtExecutionProvider", "ROCMExecutionProvider"}
    return not gpu & set(onnxruntime.get_available_providers())


def build_pipeline(settings: NodeSettings, segmenter: Segmenter | None = None, ids: TrackIds | None = None,
                   camera: int | None = None) -> SegmentTrackPipeline:
    """Segmenter (built here unless given, to share one engine) + tracker + keyframes.

    For one of several cameras: `ids` is the node's shared TrackIds and
    `camera` the key of its pre-processing buffer in the shared segmenter.
    """
    segmenter = segmenter if segmenter is not None else build_segmenter(settings)
    return SegmentTrackPipeline(segmenter, Tracker(settings.tracker, ids), settings.pipeline, camera=camera)


def build_runner(settings: NodeSettings, segmenter: Segmenter, notices: Notices,
                 cameras: Sequence[str] | None = None, clock_ns: Callable[[], int] | None = None,
                 now_ns: Callable[[], int] | None = None, with_depth: Sequence[bool] | None = None) -> StreamRunner:
    """Build the stream runner: one pipeline (and, with use_depth, one fusion stage) per camera, one id source.

    `cameras` defaults to settings.inputs.cameras (or the one unnamed camera);
    `clock_ns` and `now_ns` are the StreamRunner's (latency; the wait for depth);
    `with_depth` says which cameras fuse depth (default: all, with use_depth).
    """
    names = list(cameras) if cameras is not None else list(settings.inputs.cameras or ("",))
    depth = list(with_depth) if with_depth is not None else [settings.inputs.use_depth] * len(names)
    ids = TrackIds()  # one source: ids unique across the cameras
    streams = [CameraStream(i, name, build_pipeline(settings, segmenter, ids=ids, camera=i),
                            FusionStage(notices) if fuse else None)
               for i, (name, fuse) in enumerate(zip(names, depth, strict=True))]
    return StreamRunner(segmenter, streams, settings, notices, clock_ns, now_ns)
