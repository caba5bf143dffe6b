"""Source notebooks follow the course conventions; the committed student notebooks are exactly
what nbgrader generates from them and hide every solution, hidden test and mark scheme."""
import nbformat
import pytest

from autograder import authoring, nbmeta
from autograder.authoring.regenerate import generate

from .conftest import NOTEBOOKS, meta, release_path, solution_path

HIDDEN_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                  "BEGIN MARK SCHEME", "END MARK SCHEME")


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    """A fresh generate_assignment of solutions/ into a temp dir (own temp gradebook)."""
    tmp = tmp_path_factory.mktemp("release")
    return generate(release=tmp / "release", state=tmp / "state")


def regions(source, name):
    """The lines strictly inside ``### BEGIN <name>`` ... ``### END <name>`` regions."""
    inside, lines = False, []
    for line in source.splitlines():
        if f"BEGIN {name}" in line:
            inside = True
        elif f"END {name}" in line:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_source_follows_course_conventions(stem):
    nb = nbformat.read(solution_path(stem), as_version=4)
    assert authoring.check(nb, stem) == []


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_release_equals_fresh_generate_assignment(stem, fresh_release):
    committed = nbformat.read(release_path(stem), as_version=4)
    fresh = nbformat.read(fresh_release / f"{stem}.ipynb", as_version=4)
    shape = lambda nb: [(c.cell_type, c.source, meta(c).get("grade_id")) for c in nb.cells]  # noqa: E731
    assert shape(committed) == shape(fresh), \
        f"notebooks/ is stale for {stem}: run `python -m autograder.authoring.regenerate`"


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_student_notebook_hides_solutions_tests_and_autograder(stem):
    source = nbformat.read(solution_path(stem), as_version=4)
    student = nbformat.read(release_path(stem), as_version=4)
    text = "\n".join(c.source for c in student.cells)
    for marker in HIDDEN_MARKERS:
        assert marker not in text, f"{stem}: student version contains {marker!r}"
    assert "autograder" not in text, f"{stem}: student version mentions autograder"
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    student_lines = {line.strip() for line in text.splitlines()}
    for cell in source.cells:
        for name in ("SOLUTION", "HIDDEN TESTS", "MARK SCHEME"):
            # Lines that also occur outside hidden regions (e.g. "return theta") are not leaks.
            leaked = [line for line in regions(cell.source, name) if line in student_lines
                      and line not in nbmeta.without_region(cell.source, name)]
            leaked = [line for line in leaked if len(line) > 20]
            assert not leaked, f"{stem}: {name} lines visible to students: {leaked[:3]}"


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_every_graded_function_is_a_stub_for_students(stem):
    student = nbformat.read(release_path(stem), as_version=4)
    stubs = [c for c in student.cells if meta(c).get("solution") and c.cell_type == "code"]
    assert stubs, f"{stem}: no autograded answer cells"
    for cell in stubs:
        assert "raise NotImplementedError" in cell.source, cell.source
    answers = [c for c in student.cells if meta(c).get("solution") and c.cell_type == "markdown"]
    assert all(c.source.strip() == "YOUR ANSWER HERE" for c in answers)
