"""Command-line errors are one sentence and exit code 2, not a traceback (`--debug` shows it)."""
from __future__ import annotations

import pytest

from vis_ros.cli import main


def _last_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_a_missing_model_is_one_line_and_exit_code_2(tmp_path, capsys):
    image = tmp_path / "a.png"
    import cv2
    import numpy as np

    cv2.imwrite(str(image), np.zeros((48, 64, 3), np.uint8))
    assert main(["infer", "--image", str(image), "--model", str(tmp_path / "missing.onnx")]) == 2
    line = _last_line(capsys)
    assert line.startswith("vis-ros infer: ") and "missing.onnx" in line


def test_an_unreadable_image_is_named(tmp_path, capsys):
    assert main(["infer", "--image", str(tmp_path / "nope.png")]) == 2
    assert _last_line(capsys) == (f"vis-ros infer: cannot read image {tmp_path / 'nope.png'} (missing, or not an"
                                  " image OpenCV can decode)")


def test_a_refused_calibration_source_is_one_line(tmp_path, capsys):
    assert main(["quantize", "--images", str(tmp_path / "none"), "--out", str(tmp_path / "q.onnx")]) == 2
    assert _last_line(capsys) == f"vis-ros quantize: calibration folder {tmp_path / 'none'} does not exist"


def test_debug_shows_the_traceback(tmp_path, capsys):
    assert main(["--debug", "infer", "--image", str(tmp_path / "nope.png")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().endswith("OpenCV can decode)")


def test_a_bad_argument_is_argparse_s_exit_code_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["process-bag"])
    assert exit_info.value.code == 2 and "vis-ros process-bag: error:" in capsys.readouterr().err


def test_a_command_imports_only_its_own_dependencies():
    """Every command imported torch (train's arguments were built eagerly): --help took 1.7 s and 259 MB."""
    import subprocess
    import sys

    probe = ("import sys\nfrom vis_ros import cli\n"
             "for argv in (['--help'], ['process-bag', '--help'], ['process-bags', '--help'], ['bench', '--help']):\n"
             "    try:\n        cli.main(argv)\n    except SystemExit:\n        pass\n"
             "print(sorted(m for m in ('torch', 'ray', 'pyarrow', 'rclpy') if m in sys.modules))\n")
    run = subprocess.run([sys.executable, "-P", "-c", probe], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stdout[-500:] + run.stderr[-500:]
