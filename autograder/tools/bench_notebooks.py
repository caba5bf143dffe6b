"""`make bench-notebooks`: how long each solution notebook takes top to bottom in a real kernel.

The course promises that every notebook runs in about a minute on 2 cores (``BUDGET_S``). Wall
time depends on the machine's load, so it is measured here, never asserted in a test. The last
line printed is JSON: {"seconds": {notebook: s}, "budget_s", "over_budget": [...], "load_avg"}.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.course import Course
from course_config import CONFIG

BUDGET_S = 60  # per solution notebook, on 2 CPU cores


def run_notebook(path: Path, timeout: int) -> tuple[float, int]:
    """(wall seconds with the kernel start, number of cells that raised) for one notebook."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    failed = sum(any(o.output_type == "error" for o in c.get("outputs", [])) for c in nb.cells)
    return seconds, failed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.tools.bench_notebooks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebook stems (default: all)")
    args = parser.parse_args(argv)
    course = Course(CONFIG)
    stems = args.notebooks or list(CONFIG.notebooks)
    unknown = sorted(set(stems) - set(CONFIG.notebooks))
    if unknown:
        parser.error(f"unknown notebooks {unknown}; known: {list(CONFIG.notebooks)}")
    seconds, failed = {}, {}
    for stem in stems:
        seconds[stem], failed[stem] = run_notebook(course.source_dir / f"{stem}.ipynb",
                                                   CONFIG.cell_timeout_s)
        print(f"{stem}: {seconds[stem]:.1f} s, {failed[stem]} failing cells", flush=True)
    print(json.dumps({"seconds": {k: round(v, 2) for k, v in seconds.items()}, "budget_s": BUDGET_S,
                      "over_budget": [k for k, v in seconds.items() if v > BUDGET_S],
                      "failing_cells": failed,
                      "load_avg": [round(x, 2) for x in os.getloadavg()]}))


if __name__ == "__main__":
    main()
