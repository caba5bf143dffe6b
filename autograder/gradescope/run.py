"""What Gradescope's ``setup.sh`` and ``run_autograder`` call, inside the autograder container.

    python -m autograder.gradescope.run prepare [--root R]    once, while the image is built
    python -m autograder.gradescope.run grade [--root R] [--visibility V] [--no-kernel]

``R`` is Gradescope's folder (``/autograder``; ``$AUTOGRADER_ROOT`` or ``--root`` change it, so a
test runs the whole zip in a temporary tree): ``R/source`` the unzipped autograder (the course
root), ``R/submission`` the student's files, ``R/results/results.json`` the verdict.

``grade`` takes the course notebooks out of the submission (loose files, in folders or in zips),
writes them where the instructor's pipeline expects a collected submission, and grades it with
the course's own steps: ``steps.grade.grade_one`` (nbgrader's run in the sandboxed kernel, whose
scores never count, then the trusted verdict) or, with ``--no-kernel``, ``steps.grade.trusted``
alone. Every point comes from the trusted verdict. Whatever happens -- no notebook, a broken one,
the grader's own failure -- a results.json is written; everything the run prints is redacted and
goes to Gradescope's stdout, which only instructors see.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from nbformat import NotebookNode

import course_config
from autograder import reports
from autograder.course import Course
from autograder.gradescope import results
from autograder.isolation import kernel as sandboxed_kernel
from autograder.isolation import sandbox
from autograder.nbgrader_glue import process
from autograder.reports import SKIPPED, Report
from autograder.steps import grade as steps_grade
from autograder.steps import release
from autograder.steps.collect import MAX_NOTEBOOK_BYTES

ROOT_ENV = "AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"
STUDENT = "submission"  # the one student of a Gradescope container
STATE = ".course_state"  # under the source root, as on an instructor's machine
# Written by setup.sh: the interpreter that holds the course lock (run_autograder reads it).
PYTHON_FILE = ".autograder-python"


@dataclass(frozen=True)
class Roots:
    """Gradescope's layout under one folder."""

    base: Path

    @property
    def source(self) -> Path:
        return self.base / "source"

    @property
    def submission(self) -> Path:
        return self.base / "submission"

    @property
    def results(self) -> Path:
        return self.base / "results" / "results.json"


def roots(path: str | Path | None = None) -> Roots:
    return Roots(Path(path or os.environ.get(ROOT_ENV) or DEFAULT_ROOT).resolve())


def container_course(where: Roots) -> Course:
    """The course as the unzipped autograder holds it, with its state under the source root."""
    state = where.source / STATE
    cfg = course_config.load({"state_dir": str(state)})
    return Course(cfg, where.source, release_root=state / "release")


# ---- taking the notebooks out of a submission -----------------------------------------------

# A browser's second download ("name (1).ipynb") or an LMS resubmission ("name-2.ipynb").
DECORATED = re.compile(r"(?P<stem>.+?)(?: ?\(\d+\)|-\d+)\.ipynb")


@dataclass
class Intake:
    files: dict[str, bytes] = field(default_factory=dict)  # notebook stem -> its bytes
    sources: dict[str, str] = field(default_factory=dict)  # notebook stem -> where it came from
    notes: list[str] = field(default_factory=list)  # one line per file not taken, and why


@dataclass
class _Candidate:
    notebook: str
    exact: bool
    shown: str
    read: Callable[[], bytes]


def notebook_of(name: str, notebooks: Sequence[str]) -> tuple[str | None, bool]:
    """(the course notebook a file name stands for, whether the name is exact)."""
    base = name.rsplit("/", 1)[-1]
    if base.endswith(".ipynb") and base[:-len(".ipynb")] in notebooks:
        return base[:-len(".ipynb")], True
    m = DECORATED.fullmatch(base)
    if m and m["stem"] in notebooks:
        return m["stem"], False
    return None, False


def _too_large(size: int) -> str | None:
    if size > MAX_NOTEBOOK_BYTES:
        return (f"{size / (1 << 20):.1f} MiB, over {MAX_NOTEBOOK_BYTES >> 20} MiB: clear the "
                "outputs (Edit > Clear Outputs of All Cells), save and submit again")
    return None


def _read_capped(fh: BinaryIO, limit: int) -> bytes:
    data = fh.read(limit + 1)  # a zip entry may declare a size smaller than it is
    if len(data) > limit:
        raise ValueError("larger than it declares")
    return data


def _hidden(name: str) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in name.split("/"))


def _zip_candidates(path: Path, shown: str, notebooks: Sequence[str], notes: list[str]
                    ) -> list[_Candidate]:
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        notes.append(f"{shown}: not a readable zip ({type(err).__name__})")
        return []
    out = []
    for info in infos:
        name = info.orig_filename.replace("\\", "/")
        if info.is_dir() or _hidden(name):
            continue
        where = f"{shown}/{name}"
        notebook, exact = notebook_of(name, notebooks)
        if stat.S_ISLNK(info.external_attr >> 16):
            notes.append(f"{where}: a symbolic link, not followed")
        elif name.endswith(".zip"):
            notes.append(f"{where}: a zip inside a zip is not opened; submit the notebooks")
        elif notebook is None:
            notes.append(f"{where}: not one of the course notebooks {list(notebooks)}")
        elif problem := _too_large(info.file_size):
            notes.append(f"{where}: {problem}")
        else:
            def read(zf: zipfile.ZipFile = zf, info: zipfile.ZipInfo = info) -> bytes:
                with zf.open(info) as fh:
                    return _read_capped(fh, MAX_NOTEBOOK_BYTES)
            out.append(_Candidate(notebook, exact, where, read))
    return out


def intake(folder: Path, notebooks: Sequence[str]) -> Intake:
    """The course notebooks in a Gradescope submission folder: files anywhere below it and
    inside zips in it, by name (``<notebook>.ipynb``; ``<notebook> (1).ipynb`` or
    ``<notebook>-2.ipynb`` when no file has the exact name). Links are not followed and two
    different files for one notebook take neither: the notes say what to resubmit."""
    found, notes = Intake(), []
    candidates: list[_Candidate] = []
    folder = Path(folder)
    for here, dirs, files in os.walk(folder):  # never follows linked folders
        dirs[:] = sorted(d for d in dirs if not _hidden(d))
        for name in sorted(files):
            path = Path(here) / name
            shown = path.relative_to(folder).as_posix()
            if _hidden(shown):
                continue
            mode = os.lstat(path).st_mode
            notebook, exact = notebook_of(name, notebooks)
            if stat.S_ISLNK(mode) or not stat.S_ISREG(mode):
                notes.append(f"{shown}: not a regular file, not read")
            elif name.endswith(".zip"):
                candidates += _zip_candidates(path, shown, notebooks, notes)
            elif notebook is None:
                notes.append(f"{shown}: not one of the course notebooks {list(notebooks)}")
            elif problem := _too_large(path.stat().st_size):
                notes.append(f"{shown}: {problem}")
            else:
                def read(path: Path = path) -> bytes:
                    with open(path, "rb") as fh:
                        return _read_capped(fh, MAX_NOTEBOOK_BYTES)
                candidates.append(_Candidate(notebook, exact, shown, read))
    for notebook in notebooks:
        mine = [c for c in candidates if c.notebook == notebook]
        best = [c for c in mine if c.exact] or mine
        contents = {}
        for c in best:
            try:
                contents[c.shown] = c.read()
            except (OSError, ValueError, zipfile.BadZipFile, RuntimeError) as err:
                notes.append(f"{c.shown}: unreadable ({type(err).__name__})")
        notes += [f"{c.shown}: not used, {best[0].shown} has the exact name"
                  for c in mine if c not in best]
        if len(set(contents.values())) > 1:
            notes.append(f"{' and '.join(contents)} are different files for {notebook}: none "
                         "was graded; submit one file per notebook")
        elif contents:
            shown, data = next(iter(contents.items()))
            found.files[notebook], found.sources[notebook] = data, shown
    found.notes = notes
    return found


def write_submission(course: Course, taken: Intake) -> Path:
    """Put the taken notebooks where a collected submission lives (replacing an earlier one)."""
    folder = course.submitted(STUDENT)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for notebook, data in taken.files.items():
        (folder / f"{notebook}.ipynb").write_bytes(data)
    return folder


def summary(course: Course, taken: Intake) -> str:
    """The top-level text students see: which files were graded and which are missing."""
    names = [f"{nb}.ipynb" + ("" if src == f"{nb}.ipynb" else f" (from {src})")
             for nb, src in taken.sources.items()]
    lines = [f"Graded: {', '.join(names)}" if names
             else "Graded: no course notebook was found in this submission."]
    missing = [nb for nb in course.cfg.notebooks if nb not in taken.files and not course.is_optional(nb)]
    if missing:
        lines.append(f"Missing: {', '.join(f'{nb}.ipynb' for nb in missing)} -- their functions "
                     "get 0 points. Submit all notebooks together, under their original names.")
    handed_in = course.handed_in(STUDENT)
    skipped = [nb for nb in course.cfg.notebooks if course.is_optional(nb) and nb not in handed_in]
    if skipped:
        lines.append(f"Not attempted (optional, bonus points, nothing lost): "
                     f"{', '.join(f'{nb}.ipynb' for nb in skipped)}.")
    lines += [f"Not graded: {note}" for note in taken.notes]
    lines.append("Each function is graded by the course's trusted grader on hidden test cases; "
                 "the written answers are graded by hand.")
    return "\n".join(lines)


# ---- the sandboxed kernel -------------------------------------------------------------------

_PROBE = """
import importlib.util, json
out = {}
for name in ("wdlab", "data_gen", "course_config", "autograder"):
    spec = importlib.util.find_spec(name)
    if spec is not None:
        out[name] = spec.origin if spec.submodule_search_locations is None \\
            else list(spec.submodule_search_locations)[0]
print(json.dumps(out))
"""


def imported_elsewhere(course: Course) -> list[Path]:
    """Course code that a fresh interpreter of this environment imports from outside the
    course root: an environment installed from another checkout (the instructor's own venv,
    reused by the local test) maps ``wdlab`` etc. to that checkout. The sandboxed kernel
    imports through it, so it must be allowed to read those paths."""
    probe = subprocess.run([sys.executable, "-I", "-c", _PROBE], cwd="/", capture_output=True,
                           text=True, timeout=120)
    try:
        where = json.loads(probe.stdout or "{}")
    except ValueError:
        return []
    root, out = Path(course.root).resolve(), []
    for name, location in where.items():
        path = Path(location or "").resolve()
        if not location or path.is_relative_to(root):
            continue
        if name == "autograder":  # only what hidden tests import, as for the course's own copy
            out += [path / part for part in sandboxed_kernel.HIDDEN_TEST_MODULES
                    if (path / part).exists()]
        else:
            out.append(path)
    return out


def install_kernel(course: Course) -> list[Path]:
    """``steps.grade.install_kernel``, plus read access to course code imported from elsewhere
    (``imported_elsewhere``); returns those extra paths."""
    extra = imported_elsewhere(course)
    sandboxed_kernel.install(course.jupyter_path, course.cfg.memory_cap_mb,
                   [*course.student_code(), *extra], course.cfg.disk_cap_mb)
    process.use_kernels_from(course.jupyter_path)
    return extra


# ---- the steps ------------------------------------------------------------------------------

def prepare(where: Roots) -> Course:
    """Record the assignment in the container's gradebook (nbgrader's generate_assignment)."""
    course = container_course(where)
    release.generate(course)
    return course


def redactor(course: Course, sources: dict[str, NotebookNode]) -> results.Redactor:
    """Withholds every line of the hidden tests, solutions and mark schemes of ``sources`` (the
    source notebooks) that the released notebooks do not show anyway."""
    public = results.read_notebooks(course.release_dir, sources)
    return results.Redactor(tuple(results.secret_lines(sources.values(), public.values())))


def released(course: Course) -> bool:
    try:
        steps_grade.check_released(course)
    except ValueError:
        return False
    return True


def grade(course: Course, where: Roots, kernel: bool = True,
          visibility: str = results.DEFAULT_VISIBILITY, redact: results.Redactor = results.Redactor()
          ) -> tuple[dict, list[str]]:
    """Grade the submission under ``where``; returns (results.json, lines for stdout)."""
    started = time.monotonic()
    taken = intake(where.submission, course.cfg.notebooks)
    write_submission(course, taken)
    notes = [f"submission: {note}" for note in taken.notes]
    report = None
    if kernel and taken.files:
        try:
            report = with_kernel(course, where, notes)
            mode = "nbgrader's run in the sandboxed kernel (no points) + the trusted verdict"
        except Exception as err:  # noqa: BLE001  the in-kernel run decides no point: go on without it
            notes.append(f"nbgrader's run in the sandboxed kernel failed ({type(err).__name__}: "
                         f"{err}); graded with the trusted verdict only")
    if report is None:
        verdict = steps_grade.trusted(course, STUDENT)
        report = Report(student=STUDENT, assignment=course.assignment, score=verdict.score,
                        max_score=verdict.max_score, items=verdict.items,
                        flags=dict(verdict.flags), notes=[*verdict.reasons, *verdict.messages])
        mode = "the trusted verdict only"
    # written answers of the notebooks handed in (a notebook left out has none to grade)
    handed_in = course.handed_in(STUDENT)
    report.manual = results.written_answers(
        results.read_notebooks(course.source_dir, [nb for nb in course.cfg.notebooks if nb in handed_in]))
    notes.append(f"graded with {mode}; isolation: {sandbox.isolation()}")
    doc = results.gradescope(report, course.cfg.notebooks, summary=summary(course, taken),
                             visibility=visibility, seconds=time.monotonic() - started,
                             notes=notes, redact=redact)
    results.validate(doc)
    return doc, [redact(line) for line in stdout_lines(report, notes)]


def with_kernel(course: Course, where: Roots, notes: list[str]) -> Report:
    """``steps.grade.grade_one``: nbgrader's run in the sandboxed kernel, then the trusted
    verdict (recorded in the container's gradebook and report, as ``grade`` records it)."""
    if not released(course):  # setup.sh's prepare did not run: do it now
        notes.append("the gradebook had no released assignment: generated it now")
        prepare(where)
    extra = install_kernel(course)
    if extra:
        notes.append(f"the sandboxed kernel imports course code from {sorted(map(str, extra))}")
    return steps_grade.grade_one(course, STUDENT)


def stdout_lines(report: Report, notes: Sequence[str]) -> list[str]:
    """The instructor's view of the run (Gradescope shows stdout to instructors only)."""
    graded = [i for i in report.items if i.decided_by != SKIPPED]
    lines = [f"{item.id:<55} {item.score:>5g} / {item.max_score:<3g} "
             f"{item.misconception or ''}".rstrip() for item in graded]
    lines.append(f"autograded: {sum(i.score for i in graded):g} / "
                 f"{sum(i.max_score for i in graded):g}; written answers awaiting a manual "
                 f"grade: {sum(i.max_score for i in report.manual):g} points")
    lines.append(f"flags: {', '.join(report.flagged()) or 'none'}")
    lines += [f"note: {note}" for note in [*report.notes, *notes]]
    return lines


@contextlib.contextmanager
def captured() -> Iterator[list[str]]:
    """Everything written to file descriptors 1 and 2 meanwhile (also by child processes),
    returned in the yielded list instead of printed, so that it can be redacted first."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    out: list[str] = []
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 1)
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            tmp.seek(0)
            out.append(tmp.read().decode("utf-8", "replace"))


def run_grade(where: Roots, kernel: bool, visibility: str) -> int:
    """``grade`` that always leaves a results.json; prints the redacted log."""
    redact = results.Redactor()
    log: list[str] = []
    with captured() as output:
        try:
            course = container_course(where)
            redact = redactor(course, results.read_notebooks(course.source_dir,
                                                             course.cfg.notebooks))
            doc, log = grade(course, where, kernel, visibility, redact)
        except Exception as err:  # noqa: BLE001  the grader's own failure: still a results.json
            doc = results.failure(f"{type(err).__name__}: {err}", redact)
            log = ["the autograder failed:", *traceback.format_exc().splitlines()]
    reports.write_json(where.results, doc)
    print("\n".join(redact(line) for line in log))
    text = "".join(output).strip()
    if text:
        print("\ngrader output:\n" + redact(text))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope.run",
                                     description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    for name, text in (("prepare", "record the assignment in the container's gradebook"),
                       ("grade", "grade R/submission into R/results/results.json")):
        p = steps.add_parser(name, help=text)
        p.add_argument("--root", help=f"Gradescope's folder (default ${ROOT_ENV} or {DEFAULT_ROOT})")
        if name == "grade":
            p.add_argument("--visibility", choices=results.VISIBILITY,
                           default=results.DEFAULT_VISIBILITY,
                           help="when students see the autograded tests (default %(default)s)")
            p.add_argument("--no-kernel", action="store_true",
                           help="skip nbgrader's run in the sandboxed kernel (trusted verdict only)")
    args = parser.parse_args(argv)
    where = roots(args.root)
    if args.step == "prepare":
        course = prepare(where)
        print(f"prepared {course.assignment} in {course.state}; isolation: {sandbox.isolation()}")
        return 0
    return run_grade(where, kernel=not args.no_kernel, visibility=args.visibility)


if __name__ == "__main__":
    sys.exit(main())
