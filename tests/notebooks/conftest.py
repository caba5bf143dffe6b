"""Shared pieces of the notebook tests: which notebooks exist, and running one with nbclient."""
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import nbmeta
from course_config import CONFIG, ROOT

SOLUTIONS = ROOT / "solutions" / CONFIG.assignment
RELEASE = ROOT / "notebooks" / CONFIG.assignment


def solution_path(stem):
    path = SOLUTIONS / f"{stem}.ipynb"
    if not path.exists():
        pytest.skip(f"{path.name} is not written yet")
    return path


def release_path(stem):
    solution_path(stem)
    path = RELEASE / f"{stem}.ipynb"
    assert path.exists(), f"{path} is missing: run `python -m autograder.authoring.regenerate`"
    return path


def execute(path):
    """Run a notebook top to bottom in a real kernel (cwd = its folder), errors allowed.
    Returns the executed notebook and the wall-clock seconds, kernel start included."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CONFIG.cell_timeout_s, kernel_name="python3",
                            allow_errors=True, resources={"metadata": {"path": str(Path(path).parent)}})
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def meta(cell):
    return nbmeta.nbgrader(cell)


def errors(cell):
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def stderr(cell):
    return "".join(o.text for o in cell.get("outputs", [])
                   if o.output_type == "stream" and o.name == "stderr")


NOTEBOOKS = list(CONFIG.notebooks)
