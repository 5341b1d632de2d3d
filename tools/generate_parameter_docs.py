"""Write the README's parameter table and config/vis_ros.yaml from the declarations (core/config/parameters.py).

    source tools/env.sh && python -P tools/generate_parameter_docs.py [--check]

--check exits 1 when either is out of date instead of writing them
(the tests make the same check).
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from vis_ros.core.config.parameter_docs import replace_readme_block, yaml_text

ROOT = Path(__file__).resolve().parents[1]
README, PARAMETER_FILE = ROOT / "README.md", ROOT / "config" / "vis_ros.yaml"


def main() -> int:
    """Rewrite (or check) the README's generated parameter table and the parameter file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only say whether both are up to date")
    args = parser.parse_args()
    stale = []
    for path, make in ((README, replace_readme_block), (PARAMETER_FILE, lambda _: yaml_text())):
        text = path.read_text()
        updated = make(text)
        if updated == text:
            continue
        stale.append(path.name)
        if not args.check:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            with os.fdopen(fd, "w") as out:
                out.write(updated)
            os.replace(tmp, path)
    if args.check:
        print(f"stale: {', '.join(stale)}" if stale else "up to date")
        return 1 if stale else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
