"""`collect PATH`: bring submissions from a folder or a zip into nbgrader's submitted/ folder.

Two layouts are recognised, per file:
- nbgrader's: ``.../<student>/<assignment>/<notebook>.ipynb``;
- flat LMS downloads: ``<student>_<anything><notebook>.ipynb``, e.g. Canvas's
  ``smithjohn_12345_67890_03_adam_adamw.ipynb``, ``smithjohn_LATE_12345_67890_03_adam_adamw-1.ipynb``
  (a ``-N`` suffix is a resubmission: the highest N wins).
Anything else is reported with the reason and left alone: nothing is guessed.
"""
from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.course import Course

MAX_NOTEBOOK_BYTES = 20 << 20
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
RESUBMISSION = re.compile(r"-(\d+)$")


@dataclass
class CollectResult:
    collected: list[tuple[str, str, str]] = field(default_factory=list)  # (student, notebook, source)
    unrecognised: list[tuple[str, str]] = field(default_factory=list)  # (source name, reason)

    @property
    def students(self) -> list[str]:
        return sorted({s for s, _, _ in self.collected})


def _sources(path: Path | str) -> Iterator[tuple[str, Callable[[], bytes], int]]:
    """(name, read-bytes function, size) for every file under a folder or inside a zip."""
    path = Path(path)
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                yield str(p.relative_to(path)), p.read_bytes, p.stat().st_size
    elif zipfile.is_zipfile(path):
        zf = zipfile.ZipFile(path)
        for info in zf.infolist():
            if not info.is_dir():
                yield info.filename, (lambda i=info: zf.read(i)), info.file_size
    else:
        raise ValueError(f"collect: PATH must be a folder or a .zip file, got {str(path)!r}")


def identify(name: str, assignment: str, notebooks: tuple[str, ...]
             ) -> tuple[str, str, int] | str:
    """(student, notebook, resubmission number) for a file name, or a reason it is not one."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    stem, suffix = PurePosixPath(parts[-1]).stem, PurePosixPath(parts[-1]).suffix
    if suffix != ".ipynb":
        return "not a notebook"
    if "__MACOSX" in parts or parts[-1].startswith("."):
        return "system file"
    if len(parts) >= 3 and parts[-2] == assignment:
        student, notebook, number = parts[-3], stem, 0
        if notebook not in notebooks:
            return f"notebook {stem!r} is not one of {list(notebooks)}"
    else:
        student, sep, rest = stem.partition("_")
        match = RESUBMISSION.search(rest)
        number = int(match.group(1)) if match else 0
        rest = rest[:match.start()] if match else rest
        found = [nb for nb in notebooks if rest == nb or rest.endswith("_" + nb)]
        if not sep or not found:
            return (f"name matches neither <student>/{assignment}/<notebook>.ipynb nor "
                    f"<student>_<anything>_<notebook>.ipynb with a notebook from {list(notebooks)}")
        notebook = found[0]
    if not STUDENT_ID.match(student):
        return f"student id {student!r} has characters other than letters, digits, '.' and '-'"
    return student, notebook, number


def collect(course: Course, path: Path | str) -> CollectResult:
    """Copy recognised notebooks into submitted/ and register their students in the gradebook."""
    result, chosen = CollectResult(), {}
    for name, read, size in _sources(path):
        found = identify(name, course.assignment, course.cfg.notebooks)
        if isinstance(found, str):
            if found != "system file":
                result.unrecognised.append((name, found))
            continue
        if size > MAX_NOTEBOOK_BYTES:
            result.unrecognised.append((name, f"larger than {MAX_NOTEBOOK_BYTES >> 20} MiB"))
            continue
        student, notebook, number = found
        previous = chosen.get((student, notebook))
        if previous is None or (number, name) > (previous[0], previous[1]):
            if previous is not None:
                result.unrecognised.append((previous[1], f"superseded by {name}"))
            chosen[(student, notebook)] = (number, name, read)
        else:
            result.unrecognised.append((name, f"superseded by {previous[1]}"))
    for (student, notebook), (_, name, read) in sorted(chosen.items()):
        folder = course.submitted(student)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{notebook}.ipynb").write_bytes(read())
        result.collected.append((student, notebook, name))
    register(course, result.students)
    return result


def register(course: Course, students: list[str]) -> None:
    with course.gradebook() as gb:
        for student in students:
            gb.update_or_create_student(student)
