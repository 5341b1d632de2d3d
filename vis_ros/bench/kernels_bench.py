"""Each C kernel against its numpy twin, side by side, on the workload its target is stated for.

A kernel is switched off in its own module only (the module's `native` is
replaced by one without kernels), so every other kernel stays as shipped and
the difference is that kernel's alone. The two paths take turns, round by
round, on the same inputs; the report gives per-frame medians, the time the
kernel saves per frame, and that saving against the target it serves:

- decoder selection + masks: decode of 20 instances over the engine time
  (<= 0.15), and the ~1 ms it saves per frame against the node's overhead
  budget (<= 0.20 x engine);
- mask propagation: warp of one frame's tracked masks, against a keyframe-3
  frame (throughput >= 2.2x frame by frame);
- Kalman predict / correct and the association similarity: tracker update
  with 8 live tracks (the node bench's scene) and 30; within the tracker's
  2 ms either way, they count against the node's overhead budget;
- run lengths: InstanceArray of 8 instances to wire bytes, against the
  node's overhead budget;
- instance points: depth fusion of 20 instances (<= 3 ms).
"""
from __future__ import annotations

import contextlib
import importlib
import time
import types
from collections.abc import Callable

import numpy as np

from vis_ros.bench.stats import summarize_ms


@contextlib.contextmanager
def numpy_in(module_name: str):
    """Run `module_name`'s numpy path (its kernel switched off), every other kernel unchanged."""
    module = importlib.import_module(module_name)
    saved = module.native
    module.native = types.SimpleNamespace(kernels=None)
    try:
        yield
    finally:
        module.native = saved


def side_by_side(module_name: str, work: Callable[[], None], rounds: int = 5, repeats: int = 20) -> dict:
    """Time `work` with the module's kernel and with its numpy twin, taking turns; medians in ms."""
    samples = {"c": [], "numpy": []}
    for _ in range(rounds):
        for path in ("c", "numpy"):
            context = numpy_in(module_name) if path == "numpy" else contextlib.nullcontext()
            with context:
                work()  # warm: first calls allocate
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    work()
                    samples[path].append(time.perf_counter() - t0)
    c, py = summarize_ms(samples["c"]), summarize_ms(samples["numpy"])
    return {"c_ms": c, "numpy_ms": py, "saved_ms": round(py["median"] - c["median"], 4),
            "speedup": round(py["median"] / c["median"], 2) if c["median"] else None}


def _decoder_work(count: int = 20):
    """Return a decode of `count` instances on the embedded model's outputs (NMS off), and the engine time."""
    from vis_ros.core.data.model_path import resolve_model
    from vis_ros.core.engine.decoder import Decoder, DecoderConfig
    from vis_ros.core.engine.segmenter import Segmenter
    from vis_ros.core.sim.scene import SimOptions
    from vis_ros.evaluation.heldout import heldout_frames

    segmenter = Segmenter(resolve_model(None))
    segmenter.warm_up()
    decode = Decoder(segmenter.class_names, DecoderConfig(score_threshold=0.0, nms_iou=1.0, max_detections=count))
    _, frame = next(iter(heldout_frames(1, options=SimOptions(objects=15))))
    tensor, letterbox = segmenter.preprocess(frame.rgb)
    engine = []
    for _ in range(10):
        t0 = time.perf_counter()
        outputs = segmenter.backend.run(tensor)
        engine.append(time.perf_counter() - t0)
    spec = segmenter.spec
    detections, prototypes = outputs[spec.detections_name][0], outputs[spec.prototypes_name][0]
    return (lambda: decode(detections, prototypes, letterbox)), float(np.median(engine)) * 1000.0


def _tracker_work(tracks: int, frames: int = 40):
    """Return a tracker update with `tracks` live tracks, masks and appearance on (the tracker bench's workload)."""
    from vis_ros.bench.tracking_bench import _detections
    from vis_ros.core.tracking.tracker import Tracker

    rng = np.random.default_rng(0)
    offsets = rng.uniform(-5, 5, (tracks, 2))
    rgb = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    detections = [_detections(f, offsets) for f in range(frames)]
    state = {"tracker": None, "frame": frames}

    def update():
        if state["frame"] == frames:  # a fresh run once the frames are used up
            state["tracker"] = Tracker()
            for f in range(10):  # tracks confirmed and live before timing
                state["tracker"].update(detections[f], f * 33_333_333, (480, 640), rgb)
            state["frame"] = 10
        f = state["frame"]
        state["tracker"].update(detections[f], f * 33_333_333, (480, 640), rgb)
        state["frame"] += 1

    return update


def _propagation_work():
    """Return a warp of one frame's tracked masks by the flow between two sim frames (keyframe 3's step)."""
    from vis_ros.core.pipeline.propagation import FlowPropagator, warp_masks
    from vis_ros.core.sim.ground_truth import gt_instances
    from vis_ros.core.sim.scene import SimOptions
    from vis_ros.core.sim.sequence import generate_sequence

    _, it = generate_sequence(2_000_005, 2, SimOptions(objects=10, object_speed=0.25))
    first, second = list(it)
    propagator = FlowPropagator(2, "ultrafast", 5)
    propagator.observe(first.rgb, need_flow=False)
    field = propagator.observe(second.rgb, need_flow=True)
    masks = [types.SimpleNamespace(roi=i.box, mask=i.mask, area=int(i.mask.sum()))
             for i in gt_instances(first.instance_ids, first.objects)]
    return (lambda: warp_masks(field, masks)), len(masks)


def _serialize_work(count: int):
    """Return the writing of an InstanceArray of `count` instances to its wire bytes (run lengths of every mask)."""
    from vis_ros.bench.fusion_bench import busy_frame
    from vis_ros.core.data.instances import InstanceFrame
    from vis_ros.io.instance_wire import serialize_instance_array

    camera, sim_frame, _, instances, _ = busy_frame(count)
    frame = InstanceFrame(sim_frame.stamp_ns, "cam", camera.height, camera.width, True, instances)
    return lambda: serialize_instance_array(frame)


def _fusion_work(count: int = 20):
    """Return a depth fusion of `count` instances on one frame (the fusion bench's workload)."""
    from vis_ros.bench.fusion_bench import busy_frame
    from vis_ros.core.data.instances import InstanceFrame
    from vis_ros.core.fusion.fuser import DepthFuser

    camera, sim_frame, depth, instances, _ = busy_frame(count)
    fuser, state = DepthFuser(), {"k": 0}

    def fuse():
        state["k"] += 1
        fuser(InstanceFrame(sim_frame.stamp_ns + state["k"] * 33_333_333, "cam", camera.height, camera.width,
                            True, instances), depth, camera)

    return fuse


def bench_kernels(rounds: int = 5) -> dict:
    """Every kernel against its numpy twin; see the module docstring."""
    from vis_ros.core import native
    from vis_ros.core.config.factories import apply_opencv_threads
    from vis_ros.core.config.settings import node_defaults

    if native.kernels is None:
        return {"error": f"C kernels not active here: {native.describe()}"}
    apply_opencv_threads(node_defaults().engine)  # OpenCV threads as the node sets them
    decode, engine_ms = _decoder_work()
    warp, masks = _propagation_work()
    track_8, track_30 = _tracker_work(8), _tracker_work(30)
    report = {
        "decoder (select_detections + build_masks)": {
            **side_by_side("vis_ros.core.engine.decoder", decode, rounds),
            "workload": "decode of 20 instances on the embedded model's outputs", "engine_ms": round(engine_ms, 3),
            "target": "decode / engine <= 0.15"},
        "propagation (warp_masks)": {
            **side_by_side("vis_ros.core.pipeline.propagation", warp, rounds),
            "workload": f"warp of {masks} tracked masks, one 640x480 frame",
            "target": "keyframe-3 throughput >= 2.2x frame by frame (its frames cost ~4 ms)"},
        "kalman (kalman_predict + kalman_correct_rows), 8 tracks": {
            **side_by_side("vis_ros.core.tracking.kalman", track_8, rounds),
            "workload": "tracker update, 8 live tracks", "target": "node overhead <= 0.20 x engine"},
        "association (similarity_mask_box), 8 tracks": {
            **side_by_side("vis_ros.core.tracking.association", track_8, rounds),
            "workload": "tracker update, 8 live tracks", "target": "node overhead <= 0.20 x engine"},
        "kalman (kalman_predict + kalman_correct_rows), 30 tracks": {
            **side_by_side("vis_ros.core.tracking.kalman", track_30, rounds),
            "workload": "tracker update, 30 live tracks", "target": "tracker update <= 2 ms"},
        "association (similarity_mask_box), 30 tracks": {
            **side_by_side("vis_ros.core.tracking.association", track_30, rounds),
            "workload": "tracker update, 30 live tracks", "target": "tracker update <= 2 ms"},
        "run lengths (encode_runs), 8 instances": {
            **side_by_side("vis_ros.core.codecs.mask_runs", _serialize_work(8), rounds),
            "workload": "InstanceArray of 8 instances to wire bytes", "target": "node overhead <= 0.20 x engine"},
        "fusion (instance_points)": {
            **side_by_side("vis_ros.core.fusion.fuse", _fusion_work(), rounds),
            "workload": "depth fusion of 20 instances, 640x480", "target": "depth fusion <= 3 ms"},
    }
    decoder = report["decoder (select_detections + build_masks)"]
    decoder["decode_over_engine"] = {path: round(decoder[f"{path}_ms"]["median"] / engine_ms, 4)
                                     for path in ("c", "numpy")}
    return report

