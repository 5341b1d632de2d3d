"""The manual says what the code does: the README's parameter table is the declarations, and it stays a manual."""
from __future__ import annotations

from pathlib import Path

from vis_ros.core.config.parameter_docs import markdown_table, replace_readme_block
from vis_ros.core.config.parameters import PARAMS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_readme_parameter_table_is_generated_from_the_declarations():
    assert replace_readme_block(README) == README, "stale: run `python -P tools/generate_parameter_docs.py`"


def test_the_generated_table_has_every_parameter_once_with_its_range_and_run_time_flag():
    rows = markdown_table().splitlines()[2:]
    assert [row.split("`")[1] for row in rows] == [p.name for p in PARAMS]
    score = next(row for row in rows if row.startswith("| `score_threshold`"))
    assert "| `0.4` | [0, 1] | yes |" in score
    model = next(row for row in rows if row.startswith("| `model`"))
    assert "| `''` |  |  |" in model  # read-only: no run-time "yes"


def test_the_readme_opens_with_the_two_commands_and_stays_a_manual():
    lines = README.splitlines()
    opening = "\n".join(lines[:10])
    assert "make demo" in opening and "make test" in opening
    assert len(lines) <= 400 and max(len(line) for line in lines) <= 400
    assert "../shared" not in README
    for doc in ("docs/architecture.md", "docs/benchmarks.md", "docs/algorithms.md", "docs/development.md"):
        assert doc in README and (ROOT / doc).is_file(), doc
