"""Build a TensorRT engine from a YOLO-seg ONNX model for this GPU.

Engines are cached under a key of GPU name, compute capability, TensorRT
version and build options (--cache-dir), or written to --out. Needs the
tensorrt Python package and a CUDA GPU (a robot or workstation; not CI).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--onnx", required=True, type=Path, help="YOLO-seg ONNX model")
    parser.add_argument("--out", type=Path, help="engine file (default: key-named file in --cache-dir)")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "vis_ros" / "engines")
    parser.add_argument("--fp16", action="store_true", help="allow FP16 kernels")
    parser.add_argument("--int8", action="store_true", help="INT8 with entropy calibration (needs --calib)")
    parser.add_argument("--calib", type=Path, help="folder of calibration images")
    parser.add_argument("--calib-images", type=int, default=300)
    parser.add_argument("--workspace", type=int, default=2048, help="builder workspace, MB")
    parser.add_argument("--max-batch", type=int, default=1)


def run(args: argparse.Namespace) -> int:
    """Build (or find cached) the TensorRT engine of an ONNX model."""
    from vis_ros.core.model_tools.engine_builder import BuildOptions, build_engine

    options = BuildOptions(fp16=args.fp16, int8=args.int8, workspace_mb=args.workspace, max_batch=args.max_batch)
    calibration = None
    if args.int8:
        if args.calib is None:
            raise ValueError("--int8 needs --calib, a folder of representative images")
        from vis_ros.io.calibration_images import CalibrationSource

        calibration = CalibrationSource(folder=args.calib, count=args.calib_images)
    path = build_engine(args.onnx, args.cache_dir, options, out=args.out,
                        log=lambda m: print(m, flush=True), calibration=calibration)
    print(path)
    return 0
