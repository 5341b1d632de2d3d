"""Write the README's parameter table from the declarations (vis_ros/core/config/parameters.py).

    source tools/env.sh && python -P tools/generate_parameter_docs.py [--check]

--check exits 1 when the README is out of date instead of writing it
(the tests make the same check).
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from vis_ros.core.config.parameter_docs import replace_readme_block

README = Path(__file__).resolve().parents[1] / "README.md"


def main() -> int:
    """Rewrite (or check) the README's generated parameter table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only say whether the README is up to date")
    args = parser.parse_args()
    text = README.read_text()
    updated = replace_readme_block(text)
    if args.check:
        print("README parameter table is up to date" if updated == text else "README parameter table is stale")
        return 0 if updated == text else 1
    if updated != text:
        fd, tmp = tempfile.mkstemp(dir=README.parent, prefix=".README.", suffix=".md")
        with os.fdopen(fd, "w") as out:
            out.write(updated)
        os.replace(tmp, README)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
