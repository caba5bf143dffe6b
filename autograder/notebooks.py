"""Student notebooks from the solution notebooks, with nbgrader's own generate_assignment.

``python -m autograder.notebooks`` regenerates notebooks/<assignment>/ from
solutions/<assignment>/ (the same step as ``python -m autograder release --notebooks-only``).
Settings come from course_config through ``Course``; only the release folder and the state
(gradebook) can be pointed elsewhere (tests regenerate into a temp dir).
``submit_solutions`` + ``autograde`` run real nbgrader autograde on the solution notebooks
submitted as a student, to prove the hidden tests give full marks to a correct answer.
"""
import argparse
import shutil
import sys
from pathlib import Path

import nbformat

from autograder import release as release_module
from autograder.course import Course, check_result
from course_config import CONFIG, ROOT, load

SOLUTIONS = ROOT / "solutions" / CONFIG.assignment
RELEASE = ROOT / "notebooks" / CONFIG.assignment


def course(release=None, state=None):
    """The Course to generate with: the repository's, or one whose student notebooks go under
    ``release`` and whose gradebook lives in ``state`` (tests use temp dirs for both)."""
    overrides = {} if state is None else {"state_dir": str(Path(state).resolve())}
    return Course(load(overrides), release_root=None if release is None else Path(release).resolve())


def generate(release=None, state=None):
    """Run nbgrader's generate_assignment; returns the folder holding the student notebooks."""
    c = course(release, state)
    release_module.generate(c)
    return c.release_dir


def submit_solutions(release, state, student="solution_student", notebooks=None):
    """Submit the solution notebooks as ``student``: the released notebooks with the solution
    cells' sources put back, exactly what a student who solved everything would hand in."""
    folder = Path(state) / "submitted" / student / CONFIG.assignment
    folder.mkdir(parents=True, exist_ok=True)
    for stem in notebooks or CONFIG.notebooks:
        released = nbformat.read(Path(release) / f"{stem}.ipynb", as_version=4)
        source = nbformat.read(SOLUTIONS / f"{stem}.ipynb", as_version=4)
        answers = {_grade_id(c): c.source for c in source.cells if _meta(c).get("solution")}
        for cell in released.cells:
            if _meta(cell).get("solution"):
                cell.source = answers[_grade_id(cell)]
        nbformat.write(released, folder / f"{stem}.ipynb")
    (folder / "timestamp.txt").write_text("2025-01-01 00:00:00 UTC")
    return folder


def autograde(release, state, student="solution_student"):
    """Run plain nbgrader autograde (nbgrader's own kernel, every cell) for ``student``; returns
    {notebook: {grade_id: (score, max)}} for the autograded test cells."""
    c = course(release, state)
    check_result(c.api(sandbox=False, run_experiments=True).autograde(c.assignment, student),
                 "autograde")
    scores = {}
    with c.gradebook() as gb:
        submission = gb.find_submission(c.assignment, student)
        for nb in submission.notebooks:
            scores[nb.name] = {g.name: (g.score, g.max_score) for g in nb.grades
                               if g.cell.cell_type == "code"}
    return scores


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _grade_id(cell):
    return _meta(cell)["grade_id"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", help="write the student notebooks under this folder "
                        "instead of notebooks/ (the gradebook then goes to a temp dir too)")
    args = parser.parse_args(argv)
    if not SOLUTIONS.is_dir():
        sys.exit(f"no solution notebooks: {SOLUTIONS} does not exist")
    state = None
    if args.release:
        state = Path(args.release) / ".nbgrader_state"
        shutil.rmtree(state, ignore_errors=True)
    out = generate(release=args.release, state=state)
    print(f"student notebooks written to {out}")


if __name__ == "__main__":
    main()
