"""Per-stage timings (median, p95) of the pipeline as JSON.

Run it on an otherwise idle machine and compare ratios within one run;
absolute times vary from machine to machine and run to run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path


def _soak(args) -> dict:
    from vis_ros.bench.soak_bench import bench_soak

    return bench_soak(args.soak, args.soak_rate)


def _fleet(args) -> dict:
    from vis_ros.bench.fleet_bench import bench_fleet

    return bench_fleet()


def _input_sizes(args) -> dict:
    from vis_ros.bench.input_size_bench import bench_input_sizes

    return bench_input_sizes(Path(args.model) if args.model else None, threads=args.threads)


def _kernels(args) -> dict:
    from vis_ros.bench.kernels_bench import bench_kernels

    return bench_kernels()


def _stages(args) -> dict:
    from vis_ros.bench.stages_bench import bench_stages

    return bench_stages()


def _bag_memory(args) -> dict:
    from vis_ros.bench.bag_memory_bench import bench_bag_memory

    return bench_bag_memory()


# --flag -> (report key, how to run it, help); one flag runs that part alone, none runs the default set
MODES = {
    "soak": ("soak", _soak, "only the soak: FRAMES frames through a node process (10000 for the README figure);"
                            " RSS slope and frame accounting"),
    "cameras": ("cameras", lambda args: bench_multi_camera(args.cameras),
                "only the multi-camera part with N cameras (4 for the README figures): one node vs a node per"
                " camera, engine batch N vs 1, depth fusion, IDF1 per camera"),
    "fleet": ("fleet", _fleet, "only offline throughput: process-bag vs process-bags on a local Ray, 1 and 2"
                               " workers"),
    "input_sizes": ("input_sizes", _input_sizes, "only the engine of a dynamic-size model (--model, else a TinySeg"
                    " exported here) at the letterbox rectangle vs the full square, for 640x480 and 1280x720"),
    "kernels": ("kernels", _kernels, "only the C kernels, each against its numpy twin on the workload of its"
                                     " target"),
    "stages": ("stages", _stages, "only the pipeline's stages outside the engine against the engine, at 1, 10 and 30"
                                  " objects (640x480) and 10 at 1280x720, frame by frame and keyframe-3"),
    "bag_memory": ("bag_memory", _bag_memory, "only process-bag's peak RSS on bags of 1,000 and 10,000 frames,"
                                              " with and without --index, 3 runs each (about 15 minutes)"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments: the default set's options, and one flag per mode in MODES."""
    parser.add_argument("--model", default=None, help="ONNX or engine (default: embedded)")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: all)")
    parser.add_argument("--no-node", action="store_true", help="skip the node-on-topics part")
    parser.add_argument("--soak", type=int, default=0, metavar="FRAMES", help=MODES["soak"][2])
    parser.add_argument("--soak-rate", type=float, default=150.0,
                        help="soak: frames per second (default 150, more than the node processes here, so the"
                             " stale-drop path runs too)")
    parser.add_argument("--cameras", type=int, default=0, metavar="N", help=MODES["cameras"][2])
    for name, (_, _, help_text) in MODES.items():
        if name not in ("soak", "cameras"):
            parser.add_argument(f"--{name.replace('_', '-')}", action="store_true", help=help_text)
    parser.add_argument("--out", type=Path, default=Path("out/bench.json"))


def run(args: argparse.Namespace) -> int:
    """Run the mode asked for, or every default benchmark, and write the JSON report."""
    report = {"machine": {"cpu_count": os.cpu_count(), "processor": platform.processor(),
                          "python": platform.python_version()}}
    for name, (key, bench, _) in MODES.items():
        if getattr(args, name):
            report[key] = bench(args)
            return _write(report, args.out)
    report.update(_default_set(args))
    return _write(report, args.out)


def _default_set(args: argparse.Namespace) -> dict:
    """Run the engine, fusion, tracker and (unless --no-node) node benchmarks: `make bench`."""
    from vis_ros.bench.engine_bench import bench_engine
    from vis_ros.core.data.model_path import resolve_model

    report = {"engine": bench_engine(resolve_model(args.model), args.frames, threads=args.threads)}
    if args.model is None:  # the embedded model at both precisions, side by side
        from vis_ros.bench.engine_bench import bench_precisions
        from vis_ros.core.data.model_path import share_file
        from vis_ros.core.engine.precision import DEFAULT_INT8_MODEL_NAME

        report["precision"] = bench_precisions(resolve_model(None), share_file("models", DEFAULT_INT8_MODEL_NAME),
                                               args.frames, threads=args.threads)
    from vis_ros.bench.fusion_bench import bench_fusion

    report["fusion"] = bench_fusion()
    from vis_ros.bench.tracking_bench import bench_tracker

    report["tracker"] = bench_tracker()
    if not args.no_node:
        from vis_ros.bench.node_bench import (
            bench_conversion,
            bench_late_depth,
            bench_node,
            bench_node_at,
            bench_outputs,
        )
        from vis_ros.core.engine.precision import choose_model

        report["conversion"] = bench_conversion()
        report["outputs"] = bench_outputs()
        report["node"] = {"precision": choose_model("", "auto").precision, **bench_node()}  # the node's defaults
        report["node_fp32"] = bench_node_at("fp32")  # the 0.20 overhead target is stated for FP32
        report["late_depth"] = bench_late_depth()
        report["cameras"] = bench_multi_camera(4)
    return report


def bench_multi_camera(cameras: int) -> dict:
    """Return the multi-camera figures: nodes side by side, engine batching, fusion with depth, IDF1 per camera."""
    from vis_ros.bench.cameras_bench import bench_cameras, bench_cameras_with_depth, bench_engine_batch
    from vis_ros.core.engine.precision import choose_model
    from vis_ros.evaluation.tracking_eval import evaluate_cameras_tracking

    choice = choose_model("", "auto")
    return {"precision": choice.precision, "engine_batch": bench_engine_batch(cameras),
            "nodes": bench_cameras(cameras), "with_depth": bench_cameras_with_depth(cameras),
            "tracking": evaluate_cameras_tracking(choice.path, cameras)}


def _write(report: dict, out: Path) -> int:
    from vis_ros.core.data.files import write_json

    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, report)
    print(json.dumps(report, indent=2))
    return 0
