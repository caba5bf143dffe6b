"""Real nbgrader autograde in a temp course: the solutions submitted as a student get full
marks on every autograded item; the untouched student notebooks get none. Experiment cells are
skipped, as when grading (test_execution.py runs every cell of every notebook)."""
import pytest

from autograder.authoring.regenerate import autograde, generate, submit_solutions
from autograder.reports import ItemId, items_of
from course_config import CONFIG

from .conftest import NOTEBOOKS, SOLUTIONS


def existing():
    return [stem for stem in NOTEBOOKS if (SOLUTIONS / f"{stem}.ipynb").exists()]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    if not existing():
        pytest.skip("no solution notebooks yet")
    tmp = tmp_path_factory.mktemp("course")
    release, state = generate(release=tmp / "release", state=tmp / "state"), tmp / "state"
    return release, state


def expected_items(stem):
    return {ItemId(stem, fn).grade_id: pts for fn, pts in items_of(CONFIG.points, stem).items()}


@pytest.mark.slow
def test_solutions_submitted_as_a_student_get_full_marks(course):
    release, state = course
    submit_solutions(release, state, student="solver", notebooks=existing())
    scores = autograde(release, state, student="solver")
    for stem in existing():
        got = scores[stem]
        assert set(got) == set(expected_items(stem)), f"{stem}: graded items {sorted(got)}"
        lost = {item: s for item, s in got.items() if s[0] != s[1]}
        assert not lost, f"{stem}: (score, max) below full marks: {lost}"
        assert {k: v[1] for k, v in got.items()} == expected_items(stem)


@pytest.mark.slow
def test_untouched_student_notebooks_score_zero(course):
    release, state = course
    folder = state / "submitted" / "blank" / CONFIG.assignment
    folder.mkdir(parents=True)
    for stem in existing():
        (folder / f"{stem}.ipynb").write_bytes((release / f"{stem}.ipynb").read_bytes())
    (folder / "timestamp.txt").write_text("2025-01-01 00:00:00 UTC")
    scores = autograde(release, state, student="blank")
    for stem in existing():
        assert all(score == 0 for score, _ in scores[stem].values()), f"{stem}: {scores[stem]}"
