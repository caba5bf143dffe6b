"""`release`: nbgrader generate_assignment, then the student bundle zip.

The bundle holds what students need and nothing of the instructor's: the student notebooks, the
student-visible packages (wdlab, data_gen, course_config.py), the student lock
(requirements-student.txt), ``install.py`` (the set-up script, ``student_install.py`` here), a
minimal pyproject.toml that installs the packages, and a README. ``check_bundle`` proves nothing
else got in.

The student lock is the part of requirements.txt that the student side needs: the packages the
notebooks and the student-visible code use (``STUDENT_ROOTS``) and everything they require
according to the installed metadata, with requirements.txt's exact pins, and none of the
grader's packages. ``student_lock`` computes it; regenerate it after requirements.txt changes:

    python -m autograder.steps.release student-lock           # writes requirements-student.txt
    python -m autograder.steps.release student-lock --check   # exit 1 if it is out of date
"""
from __future__ import annotations

import argparse
import ast
import importlib.metadata as metadata
import json
import sys
import textwrap
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from autograder.course import STUDENT_MODULES, STUDENT_PACKAGES, Course, check_result
from autograder.steps import student_install
from course_config import ROOT

REQUIREMENTS = ROOT / "requirements.txt"
STUDENT_LOCK = ROOT / student_install.LOCK
INSTALL_SCRIPT = Path(student_install.__file__)
REGENERATE = "python -m autograder.steps.release student-lock"
# What the student side imports: the notebooks (torch, numpy, matplotlib, sympy), wdlab and
# data_gen (scikit-learn, tqdm), JupyterLab with widgets, and wdlab.validate (nbclient, nbformat).
STUDENT_ROOTS = ("torch", "numpy", "matplotlib", "scikit-learn", "sympy", "tqdm", "jupyterlab",
                 "ipywidgets", "nbclient", "nbformat")
# The grader's side: never installed for students (nbgrader would also show its instructor panels).
GRADER_ONLY = ("nbgrader", "pytest", "hypothesis", "sqlalchemy", "alembic", "ruff")
# Installers that a package may require at run time (torch requires setuptools) but that
# requirements.txt, like pip freeze, may leave unpinned: pip then installs their newest version.
INSTALLERS = ("pip", "setuptools", "wheel")
# The newest Python with a wheel of every compiled pin, measured with `pip index versions NAME
# --python-version 3.N --only-binary=:all:` for torch==2.13.0 (whose newest is 3.14) and the
# other compiled pins (numpy, scipy, scikit-learn, matplotlib, contourpy, kiwisolver, pillow,
# pyzmq, rpds-py, debugpy, cffi: all have 3.14 wheels). Measure again when torch's pin changes.
NEWEST_PYTHON = (3, 14)
NEWEST_PYTHON_MEASURED_WITH = "torch==2.13.0"
# Platforms with no torch==2.13.0 wheel (same measurement): Intel Macs and Windows on ARM.
UNSUPPORTED_PLATFORMS = ("Darwin x86_64", "Windows ARM64")
# Where else students install: requirements that apply only there are listed in the lock's
# header (pip resolves them); the lock itself is closed for the environment that generates it.
OTHER_ENVIRONMENTS = {
    "macOS": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
              "platform_machine": "arm64"},
    "Windows": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt",
                "platform_machine": "AMD64"},
    **{f"Python 3.{minor}": {"python_version": f"3.{minor}", "python_full_version": f"3.{minor}.0"}
       for minor in range(12, NEWEST_PYTHON[1] + 1)},
}

STUDENT_FILES = STUDENT_MODULES
BUNDLE_TOP_LEVEL = {"notebooks", *STUDENT_PACKAGES, *STUDENT_MODULES, student_install.LOCK,
                    "install.py", "pyproject.toml", "README.txt"}
FORBIDDEN = ("autograder/", "solutions/", "tests/", ".course_state/", "nbgrader_config.py",
             "requirements.txt")
# nbgrader's delimiters of instructor-only regions (solutions, hidden tests, mark schemes).
INSTRUCTOR_MARKERS = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME")
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}
STUDENT_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "decoupled-weight-decay-student"
version = "0.1.0"
description = "Student toolkit for the decoupled weight decay notebooks"
requires-python = "{requires_python}"

[tool.setuptools]
py-modules = ["course_config"]

[tool.setuptools.packages.find]
include = ["wdlab*", "data_gen*"]
"""

README = """\
Decoupled weight decay: student bundle
======================================

You need Python {requires_python}, 64-bit, on Linux, Windows or macOS, and an internet
connection for the set-up.{platforms}

1. Set up, once, in this folder. The script checks your Python, creates .venv here, installs the
   course's exact package versions (requirements-student.txt) and sets up JupyterLab:

     Linux:    python3 install.py
     macOS:    python3 install.py
     Windows:  py install.py

   If it says your Python cannot be used, install one from https://www.python.org/downloads/
   and run the script with it (e.g. python3.12 install.py, or py -3.12 install.py on Windows).

2. Work in JupyterLab:

     Linux, macOS:  .venv/bin/jupyter lab notebooks/{assignment}
     Windows:       .venv\\Scripts\\jupyter lab notebooks\\{assignment}

   Open the notebooks in order. Replace each `raise NotImplementedError(...)` with your code and
   run the check cell under it; answer the written questions in the "YOUR ANSWER HERE" cells.
   Do not edit the locked cells (setup and checks). This JupyterLab has no nbgrader panels
   (Assignment List, Formgrader, Validate): you do not need them.

3. Check your work before submitting. In JupyterLab: Kernel > Restart Kernel and Run All Cells.
   A check that passes prints nothing; a failing one stops with an error that says what is
   wrong. Or, from this folder, check every notebook in one go (each runs from a fresh kernel;
   the files are not changed):

     Linux, macOS:  .venv/bin/python -m wdlab.validate
     Windows:       .venv\\Scripts\\python -m wdlab.validate

   It lists the cells that fail, the written answers still to write and graded cells that are
   missing. The visible checks are only part of the grading: hidden tests try more cases.

4. Submit these files, as they are, under their original names (do not rename them, copy your
   work into another notebook or zip them; outputs may stay):

{notebook_list}
"""


class LockError(ValueError):
    """The student lock cannot be made or is out of date; the message names the fix."""


def read_pins(text: str, what: str = "requirements.txt") -> dict[str, str]:
    """Canonical name -> its line (``name==version``, as written) of a lock; comments skipped."""
    pins = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            req = Requirement(line)
        except ValueError:
            raise LockError(f"{what} line {number}: {line!r} is not a requirement; "
                            "write name==version") from None
        if len(req.specifier) != 1 or next(iter(req.specifier)).operator != "==" or req.marker:
            raise LockError(f"{what} line {number}: {line!r} is not an exact pin; write name==version")
        pins[canonicalize_name(req.name)] = line
    return pins


def applicable(dist: metadata.Distribution, extra: str, environment: Mapping[str, str]
               ) -> list[Requirement]:
    """The requirements of ``dist`` (with ``extra`` requested, "" for none) that apply in ``environment``."""
    return [req for req in map(Requirement, dist.requires or [])
            if req.marker is None or req.marker.evaluate({**environment, "extra": extra})]


def dependency_closure(roots: Iterable[str], environment: Mapping[str, str] | None = None
                       ) -> tuple[dict[str, metadata.Distribution], dict[str, str]]:
    """The installed distributions that ``roots`` need, by canonical name, following the
    requirements (and requested extras) that apply in ``environment`` (default: this Python on
    this machine); and, for every package reached, installed or not, the package that first
    required it ("" for a root). Reached but absent from the first dict: not installed here."""
    env = {**default_environment(), **(environment or {})}
    found: dict[str, metadata.Distribution] = {}
    parents: dict[str, str] = {}
    todo = [(name, "", "") for name in roots]
    done = set()
    while todo:
        name, extra, parent = todo.pop()
        key = canonicalize_name(name)
        parents.setdefault(key, parent)
        if (key, extra) in done:
            continue
        done.add((key, extra))
        if key not in found:
            try:
                found[key] = metadata.distribution(name)
            except metadata.PackageNotFoundError:
                continue
        for req in applicable(found[key], extra, env):
            todo += [(req.name, e, key) for e in ("", *sorted(req.extras))]
    return found, parents


def python_range(dists: Iterable[metadata.Distribution], newest: tuple[int, int] = NEWEST_PYTHON) -> str:
    """The Pythons every distribution accepts (their Requires-Python) up to ``newest``, as one
    specifier: the highest lower bound, the exclusions inside the range, the upper bound."""
    lower, upper, excluded = Version("3"), Version(f"{newest[0]}.{newest[1] + 1}"), set()
    for dist in dists:
        for spec in SpecifierSet(dist.metadata.get("Requires-Python") or ""):
            version = Version(spec.version.removesuffix(".*"))
            if spec.operator == ">=":
                lower = max(lower, version)
            elif spec.operator == "<":
                upper = min(upper, version)
            elif spec.operator == "!=":
                excluded.add((spec.version, version))
            else:
                raise LockError(f"{dist.metadata['Name']}: Requires-Python clause {spec} is not "
                                "summarised by python_range; extend it")
    parts = [f">={lower}"]
    for text, version in sorted(excluded, key=lambda e: e[1]):
        if text.endswith(".*") and version.release[:2] >= lower.release[:2] or \
                not text.endswith(".*") and lower <= version < upper:
            parts.append(f"!={text}")
    return ", ".join(parts + [f"<{upper}"])


def student_lock(requirements: str, roots: Iterable[str] = STUDENT_ROOTS) -> str:
    """The text of requirements-student.txt for the course lock ``requirements``, from the
    installed metadata of this environment (which must be installed from that lock)."""
    pins = read_pins(requirements)
    found, parents = dependency_closure(roots)
    missing = sorted(set(parents) - set(found))
    if missing:
        raise LockError("not installed here: " + ", ".join(
            f"{k} (required by {parents[k] or 'STUDENT_ROOTS'})" for k in missing)
            + "; install requirements.txt into this environment first")
    grader = sorted(set(found) & {canonicalize_name(n) for n in GRADER_ONLY})
    if grader:
        raise LockError(f"the student packages now require {grader}: students must not get the "
                        "grader's packages; change STUDENT_ROOTS or the pins")
    torch_pin = pins.get("torch")
    if torch_pin != NEWEST_PYTHON_MEASURED_WITH:
        raise LockError(f"requirements.txt pins {torch_pin}, but NEWEST_PYTHON and "
                        f"UNSUPPORTED_PLATFORMS were measured for {NEWEST_PYTHON_MEASURED_WITH}: "
                        "measure them again (see their comment) and update both")
    unpinned = sorted(k for k in found if k not in pins)
    wrong = [k for k in unpinned if k not in INSTALLERS]
    if wrong:
        raise LockError("requirements.txt has no pin for " + ", ".join(
            f"{found[k].metadata['Name']}=={found[k].version}" for k in wrong)
            + ": add these lines to requirements.txt and regenerate")
    for key in found:
        if key in pins and Version(found[key].version).public != Version(pins[key].split("==")[1]).public:
            raise LockError(f"{pins[key]} in requirements.txt, but {found[key].version} is installed: "
                            "install requirements.txt into this environment first")
    env = default_environment()
    others: dict[str, list[str]] = {}
    for label, environment in OTHER_ENVIRONMENTS.items():
        for key in sorted(set(dependency_closure(roots, environment)[1]) - set(found)):
            others.setdefault(key, []).append(label)
    pip_adds = [f"{k} (required by {parents[k]}; requirements.txt does not pin it)" for k in unpinned]
    pip_adds += [f"{k} (on {', '.join(labels)})" for k, labels in sorted(others.items())]
    about = ("Student lock: what students install (install.py in their bundle). It is the part of "
             "requirements.txt that the student side needs: " + ", ".join(roots) + " and everything "
             "they require, with requirements.txt's exact pins. Do not edit; regenerate it with")
    header = [
        *textwrap.wrap(about, 96, initial_indent="# ", subsequent_indent="# "),
        f"#   {REGENERATE}",
        f"# Requires-Python: {python_range(found.values())}",
        f"# Unsupported-Platforms: {', '.join(UNSUPPORTED_PLATFORMS)}",
        f"# Closed under the requirements that apply with Python {env['python_version']} on "
        f"{env['platform_system']} {env['platform_machine']}.",
        "# pip adds these at their newest versions:",
        *[f"#   {line}" for line in pip_adds],
    ]
    body = [line for key, line in pins.items() if key in found]
    return "\n".join(header + body) + "\n"


def check_student_lock(lock: str, requirements: str) -> dict[str, str]:
    """Raise LockError unless every pin of the student lock is requirements.txt's own pin and no
    grader package is in it; returns the lock's header (``# Key: value`` lines)."""
    pins, course = read_pins(lock, student_install.LOCK), read_pins(requirements)
    stale = sorted(line for key, line in pins.items() if course.get(key) != line)
    if stale:
        raise LockError(f"{student_install.LOCK} is out of date with requirements.txt ({stale} "
                        f"differ): regenerate it with {REGENERATE}")
    grader = sorted(set(pins) & {canonicalize_name(n) for n in GRADER_ONLY})
    if grader or "torch" not in pins:
        raise LockError(f"{student_install.LOCK} must pin torch and no grader package "
                        f"(has {grader}): regenerate it with {REGENERATE}")
    header = student_install.lock_header(lock)
    if "Requires-Python" not in header:
        raise LockError(f"{student_install.LOCK} has no Requires-Python line: "
                        f"regenerate it with {REGENERATE}")
    return header


def generate(course: Course) -> dict[str, Any]:
    """Regenerate notebooks/<assignment>/ from solutions/ with nbgrader (and record it in the gradebook)."""
    if not course.source_dir.is_dir():
        raise FileNotFoundError(f"release: no source notebooks in {course.source_dir}")
    return check_result(course.api(sandbox=False).generate_assignment(course.assignment),
                        "generate_assignment")


def bundle_entries(course: Course) -> list[tuple[Path, str]]:
    """(path on disk, name in the zip) for every file of the student bundle copied from disk."""
    root = Path(course.root)
    entries = [(p, f"notebooks/{course.assignment}/{p.relative_to(course.release_dir)}")
               for p in sorted(course.release_dir.rglob("*")) if p.is_file()]
    for package in STUDENT_PACKAGES:
        entries += [(p, str(p.relative_to(root))) for p in sorted((root / package).rglob("*"))
                    if p.is_file() and not SKIP_PARTS & set(p.parts) and p.suffix != ".pyc"]
    entries += [(root / name, name) for name in STUDENT_FILES if (root / name).is_file()]
    entries += [(INSTALL_SCRIPT, "install.py")]
    return [(p, name) for p, name in entries
            if not SKIP_PARTS & set(Path(name).parts)]


def write_bundle(course: Course, path: Path | str | None = None, lock: Path = STUDENT_LOCK,
                 requirements: Path = REQUIREMENTS) -> Path:
    """Zip the student bundle; returns its path (default: <state>/release/<assignment>.zip)."""
    path = Path(path or course.state / "release" / f"{course.assignment}.zip")
    if not lock.is_file():
        raise FileNotFoundError(f"release: no student lock {lock}; write it with {REGENERATE}")
    lock_text = lock.read_text()
    header = check_student_lock(lock_text, requirements.read_text())
    unsupported = header.get("Unsupported-Platforms", "")
    notebooks = sorted(p.relative_to(course.release_dir).as_posix()
                       for p in course.release_dir.glob("*.ipynb"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for source, name in bundle_entries(course):
            zf.write(source, name)
        zf.writestr(student_install.LOCK, lock_text)
        zf.writestr("pyproject.toml", STUDENT_PYPROJECT.format(requires_python=header["Requires-Python"]))
        zf.writestr("README.txt", README.format(
            assignment=course.assignment, requires_python=header["Requires-Python"],
            platforms=f"\nPyTorch has no build of the course's version for: {unsupported}\n(system "
            "and processor as Python names them: Darwin is macOS, and x86_64 there an Intel Mac)."
            if unsupported else "",
            notebook_list="\n".join(f"     notebooks/{course.assignment}/{n}" for n in notebooks)))
    check_bundle(path)
    return path


def autograder_imports(source: str) -> list[str]:
    """Modules of ``autograder`` that Python source imports (statements, or import_module /
    __import__ with a literal name); a text search when the source does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics in a notebook cell, or not Python at all
        return ["autograder"] if "import autograder" in source or "from autograder" in source else []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and getattr(node.func, "attr",
                                                                    getattr(node.func, "id", "")) \
                in ("import_module", "__import__"):
            names.append(node.args[0].value)
    return [n for n in names if n.split(".")[0] == "autograder"]


def _sources(name: str, text: str) -> list[str]:
    """The Python sources in a bundle file: a .py file, or a notebook's code cells."""
    if name.endswith(".py"):
        return [text]
    if name.endswith(".ipynb"):
        try:
            cells = json.loads(text).get("cells", [])
        except (ValueError, AttributeError):
            return [text]
        return ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "")
                for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]
    return []


def check_bundle(path: Path) -> None:
    """Raise ValueError if the bundle holds anything that is not student material: a file outside
    the bundle's layout, an instructor path, solution / hidden-test / mark-scheme text, code that
    imports the grader, an install script that needs more than the standard library, or a
    student lock with the grader's packages in it."""
    problems: dict[str, str] = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith(FORBIDDEN) or name.split("/")[0] not in BUNDLE_TOP_LEVEL:
                problems[name] = "not a student file"
                continue
            text = zf.read(name).decode("utf-8", "replace")
            marker = next((m for m in INSTRUCTOR_MARKERS if m in text), None)
            if marker:
                problems[name] = f"holds '{marker}'"
            elif any(autograder_imports(source) for source in _sources(name, text)):
                problems[name] = "imports autograder"
            elif name == "install.py":
                stdlib = set(sys.stdlib_module_names) | {"__future__"}
                extra = sorted({m.split(".")[0] for m in top_imports(text)} - stdlib)
                if extra:
                    problems[name] = f"imports {extra} (it must run on a bare Python)"
            elif name == student_install.LOCK:
                try:
                    pins = read_pins(text, student_install.LOCK)
                except ValueError as err:
                    problems[name] = str(err)
                else:
                    grader = sorted(set(pins) & {canonicalize_name(n) for n in GRADER_ONLY})
                    if grader or "torch" not in pins:
                        problems[name] = f"must pin torch and no grader package (has {grader})"
    if problems:
        raise ValueError("release: the student bundle must not contain "
                         + "; ".join(f"{name}: {why}" for name, why in sorted(problems.items())))


def top_imports(source: str) -> set[str]:
    """The modules that Python source imports by statement; {"<does not parse>"} if it does not."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {"<does not parse>"}
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def release(course: Course, notebooks_only: bool = False, bundle_path: Path | str | None = None
            ) -> Path | None:
    """generate_assignment, then (unless notebooks_only) the bundle; returns the bundle path or None."""
    generate(course)
    return None if notebooks_only else write_bundle(course, bundle_path)


def main(argv: list[str] | None = None) -> int:
    """``student-lock [--check]``: write requirements-student.txt, or say whether it is up to date."""
    parser = argparse.ArgumentParser(prog="python -m autograder.steps.release",
                                     description="Maintain the student lock (requirements-student.txt).")
    parser.add_argument("command", choices=["student-lock"])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    text = student_lock(REQUIREMENTS.read_text())
    if args.check:
        fresh = STUDENT_LOCK.is_file() and STUDENT_LOCK.read_text() == text
        print(f"{STUDENT_LOCK.name} is {'up to date' if fresh else f'out of date: run {REGENERATE}'}")
        return 0 if fresh else 1
    STUDENT_LOCK.write_text(text)
    print(f"wrote {STUDENT_LOCK} ({len(read_pins(text))} pins)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
