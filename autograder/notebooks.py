"""Student notebooks from the solution notebooks, with nbgrader's own generate_assignment.

``python -m autograder.notebooks`` regenerates notebooks/<assignment>/ from
solutions/<assignment>/. Settings come from the repository's nbgrader_config.py; only the
release folder and the gradebook can be pointed elsewhere (tests regenerate into a temp dir).
``submit_solutions`` + ``autograde`` run real nbgrader autograde on the solution notebooks
submitted as a student, to prove the hidden tests give full marks to a correct answer.
"""
import argparse
import os
import shutil
import sys
from pathlib import Path

import nbformat
from nbgrader.apps import NbGraderAPI
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

from course_config import CONFIG, ROOT

SOLUTIONS = ROOT / "solutions" / CONFIG.assignment
RELEASE = ROOT / "notebooks" / CONFIG.assignment


def course_config(root=None, release=None, state=None):
    """nbgrader's Config from nbgrader_config.py, optionally re-rooted (absolute paths)."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    course = config.CourseDirectory
    if root is not None:
        course.root = str(root)
    if release is not None:
        course.release_directory = str(Path(release).resolve())
    if state is not None:
        state = Path(state).resolve()
        course.submitted_directory = str(state / "submitted")
        course.autograded_directory = str(state / "autograded")
        course.feedback_directory = str(state / "feedback")
        course.db_url = f"sqlite:///{state / 'gradebook.db'}"
    Path(course.db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return config


def _api(config):
    # nbgrader creates a gradebook by running the `alembic` script that sits next to this
    # Python; without the venv on PATH (python called by its full path) that fails.
    bindir = str(Path(sys.executable).parent)
    if shutil.which("alembic") is None and bindir not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ["PATH"]
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _run(result, what):
    if not result["success"]:
        raise RuntimeError(f"nbgrader {what} failed:\n{result.get('log', '')}\n{result.get('error', '')}")
    return result


def generate(release=None, state=None):
    """Run generate_assignment; returns the folder holding the student notebooks."""
    config = course_config(release=release, state=state)
    _run(_api(config).generate_assignment(CONFIG.assignment, force=True, create=True),
         "generate_assignment")
    base = Path(release).resolve() if release is not None else ROOT / "notebooks"
    return base / CONFIG.assignment


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
    """Run nbgrader autograde for ``student``; returns {notebook: {grade_id: (score, max)}}
    for the autograded test cells."""
    config = course_config(release=release, state=state)
    _run(_api(config).autograde(CONFIG.assignment, student, force=True, create=True), "autograde")
    scores = {}
    with Gradebook(config.CourseDirectory.db_url) as gb:
        submission = gb.find_submission(CONFIG.assignment, student)
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
