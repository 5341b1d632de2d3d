"""`vis-ros` command line: one sub-command per job, each in its own module."""
from __future__ import annotations

import argparse
import importlib
import sys

# sub-command -> (module under vis_ros.commands, one-line help)
_COMMANDS = {
    "demo": ("demo", "run the end-to-end demo and write its outputs"),
    "sim": ("sim", "render a synthetic RGB-D sequence with ground truth"),
    "train": ("train", "train the embedded default model on simulated frames"),
    "infer": ("infer", "segment one image and print/write the instances"),
    "eval": ("eval", "evaluate a model on held-out simulated frames (JSON)"),
    "build-engine": ("build_engine", "build a TensorRT engine for this GPU (cached by key)"),
    "quantize": ("quantize", "quantize a YOLO-seg ONNX model to INT8 for the CPU, calibrated"),
    "bench": ("bench", "per-stage timings as JSON"),
    "track-mot": ("track_mot", "track MOTChallenge detections, write MOTChallenge tracks"),
    "process-bag": ("process_bag", "run the pipeline over a rosbag2, write outputs to a new bag"),
}


def main(argv: list[str] | None = None) -> int:
    """Run `vis-ros <command>`; return its exit code."""
    parser = argparse.ArgumentParser(prog="vis-ros", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, (module_name, help_text) in _COMMANDS.items():
        module = importlib.import_module(f"vis_ros.commands.{module_name}")
        command_parser = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(command_parser)
        modules[name] = module
    args = parser.parse_args(argv)
    return int(modules[args.command].run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
