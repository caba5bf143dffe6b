"""``python -m autograder gradescope``: the autograder zip Gradescope builds its image from.

The zip holds, at its root, ``setup.sh`` (run once while Gradescope builds the image: bubblewrap
from apt, a Python the course lock accepts, the lock itself with the CPU build of torch at
exactly ``requirements.txt``'s pin, then ``run.py prepare``) and ``run_autograder`` (run for each
submission: ``run.py grade``). Beside them is what grading needs and nothing else: the grader
(``autograder/`` without its authoring and tools rooms), the student-visible packages, the course
settings and lock, and the source notebooks, whose hidden tests the grader needs inside the
container. The zip is the instructor's: students never see it, and the grader never shows what
it holds (``results.Redactor``). No tests, no state, no caches.

Next to the zip, ``questions.csv`` lists the written answers (item, points, question text) for
the assignment's outline of hand-graded questions on Gradescope.
"""
from __future__ import annotations

import csv
import io
import json
import shlex
import zipfile
from pathlib import Path

from autograder.course import STUDENT_MODULES, STUDENT_PACKAGES, Course
from autograder.gradescope import results, run
from autograder.steps import release, student_install

# Rooms of autograder/ that grading never imports (the notebook sources hold every solution).
LEFT_OUT = ("autograder/authoring", "autograder/tools")
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints", ".course_state", ".venv", "tests", ".git"}
COURSE_FILES = ("nbgrader_config.py", "pyproject.toml", "requirements.txt")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
SCRIPTS = ("setup.sh", "run_autograder")
EXECUTABLE = 0o100755 << 16  # zip external attributes of a regular file with mode 755
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # the same inputs give the same zip, byte for byte
REUSE_ENV = "AUTOGRADER_REUSE_VENV"

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (Ubuntu).
# Written by `python -m autograder gradescope`: change the course and build the zip again.
#   {root_env}        Gradescope's folder (default {default_root}); a local test sets its own
#   {reuse_env}  a virtual environment that already holds the course lock: no
#                          apt-get and no pip, grade with it (the local test, for speed)
set -euo pipefail
ROOT="${{{root_env}:-{default_root}}}"
SOURCE="$ROOT/source"
REQUIRES_PYTHON={requires_python}   # from requirements-student.txt's header

if [ -n "${{{reuse_env}:-}}" ]; then
  VENV="${reuse_env}"
  echo "setup.sh: reusing $VENV, nothing installed"
else
  export DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
  apt-get update -q
  # bubblewrap isolates student code wherever the container allows user namespaces
  apt-get install -y -q --no-install-recommends bubblewrap python3 python3-venv ca-certificates
  # the version check the student bundle's install.py makes, on the same header
  CHECK='import sys; sys.path.insert(0, sys.argv[1]); from student_install import allows'
  CHECK="$CHECK; sys.exit(0 if allows(sys.argv[2], sys.version_info[:3]) else 1)"
  if ! python3 -c "$CHECK" "$SOURCE/autograder/steps" "$REQUIRES_PYTHON"; then
    echo "setup.sh: this image's python3 is $(python3 -V 2>&1); the course lock needs Python" \\
         "$REQUIRES_PYTHON. Choose a base image whose python3 fits (Ubuntu 24.04) on the" \\
         "Configure Autograder page and build again." >&2
    exit 1
  fi
  VENV="$SOURCE/.venv"
  python3 -m venv "$VENV"
  # torch first, from PyTorch's CPU index, at exactly the lock's pin (no CUDA libraries)
  "$VENV/bin/python" -m pip install -q --no-deps --index-url {torch_index} {torch_pin}
  # the course lock (requirements.txt, exact pins); the torch just installed satisfies its pin
  "$VENV/bin/python" -m pip install -q -r "$SOURCE/requirements.txt"
  "$VENV/bin/python" -m pip install -q --no-deps -e "$SOURCE"
fi
echo "$VENV/bin/python" > "$SOURCE/{python_file}"
cd "$SOURCE"
"$VENV/bin/python" -m autograder.gradescope.run prepare --root "$ROOT"
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: the course's trusted grader on
# $ROOT/submission, the verdict in $ROOT/results/results.json.
# Written by `python -m autograder gradescope`: change the course and build the zip again.
set -uo pipefail
ROOT="${{{root_env}:-{default_root}}}"
SOURCE="$ROOT/source"
PYTHON="$(cat "$SOURCE/{python_file}" 2>/dev/null || echo "$SOURCE/.venv/bin/python")"
cd "$SOURCE" && "$PYTHON" -m autograder.gradescope.run grade --root "$ROOT" {options} "$@"
if [ ! -s "$ROOT/results/results.json" ]; then
  # the grader could not even start (a broken image): Gradescope still gets a result
  mkdir -p "$ROOT/results"
  cat > "$ROOT/results/results.json" <<'RESULTS_JSON'
{fallback}
RESULTS_JSON
fi
exit 0
"""


def torch_pin(requirements: str) -> str:
    """``torch==X`` exactly as the course lock writes it; a clear error when it is not pinned."""
    pin = release.read_pins(requirements).get("torch")
    if not pin:
        raise ValueError("gradescope: requirements.txt has no torch pin; add the line "
                         "torch==<version> (the course lock pins every package exactly)")
    return pin


def requires_python(course: Course) -> str:
    """The Pythons the course lock installs on (the student lock's Requires-Python header)."""
    root = Path(course.root)
    lock = root / student_install.LOCK
    if not lock.is_file():
        raise FileNotFoundError(f"gradescope: no {lock}; write it with python -m "
                                "autograder.steps.release student-lock")
    header = release.check_student_lock(lock.read_text(), (root / "requirements.txt").read_text())
    return header["Requires-Python"]


def setup_script(course: Course) -> str:
    requirements = Path(course.root) / "requirements.txt"
    if not requirements.is_file():
        raise FileNotFoundError(f"gradescope: no course lock {requirements}")
    return SETUP.format(root_env=run.ROOT_ENV, default_root=run.DEFAULT_ROOT, reuse_env=REUSE_ENV,
                        requires_python=shlex.quote(requires_python(course)),
                        torch_index=TORCH_CPU_INDEX,
                        torch_pin=shlex.quote(torch_pin(requirements.read_text())),
                        python_file=run.PYTHON_FILE)


def run_script(visibility: str = results.DEFAULT_VISIBILITY, kernel: bool = True) -> str:
    if visibility not in results.VISIBILITY:
        raise ValueError(f"gradescope: visibility must be one of {results.VISIBILITY}, "
                         f"got {visibility!r}")
    options = f"--visibility {visibility}" + ("" if kernel else " --no-kernel")
    fallback = json.dumps(results.failure("the grader did not start: see the run's stdout"))
    return RUN.format(root_env=run.ROOT_ENV, default_root=run.DEFAULT_ROOT,
                      python_file=run.PYTHON_FILE, options=options, fallback=fallback)


def entries(course: Course) -> list[tuple[Path, str]]:
    """(file on disk, name in the zip) for everything the container needs from the course."""
    root = Path(course.root)

    def files(folder: Path, suffixes: tuple[str, ...] | None = None) -> list[Path]:
        return [p for p in sorted(folder.rglob("*")) if p.is_file()
                and not SKIP_PARTS & set(p.relative_to(root).parts)
                and p.suffix != ".pyc" and (suffixes is None or p.suffix in suffixes)
                and not any(p.relative_to(root).as_posix().startswith(f"{room}/")
                            for room in LEFT_OUT)]
    found = files(root / "autograder")
    for package in STUDENT_PACKAGES:
        found += files(root / package)
    found += [root / name for name in (*STUDENT_MODULES, *COURSE_FILES)]
    found += [course.source_dir / f"{nb}.ipynb" for nb in course.cfg.notebooks]
    missing = [str(p) for p in found if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"gradescope: the course lacks {missing}; the zip needs them")
    return [(p, p.relative_to(root).as_posix()) for p in found]


def _add(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = EXECUTABLE if executable else 0o100644 << 16
    zf.writestr(info, data)


def out_path(course: Course, out: str | Path | None) -> Path:
    """``out`` when it names a .zip, ``out/autograder.zip`` for a folder; default in the state."""
    if out is None:
        return course.state / "gradescope" / "autograder.zip"
    out = Path(out)
    return out if out.suffix == ".zip" else out / "autograder.zip"


def build(course: Course, out: str | Path | None = None,
          visibility: str = results.DEFAULT_VISIBILITY, kernel: bool = True
          ) -> tuple[Path, Path]:
    """Write the autograder zip and the written answers' question list; returns both paths."""
    path = out_path(course, out)
    scripts = {"setup.sh": setup_script(course), "run_autograder": run_script(visibility, kernel)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name, text in scripts.items():
            _add(zf, name, text.encode(), executable=True)
        for source, name in entries(course):
            _add(zf, name, source.read_bytes())
    check_zip(tmp)
    tmp.replace(path)
    questions = path.with_name("questions.csv")
    rows = results.question_rows(results.written_answers(
        results.read_notebooks(course.source_dir, course.cfg.notebooks)), course.cfg.optional_notebooks)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["item", "notebook", "answer", "points", "optional",
                                                "question"])
    writer.writeheader()
    writer.writerows(rows)
    questions.write_text(buffer.getvalue())
    return path, questions


def check_zip(path: Path) -> None:
    """Raise ValueError unless the zip has Gradescope's two scripts at its root, executable,
    and nothing of the tests, the state or a virtual environment."""
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    for script in SCRIPTS:
        info = infos.get(script)
        if info is None or not (info.external_attr >> 16) & 0o100:
            raise ValueError(f"gradescope: {path} lacks an executable {script} at its root")
    stray = [n for n in infos if SKIP_PARTS & set(n.split("/")[:-1])]
    if stray:
        raise ValueError(f"gradescope: {path} holds files it must not: {stray[:5]}")
