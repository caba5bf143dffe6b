"""Strip outputs from notebooks, so that running a tracked notebook never changes what is committed.

JupyterLab autosaves a notebook with its outputs (figures, widget state, timings). For the
notebooks named in ``.gitattributes`` (``filter=strip-outputs``) git runs this module as a clean
filter once it is registered in the checkout:

    git config filter.strip-outputs.clean ".venv/bin/python -m autograder.tools.strip_outputs --stdin"
    git config filter.strip-outputs.smudge cat

so the working copy keeps its outputs while ``git add`` stores the notebook without them. The
tests check the staged copy of every such notebook, so a commit with outputs fails CI even where
the filter was not registered.

    python -m autograder.tools.strip_outputs --stdin < nb.ipynb > clean.ipynb
    python -m autograder.tools.strip_outputs [--check] PATH...
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Plain JSON rather than nbformat: git runs the filter on every add and status of a changed
# notebook, and importing nbformat (its schema validators) takes seconds.
Notebook = dict[str, Any]

STRIPPED_METADATA = ("widgets",)  # notebook-level: saved widget state (images, progress bars)
STRIPPED_CELL_METADATA = ("execution", "collapsed", "scrolled")


def strip(nb: Notebook) -> Notebook:
    """``nb`` (a notebook's JSON) without outputs, execution counts, widget state or per-run
    cell metadata; changed in place and returned."""
    for key in STRIPPED_METADATA:
        nb.get("metadata", {}).pop(key, None)
    for cell in nb.get("cells", []):
        for key in STRIPPED_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def problems(nb: Notebook) -> list[str]:
    """What strip() would remove, one line per kind (empty for a clean notebook)."""
    found = [f"notebook metadata {key!r}" for key in STRIPPED_METADATA if key in nb.get("metadata", {})]
    cells = nb.get("cells", [])
    with_outputs = [i for i, c in enumerate(cells) if c.get("cell_type") == "code" and c.get("outputs")]
    if with_outputs:
        found.append(f"outputs in cells {with_outputs}")
    if any(c.get("execution_count") is not None for c in cells if c.get("cell_type") == "code"):
        found.append("execution counts")
    return found


def dumps(nb: Notebook) -> str:
    """The notebook's JSON as nbformat writes it (one-space indent, sorted keys, UTF-8 text)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Filter stdin to stdout (--stdin), strip files in place, or only report (--check)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--stdin", action="store_true", help="read a notebook on stdin, write it to stdout")
    parser.add_argument("--check", action="store_true", help="report notebooks with outputs; change nothing")
    args = parser.parse_args(argv)
    if args.stdin == bool(args.paths):
        parser.error("give either --stdin or notebook paths")
    if args.stdin:
        sys.stdout.write(dumps(strip(json.load(sys.stdin))))
        return 0
    status = 0
    for path in args.paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        found = problems(nb)
        if found and args.check:
            print(f"{path}: {'; '.join(found)} (run python -m autograder.tools.strip_outputs {path})")
            status = 1
        elif found:
            path.write_text(dumps(strip(nb)), encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
