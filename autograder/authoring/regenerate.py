"""Student notebooks from the solution notebooks, with nbgrader's own generate_assignment.

``python -m autograder.authoring.regenerate`` regenerates notebooks/<assignment>/ from
solutions/<assignment>/ (the same step as ``python -m autograder release --notebooks-only``).
Settings come from course_config through ``Course``; only the release folder and the state
(gradebook) can be pointed elsewhere (tests regenerate into a temp dir).
``submit_solutions`` + ``autograde`` run real nbgrader autograde on the solution notebooks
submitted as a student, to prove the hidden tests give full marks to a correct answer.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

import nbformat

from autograder import nbmeta
from autograder.course import Course, check_result
from autograder.steps import release as release_step
from course_config import load


def course(release: Path | str | None = None, state: Path | str | None = None) -> Course:
    """The Course to generate with: the repository's, or one whose student notebooks go under
    ``release`` and whose gradebook lives in ``state`` (tests use temp dirs for both)."""
    overrides = {} if state is None else {"state_dir": str(Path(state).resolve())}
    return Course(load(overrides), release_root=None if release is None else Path(release).resolve())


def generate(release: Path | str | None = None, state: Path | str | None = None) -> Path:
    """Run nbgrader's generate_assignment; returns the folder holding the student notebooks."""
    c = course(release, state)
    release_step.generate(c)
    return c.release_dir


def submit_solutions(release: Path | str, state: Path | str, student: str = "solution_student",
                     notebooks: Iterable[str] | None = None) -> Path:
    """Submit the solution notebooks as ``student``: the released notebooks with the solution
    cells' sources put back, exactly what a student who solved everything would hand in."""
    c = course(release, state)
    folder = Path(state) / "submitted" / student / c.assignment
    folder.mkdir(parents=True, exist_ok=True)
    for stem in notebooks or c.cfg.notebooks:
        released = nbformat.read(Path(release) / f"{stem}.ipynb", as_version=4)
        source = nbformat.read(c.source_dir / f"{stem}.ipynb", as_version=4)
        nbformat.write(nbmeta.with_solutions(released, source), folder / f"{stem}.ipynb")
    (folder / "timestamp.txt").write_text("2025-01-01 00:00:00 UTC")
    return folder


def autograde(release: Path | str, state: Path | str, student: str = "solution_student",
              run_experiments: bool = False) -> dict[str, dict[str, tuple[float, float]]]:
    """Run plain nbgrader autograde (nbgrader's own kernel; experiment cells skipped as when
    grading, unless ``run_experiments``) for ``student``; returns {notebook: {grade_id:
    (score, max)}} for the autograded test cells."""
    c = course(release, state)
    check_result(c.api(sandbox=False, run_experiments=run_experiments).autograde(c.assignment, student),
                 "autograde")
    scores = {}
    with c.gradebook() as gb:
        submission = gb.find_submission(c.assignment, student)
        for nb in submission.notebooks:
            scores[nb.name] = {g.name: (g.score, g.max_score) for g in nb.grades
                               if g.cell.cell_type == "code"}
    return scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", help="write the student notebooks under this folder "
                        "instead of notebooks/ (the gradebook then goes to a temp dir too)")
    args = parser.parse_args(argv)
    if not course().source_dir.is_dir():
        sys.exit(f"no solution notebooks: {course().source_dir} does not exist")
    state = None
    if args.release:
        state = Path(args.release) / ".nbgrader_state"
        shutil.rmtree(state, ignore_errors=True)
    out = generate(release=args.release, state=state)
    print(f"student notebooks written to {out}")


if __name__ == "__main__":
    main()
