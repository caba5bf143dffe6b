"""`release`: nbgrader generate_assignment, then the student bundle zip.

The bundle holds what students need and nothing of the instructor's: the student notebooks, the
student-visible packages (wdlab, data_gen, course_config.py), requirements.txt and a minimal
pyproject.toml that installs those packages. ``check_bundle`` proves nothing else got in.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from autograder.course import STUDENT_MODULES, STUDENT_PACKAGES, Course, check_result

STUDENT_FILES = (*STUDENT_MODULES, "requirements.txt")
FORBIDDEN = ("autograder/", "solutions/", "tests/", ".course_state/", "nbgrader_config.py")
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}
STUDENT_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "decoupled-weight-decay-student"
version = "0.1.0"
description = "Student toolkit for the decoupled weight decay notebooks"
requires-python = ">=3.10"

[tool.setuptools]
py-modules = ["course_config"]

[tool.setuptools.packages.find]
include = ["wdlab*", "data_gen*"]
"""

README = """\
Decoupled weight decay: student bundle

    python -m venv .venv && .venv/bin/pip install -r requirements.txt
    .venv/bin/pip install --no-deps -e .
    .venv/bin/jupyter lab notebooks/{assignment}

Submit each notebook of notebooks/{assignment}/ unchanged in name.
"""


def generate(course: Course) -> dict[str, Any]:
    """Regenerate notebooks/<assignment>/ from solutions/ with nbgrader (and record it in the gradebook)."""
    if not course.source_dir.is_dir():
        raise FileNotFoundError(f"release: no source notebooks in {course.source_dir}")
    return check_result(course.api(sandbox=False).generate_assignment(course.assignment),
                        "generate_assignment")


def bundle_entries(course: Course) -> list[tuple[Path, str]]:
    """(path on disk, name in the zip) for every file of the student bundle."""
    root = Path(course.root)
    entries = [(p, f"notebooks/{course.assignment}/{p.relative_to(course.release_dir)}")
               for p in sorted(course.release_dir.rglob("*")) if p.is_file()]
    for package in STUDENT_PACKAGES:
        entries += [(p, str(p.relative_to(root))) for p in sorted((root / package).rglob("*"))
                    if p.is_file() and not SKIP_PARTS & set(p.parts) and p.suffix != ".pyc"]
    entries += [(root / name, name) for name in STUDENT_FILES if (root / name).is_file()]
    return [(p, name) for p, name in entries
            if not SKIP_PARTS & set(Path(name).parts)]


def write_bundle(course: Course, path: Path | str | None = None) -> Path:
    """Zip the student bundle; returns its path (default: <state>/release/<assignment>.zip)."""
    path = Path(path or course.state / "release" / f"{course.assignment}.zip")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for source, name in bundle_entries(course):
            zf.write(source, name)
        zf.writestr("pyproject.toml", STUDENT_PYPROJECT)
        zf.writestr("README.txt", README.format(assignment=course.assignment))
    check_bundle(path)
    return path


def check_bundle(path: Path) -> None:
    """Raise ValueError if the bundle holds instructor material (solutions, grader, hidden tests)."""
    with zipfile.ZipFile(path) as zf:
        bad = [n for n in zf.namelist() if n.startswith(FORBIDDEN)]
        for name in zf.namelist():
            if name.endswith((".ipynb", ".py")):
                text = zf.read(name).decode("utf-8", "replace")
                if "BEGIN HIDDEN TESTS" in text or "### BEGIN SOLUTION" in text \
                        or "from autograder" in text or "import autograder" in text:
                    bad.append(name)
    if bad:
        raise ValueError(f"release: the student bundle must not contain {sorted(set(bad))}")


def release(course: Course, notebooks_only: bool = False, bundle_path: Path | str | None = None
            ) -> Path | None:
    """generate_assignment, then (unless notebooks_only) the bundle; returns the bundle path or None."""
    generate(course)
    return None if notebooks_only else write_bundle(course, bundle_path)
