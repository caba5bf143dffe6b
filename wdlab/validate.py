"""Check notebooks before you submit them: ``python -m wdlab.validate [NOTEBOOK ...]``.

Runs each notebook (default: every notebook of the assignment, in ``notebooks/<assignment>/``)
from a fresh kernel, top to bottom, as *Kernel > Restart Kernel and Run All Cells* does, without
changing the file, and lists what would cost points:

* cells that stop with an error: a check cell's AssertionError says what is wrong, a
  NotImplementedError means the function above it is not written yet; a cell that runs longer
  than the per-cell limit of grading is stopped and listed too;
* written answers still reading "YOUR ANSWER HERE";
* graded cells (a function or its check) that are missing;
* a file name the grader will not recognise.

The kernel is this Python (the one running the command), whatever other Jupyter kernels the
computer has. Exit status: 0 when nothing was found, 1 when something was, 2 for a file that
cannot be read as a notebook.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

import course_config

ANSWER_PLACEHOLDER = "YOUR ANSWER HERE"  # what nbgrader leaves in an unanswered written answer


@dataclass
class Result:
    """What validating one notebook found (``problems`` empty: nothing that costs points)."""

    path: Path
    problems: list[str] = field(default_factory=list)
    cells_run: int = 0


def default_notebooks(cfg: course_config.CourseConfig | None = None) -> list[Path]:
    """The assignment's notebooks, in teaching order, next to course_config.py."""
    cfg = cfg or course_config.CONFIG
    folder = course_config.ROOT / "notebooks" / cfg.assignment
    return [folder / f"{stem}.ipynb" for stem in cfg.notebooks]


def grade_id(cell: nbformat.NotebookNode) -> str:
    """The cell's nbgrader id ("" for an ordinary cell)."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def describe(index: int, cell: nbformat.NotebookNode) -> str:
    """How a student finds the cell: its position, its graded id, its first line."""
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    gid = grade_id(cell)
    return f"cell {index + 1}" + (f" ({gid})" if gid else "") + (f" `{first[:60]}`" if first else "")


def static_problems(path: Path, nb: nbformat.NotebookNode,
                    cfg: course_config.CourseConfig | None = None) -> list[tuple[int, str]]:
    """What reading the notebook shows, as (cell index, -1 for the whole notebook; problem): its
    name, unanswered written answers, missing graded cells."""
    cfg = cfg or course_config.CONFIG
    problems = []
    if path.stem not in cfg.notebooks:
        problems.append((-1, f"'{path.name}' is not a notebook name of the assignment "
                        f"({', '.join(n + '.ipynb' for n in cfg.notebooks)}): the grader only "
                        "finds a notebook under its original name"))
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("solution") \
                and cell.source.strip() in ("", ANSWER_PLACEHOLDER):
            problems.append((index, f"{describe(index, cell)}: written answer not given yet"))
    present = {grade_id(cell) for cell in nb.cells}
    for key in cfg.points:
        notebook, function = course_config.split_item(key)
        if notebook == path.stem:
            problems += [(-1, f"graded cell '{gid}' is missing: copy it back from the notebook "
                              "you were given") for gid in (function, f"test_{function}")
                         if gid not in present]
    return problems


def this_python() -> AsyncKernelManager:
    """A kernel manager for a kernel of the running Python: only ipykernel's built-in spec is
    looked up, so a 'python3' kernel installed elsewhere on the computer cannot take its place.
    (The async manager, as nbclient's own: with the blocking one a timeout cannot interrupt.)"""
    return AsyncKernelManager(kernel_name="python3",
                              kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))


def run_problems(path: Path, nb: nbformat.NotebookNode, timeout_s: int
                 ) -> tuple[list[tuple[int, str]], int]:
    """Run every code cell of ``nb`` in a fresh kernel (working folder: the notebook's); the
    cells that failed, as (cell index, problem), and how many cells ran."""
    started: list[int] = []
    client = NotebookClient(nb, km=this_python(), timeout=timeout_s, allow_errors=True,
                            interrupt_on_timeout=True, record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}},
                            on_cell_execute=lambda cell, cell_index: started.append(cell_index))
    try:
        # the kernel's own log (not the cells' output) would only clutter the list
        client.execute(stderr=subprocess.DEVNULL)
    except DeadKernelError:
        index = started[-1] if started else 0
        return [(index, f"{describe(index, nb.cells[index])}: the kernel died while it ran (out "
                 "of memory, or the code ended the process); cells after it did not run")], len(started)
    problems = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                if output.get("ename") == "KeyboardInterrupt":
                    why = f"ran longer than {timeout_s} s, the limit per cell when graded, and was stopped"
                else:
                    why = f"{output.get('ename')}: {output.get('evalue')}".strip()
                problems.append((index, f"{describe(index, cell)}: {why}"))
                break
    return problems, len(started)


def validate(path: Path | str, timeout_s: int | None = None,
             cfg: course_config.CourseConfig | None = None) -> Result:
    """Check one notebook (the file is never written). Raises ValueError for a file that is not
    a readable notebook."""
    cfg = cfg or course_config.CONFIG
    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot be read as a notebook ({err}); "
                         "restore it from a copy that opens in JupyterLab") from None
    found = static_problems(path, nb, cfg)
    failed, cells_run = run_problems(path, nb, timeout_s or cfg.cell_timeout_s)
    return Result(path, [text for _, text in sorted(found + failed, key=lambda p: p[0])], cells_run)


def report(result: Result) -> str:
    """The lines to print for one notebook."""
    if not result.problems:
        return f"{result.path}: OK ({result.cells_run} code cells ran without an error)"
    lines = [f"{result.path}: {len(result.problems)} to fix"]
    return "\n".join(lines + [f"  - {p}" for p in result.problems])


def main(argv: list[str] | None = None) -> int:
    """Validate the notebooks named on the command line (default: the assignment's); exit status."""
    parser = argparse.ArgumentParser(prog="python -m wdlab.validate",
                                     description="Run notebooks from a fresh kernel and list what "
                                                 "to fix before submitting.")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebook files (default: every notebook of the assignment)")
    parser.add_argument("--timeout", type=int, default=None, metavar="S",
                        help=f"seconds a cell may run (default {course_config.CONFIG.cell_timeout_s}, "
                             "as when graded)")
    args = parser.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):  # a console that cannot print a cell's text gets "?"
        sys.stdout.reconfigure(errors="replace")
    status = 0
    for path in args.notebooks or default_notebooks():
        try:
            result = validate(path, args.timeout)
        except ValueError as err:
            print(err, file=sys.stderr)
            status = 2
            continue
        print(report(result), flush=True)
        status = max(status, 1 if result.problems else 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
