"""Train the embedded default model on simulated frames and export it to ONNX.

Deterministic for a given --seed on one machine (two runs gave bit-identical
weights); on the 2-core CI-class CPU the defaults (ReLU, 3,400 iterations)
took 42.4 minutes, 52.8 in a slow spell (models/README.md).
Needs PyTorch (`pip install torch==2.13.0` here; it is not needed at run time).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    from vis_ros.train.model import ACTIVATIONS
    from vis_ros.train.trainer import TrainConfig

    d = TrainConfig()
    parser.add_argument("--out", type=Path, default=Path("models/vis_ros_default.onnx"))
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--samples", type=int, default=d.samples, help="training scenes")
    parser.add_argument("--iterations", type=int, default=d.iterations)
    parser.add_argument("--batch", type=int, default=d.batch)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default=d.activation,
                        help="relu (the embedded model: folds into INT8 convolutions) or silu (as YOLOv8 /"
                             " YOLO11: slower INT8; models/README.md)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="keep generated training samples here (reused on re-runs)")


def run(args: argparse.Namespace) -> int:
    """Train the embedded model and export it to ONNX."""
    from vis_ros.train.trainer import TrainConfig, train

    config = TrainConfig(seed=args.seed, samples=args.samples, iterations=args.iterations,
                         batch=args.batch, lr=args.lr, activation=args.activation,
                         cache_dir=args.cache_dir)
    train(config, args.out, log=lambda m: print(m, flush=True))
    return 0
