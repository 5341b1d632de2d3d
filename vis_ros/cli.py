"""`vis-ros` command line: one sub-command per job, each in its own module.

A user's mistake (a missing or unreadable file, a refused model, a bad
argument) ends the command with one line, `vis-ros <command>: <what is
wrong>`, and exit code 2; `--debug` shows the traceback as well. Ctrl-C and
SIGTERM (timeout, systemd, Kubernetes) both stop a command the same clean way
(exit 130 and 143).
"""
from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from vis_ros.core.data.errors import EngineError
from vis_ros.io.stop_signals import Terminated, exit_code, sigterm_as_interrupt

# What a user can cause and fix: files, arguments and values, models. Anything else is a bug: a traceback.
USER_ERRORS = (OSError, ValueError, EngineError)

# sub-command -> (module under vis_ros.commands, one-line help)
_COMMANDS = {
    "demo": ("demo", "run the end-to-end demo and write its outputs"),
    "sim": ("sim", "render a synthetic RGB-D sequence with ground truth"),
    "train": ("train", "train the embedded default model on simulated frames"),
    "check-model": ("check_model", "say what a model is, whether the node accepts it and how fast it runs here"),
    "infer": ("infer", "segment one image and print/write the instances"),
    "eval": ("eval", "evaluate a model on held-out simulated frames (JSON)"),
    "build-engine": ("build_engine", "build a TensorRT engine for this GPU (cached by key)"),
    "quantize": ("quantize", "quantize a YOLO-seg ONNX model to INT8 for the CPU, calibrated"),
    "bench": ("bench", "per-stage timings as JSON"),
    "track-mot": ("track_mot", "track MOTChallenge detections, write MOTChallenge tracks"),
    "process-bag": ("process_bag", "run the node's pipeline over a rosbag2, write its outputs to a new bag"),
    "process-bags": ("process_bags", "process many rosbag2 files on Ray (local or a cluster), with a Parquet index"),
}


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """Return the parser; only `command`'s module is imported (a command's dependencies are its own: torch...)."""
    parser = argparse.ArgumentParser(prog="vis-ros", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="on an error, show the traceback too")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in _COMMANDS.items():
        if name != command:
            sub.add_parser(name, help=help_text, add_help=False)
            continue
        module = importlib.import_module(f"vis_ros.commands.{module_name}")
        module.add_arguments(sub.add_parser(name, help=help_text, description=module.__doc__))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `vis-ros <command>`; return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    known, _ = _parser().parse_known_args(argv)  # which command (or the top-level help / usage error)
    args = _parser(known.command).parse_args(argv)
    module = importlib.import_module(f"vis_ros.commands.{_COMMANDS[args.command][0]}")
    try:
        with sigterm_as_interrupt():
            return int(module.run(args) or 0)
    except USER_ERRORS as exc:
        if args.debug:
            traceback.print_exc()
        print(f"vis-ros {args.command}: {_sentence(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM as Terminated: the same clean-up ran
        word = "terminated" if isinstance(interrupt, Terminated) else "interrupted"
        print(f"vis-ros {args.command}: {word}", file=sys.stderr)
        _handled_interrupt()
        return exit_code(interrupt)


def _handled_interrupt() -> None:
    """Tell CPython the interrupt was handled, so `python -m vis_ros.cli` exits with our code.

    When Ctrl-C lands inside code a library runs from a string (exec: rosbags'
    generated message classes, dataclasses), CPython marks the interrupt as
    unhandled even though it is caught, and under `-m` it then kills the
    process with SIGINT at exit (seen: 1 run in 3 died by signal instead of
    exit 130). Every string eval clears that mark as it starts.
    """
    exec("")  # an empty string: clears CPython's unhandled-interrupt mark


def _sentence(exc: BaseException) -> str:
    """Say the error in one line: its message (an OSError's with the file), else its type."""
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in str(exc):
        return f"{exc.strerror or exc}: {exc.filename}"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
