"""`release`: nbgrader's student notebooks and a bundle with nothing of the instructor's."""
import zipfile

import nbformat
import pytest

from autograder.steps import release
from tests.autograder.pipeline_course import NOTEBOOK, make_course


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
                     "data_gen/__init__.py", "requirements.txt", "pyproject.toml",
                     "course_config.py"):
        assert expected in names
    assert not [n for n in names if n.startswith(("autograder/", "solutions/", "tests/"))]
    with zipfile.ZipFile(bundle) as zf:
        for name in names:
            text = zf.read(name).decode("utf-8", "replace")
            assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, name
            assert "return lr * l2" not in text, name
        assert 'include = ["wdlab*", "data_gen*"]' in zf.read("pyproject.toml").decode()


def test_check_bundle_catches_instructor_material(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("solutions/weight_decay/x.ipynb", "{}")
        zf.writestr("notebooks/weight_decay/y.ipynb", "### BEGIN HIDDEN TESTS")
    with pytest.raises(ValueError, match="solutions/weight_decay/x.ipynb"):
        release.check_bundle(bad)


def test_release_without_sources_is_a_clear_error(tmp_path):
    course = make_course(tmp_path)
    (course.source_dir / f"{NOTEBOOK}.ipynb").unlink()
    course.source_dir.rmdir()
    with pytest.raises(FileNotFoundError, match="no source notebooks"):
        release.release(course)
