"""`release`: nbgrader's student notebooks and a bundle with nothing of the instructor's, installed
from a student lock that holds requirements.txt's own pins, closed, and free of grader packages."""
import ast
import importlib.metadata as metadata
import json
import sys
import zipfile

import nbformat
import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

import course_config
from autograder.steps import release, student_install
from tests.autograder.pipeline_course import NOTEBOOK, make_course

LOCK_TEXT = release.STUDENT_LOCK.read_text()
LOCK = release.read_pins(LOCK_TEXT, "requirements-student.txt")
COURSE_LOCK = release.read_pins(release.REQUIREMENTS.read_text())


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("course"))
    bundle = release.release(course)
    return course, bundle


def test_student_notebook_has_no_solution_or_hidden_tests(released):
    course, _ = released
    text = (course.release_dir / f"{NOTEBOOK}.ipynb").read_text()
    assert "return lr * l2" not in text
    assert "secret-hidden-check" not in text and "autograder" not in text
    nb = nbformat.read(course.release_dir / f"{NOTEBOOK}.ipynb", as_version=4)
    assert any("NotImplementedError" in c.source for c in nb.cells)


def test_bundle_holds_the_student_files_and_nothing_else(released):
    course, bundle = released
    assert bundle.parent == course.state / "release"
    names = zipfile.ZipFile(bundle).namelist()
    for expected in (f"notebooks/weight_decay/{NOTEBOOK}.ipynb", "wdlab/__init__.py",
                     "data_gen/__init__.py", "requirements-student.txt", "install.py",
                     "pyproject.toml", "README.txt", "course_config.py"):
        assert expected in names
    assert "requirements.txt" not in names  # the grader's lock
    assert not [n for n in names if n.startswith(("autograder/", "solutions/", "tests/"))]
    with zipfile.ZipFile(bundle) as zf:
        for name in names:
            text = zf.read(name).decode("utf-8", "replace")
            assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, name
            assert "return lr * l2" not in text, name
        pyproject = zf.read("pyproject.toml").decode()
        assert 'include = ["wdlab*", "data_gen*"]' in pyproject
        assert 'requires-python = ">=3.11.5, !=3.14.1, <3.15"' in pyproject
        assert zf.read("requirements-student.txt").decode() == LOCK_TEXT
        assert zf.read("install.py") == release.INSTALL_SCRIPT.read_bytes()


def test_bundle_readme_says_how_to_install_start_check_and_submit(released):
    _, bundle = released
    readme = zipfile.ZipFile(bundle).read("README.txt").decode()
    for text in ("Python >=3.11.5, !=3.14.1, <3.15", "Linux:    python3 install.py",
                 "macOS:    python3 install.py", "Windows:  py install.py",
                 ".venv/bin/jupyter lab notebooks/weight_decay",
                 ".venv\\Scripts\\jupyter lab notebooks\\weight_decay",
                 ".venv/bin/python -m wdlab.validate", ".venv\\Scripts\\python -m wdlab.validate",
                 "Restart Kernel and Run All Cells", "original names",
                 f"     notebooks/weight_decay/{NOTEBOOK}.ipynb"):
        assert text in readme, text


# -- the student lock --------------------------------------------------------------------------

def test_every_student_pin_is_the_course_locks_own():
    assert LOCK, "the student lock pins nothing"
    assert {k: COURSE_LOCK.get(k) for k in LOCK} == LOCK
    assert LOCK["torch"] == COURSE_LOCK["torch"] and LOCK["torch"].startswith("torch==")
    for root in release.STUDENT_ROOTS:
        assert canonicalize_name(root) in LOCK, root


def test_the_student_lock_has_none_of_the_graders_packages():
    assert not {"nbgrader", "pytest", "hypothesis", "sqlalchemy", "alembic", "ruff"} & set(LOCK)


def applies(req, extras):
    env = default_environment()
    return req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in extras)


def test_the_student_lock_is_closed_under_the_installed_metadata():
    # Which extras of each package are asked for by the packages of the lock (one pass per level).
    extras = {name: {""} for name in LOCK}
    for _ in range(3):
        for name in LOCK:
            for req in map(Requirement, metadata.distribution(name).requires or []):
                if applies(req, extras[name]) and canonicalize_name(req.name) in extras:
                    extras[canonicalize_name(req.name)] |= req.extras
    unlisted = {}
    for name in LOCK:
        for req in map(Requirement, metadata.distribution(name).requires or []):
            if not applies(req, extras[name]):
                continue
            dep = canonicalize_name(req.name)
            if dep not in LOCK:
                unlisted[dep] = name
            else:  # the pinned version satisfies the requirement, as pip would check
                pinned = LOCK[dep].split("==")[1]
                assert req.specifier.contains(pinned, prereleases=True), (name, str(req), pinned)
    # Only an installer that requirements.txt does not pin may be left to pip; the lock says so.
    assert set(unlisted) <= set(release.INSTALLERS) - set(COURSE_LOCK), unlisted
    for dep, parent in unlisted.items():
        assert f"#   {dep} (required by {parent}; requirements.txt does not pin it)" in LOCK_TEXT


def test_the_student_lock_file_is_what_the_generator_writes_now(capsys):
    status = release.main(["student-lock", "--check"])  # compares with student_lock(requirements.txt)
    assert status == 0, capsys.readouterr().out
    assert "requirements-student.txt is up to date" in capsys.readouterr().out


def module_names(source):
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


def test_student_code_imports_only_what_the_student_lock_installs():
    root = course_config.ROOT
    sources = {str(p): p.read_text() for package in ("wdlab", "data_gen")
               for p in (root / package).rglob("*.py")}
    sources["course_config.py"] = (root / "course_config.py").read_text()
    for path in sorted((root / "notebooks" / course_config.CONFIG.assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        sources[path.name] = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    provided = metadata.packages_distributions()
    own = {"wdlab", "data_gen", "course_config"}
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    missing = {}
    for where, source in sources.items():
        for module in set(module_names(source)) - own - stdlib:
            if not {canonicalize_name(d) for d in provided.get(module, [])} & set(LOCK):
                missing[module] = where
    assert not missing, f"imported but not in the student lock: {missing}"
    # The install script runs before anything is installed: the standard library only.
    assert set(module_names(release.INSTALL_SCRIPT.read_text())) <= stdlib


def test_the_python_range_is_what_every_locked_package_accepts():
    spec = student_install.lock_header(LOCK_TEXT)["Requires-Python"]
    assert spec == ">=3.11.5, !=3.14.1, <3.15"  # soupsieve, networkx; torch 2.13.0's newest wheel
    accepted = [SpecifierSet(metadata.distribution(n).metadata.get("Requires-Python") or "")
                for n in LOCK]
    newest = Version(f"{release.NEWEST_PYTHON[0]}.{release.NEWEST_PYTHON[1] + 1}")
    for minor in range(8, 17):
        for micro in range(0, 12):
            version = f"3.{minor}.{micro}"
            expected = all(s.contains(version) for s in accepted) and Version(version) < newest
            assert SpecifierSet(spec).contains(version) == expected, version
            assert student_install.allows(spec, (3, minor, micro)) == expected, version


def test_read_pins_wants_exact_pins():
    assert release.read_pins("# c\nTorch==2.0  # cpu\n") == {"torch": "Torch==2.0"}
    with pytest.raises(release.LockError, match="line 2: 'numpy>=2' is not an exact pin"):
        release.read_pins("torch==2.0\nnumpy>=2\n")
    with pytest.raises(release.LockError, match="line 1: '-r other.txt' is not a requirement"):
        release.read_pins("-r other.txt\n")


def test_a_stale_or_missing_student_lock_stops_the_release(released, tmp_path):
    course, _ = released
    stale = tmp_path / "requirements-student.txt"
    stale.write_text(LOCK_TEXT.replace(LOCK["numpy"], "numpy==1.0.0"))
    with pytest.raises(release.LockError, match=r"out of date with requirements.txt \(\['numpy==1.0.0'\]"):
        release.write_bundle(course, tmp_path / "b.zip", lock=stale)
    with pytest.raises(FileNotFoundError, match="no student lock"):
        release.write_bundle(course, tmp_path / "b.zip", lock=tmp_path / "absent.txt")
    with_grader = tmp_path / "with_grader.txt"
    with_grader.write_text(LOCK_TEXT + COURSE_LOCK["nbgrader"] + "\n")
    with pytest.raises(release.LockError, match=r"no grader package \(has \['nbgrader'\]\)"):
        release.write_bundle(course, tmp_path / "b.zip", lock=with_grader)


# -- check_bundle ------------------------------------------------------------------------------

def notebook_with_code(source):
    return json.dumps({"cells": [{"cell_type": "code", "source": source, "metadata": {},
                                  "outputs": [], "execution_count": None}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.mark.parametrize("name,content,why", [
    ("solutions/weight_decay/x.ipynb", "{}", "not a student file"),
    ("nbgrader_config.py", "c = get_config()", "not a student file"),
    ("requirements.txt", "nbgrader==0.9.6", "not a student file"),
    ("autograder/reference/__init__.py", "", "not a student file"),
    ("tests/test_x.py", "", "not a student file"),
    ("notes.md", "", "not a student file"),
    ("notebooks/weight_decay/y.ipynb", "### BEGIN HIDDEN TESTS", "holds 'BEGIN HIDDEN TESTS'"),
    ("notebooks/weight_decay/y.ipynb", notebook_with_code("x = 1\n### BEGIN SOLUTION"),
     "holds 'BEGIN SOLUTION'"),
    ("notebooks/weight_decay/y.ipynb", "### BEGIN MARK SCHEME\n- 2 pt", "holds 'BEGIN MARK SCHEME'"),
    ("notebooks/weight_decay/y.ipynb", notebook_with_code("from autograder.reference import RULES"),
     "imports autograder"),
    ("notebooks/weight_decay/y.ipynb", notebook_with_code("%matplotlib inline\nimport autograder"),
     "imports autograder"),
    ("wdlab/helper.py", "import importlib\nimportlib.import_module('autograder.reference')",
     "imports autograder"),
    ("data_gen/x.py", "ref = __import__('autograder')", "imports autograder"),
    ("install.py", "import packaging\n", "imports ['packaging']"),
    ("requirements-student.txt", "torch==2.13.0\nnbgrader==0.9.6\n", "no grader package"),
    ("requirements-student.txt", "numpy==2.4.6\n", "must pin torch"),
    ("requirements-student.txt", "torch\n", "not an exact pin"),
])
def test_check_bundle_catches_instructor_material(tmp_path, name, content, why):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("wdlab/__init__.py", '"""fine."""\n')
        zf.writestr(name, content)
    with pytest.raises(ValueError, match="must not contain") as err:
        release.check_bundle(bad)
    assert f"{name}: " in str(err.value) and why in str(err.value)
    assert "wdlab/__init__.py" not in str(err.value)


def test_release_without_sources_is_a_clear_error(tmp_path):
    course = make_course(tmp_path)
    (course.source_dir / f"{NOTEBOOK}.ipynb").unlink()
    course.source_dir.rmdir()
    with pytest.raises(FileNotFoundError, match="no source notebooks"):
        release.release(course)
