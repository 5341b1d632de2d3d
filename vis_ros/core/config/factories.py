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
from vis_ros.core.fusion.object_memory import ObjectMemory
from vis_ros.core.fusion.stage import FusionStage
from vis_ros.core.pipeline.camera_stream import CameraStream
from vis_ros.core.pipeline.runner import StreamRunner
from vis_ros.core.pipeline.segment_track import SegmentTrackPipeline
from vis_ros.core.pipeline.three_d import CameraDepth
from vis_ros.core.streaming.depth_pairing import DepthPairing
from vis_ros.core.streaming.notices import Notices
from vis_ros.core.streaming.transforms import TransformSource
from vis_ros.core.tracking.tracker import Tracker, TrackIds


def apply_opencv_threads(engine: EngineSettings) -> None:
    """Set OpenCV's thread count, which belongs to the process, where the pipeline is built.

    Why 1 is the default: docs/benchmarks.md.
    """
    count = engine.opencv_threads
    cv2.setNumThreads(count if count > 0 else -1)  # OpenCV: < 0 restores its default


def build_segmenter(settings: NodeSettings, warm: bool = True) -> Segmenter:
    """Build the node's segmenter: model, backend, device, engine and OpenCV threads, decoder; warmed up.

    The node, process-bag, check-model and the tracking evaluation all build
    theirs here, so they run the same pipeline, warmed up the same way.
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
    segmenter = Segmenter(choice.path, backend=engine.backend, decoder=settings.decoder,
                          labels_file=engine.labels_file or None, precision=f"{choice.precision} ({choice.reason})",
                          **options)
    if warm:
        segmenter.warm_up()
    return segmenter


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


def depth_sources(settings: NodeSettings, topics: Sequence[tuple[str, str] | None],
                  on_pair: Callable[[], None] | None = None) -> list[DepthPairing | None]:
    """One DepthPairing per camera with (depth topic, CameraInfo topic), None for a camera without depth."""
    slop, queue_size = settings.inputs.sync_slop, settings.inputs.sync_queue_size
    return [DepthPairing(t[0], t[1], slop, queue_size, on_pair) if t else None for t in topics]


def build_runner(settings: NodeSettings, segmenter: Segmenter, notices: Notices,
                 cameras: Sequence[str] | None = None, clock_ns: Callable[[], int] | None = None,
                 now_ns: Callable[[], int] | None = None,
                 depth: Sequence[DepthPairing | None] | None = None,
                 transforms: TransformSource | None = None) -> StreamRunner:
    """Build the stream runner: one pipeline per camera, one id source, and the cameras' depth and fusion.

    `cameras` defaults to settings.inputs.cameras (or the one unnamed camera);
    `clock_ns` and `now_ns` are the StreamRunner's (latency; the wait for depth);
    `depth` is each camera's depth source (depth_sources; None: no 3D for it),
    by default none. Whoever reads the depth (the node's subscriptions, a
    bag's reader) feeds these sources; the runner's 3D stage alone reads them.
    `transforms` gives the cameras' poses in a target frame (None: 3D in each
    image's frame), fed the same way (the node's TF listener, a bag's /tf);
    with them, one object memory for every camera (`object_memory`).
    """
    names = list(cameras) if cameras is not None else list(settings.inputs.cameras or ("",))
    depth = list(depth) if depth is not None else [None] * len(names)
    ids = TrackIds()  # one source: ids unique across the cameras
    streams = [CameraStream(i, name, build_pipeline(settings, segmenter, ids=ids, camera=i))
               for i, name in enumerate(names)]
    fusion = {i: CameraDepth(source, FusionStage(notices), transforms)
              for i, source in enumerate(depth) if source is not None}
    memory = None
    if fusion and transforms is not None and settings.depth.object_memory:
        def forget_tracks(ids) -> None:
            for stream in streams:
                stream.pipeline.tracker.forget_lost(ids)
        memory = ObjectMemory(settings.depth.memory, forget_tracks)
    return StreamRunner(segmenter, streams, settings.runner, notices, fusion, clock_ns, now_ns, memory)
