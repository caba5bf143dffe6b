"""An optional notebook (course_config.optional_notebooks): leaving it out is no missing notebook
and costs nothing; submitting it adds its points as a bonus on top of the assignment's max score."""
import csv

import nbformat
import pytest

from autograder.steps import collect, export, grade, release
from tests.autograder.pipeline_course import (
    ADAGRAD_CORRECT,
    CORRECT,
    ITEM,
    NOTEBOOK,
    OPTIONAL,
    OPTIONAL_ITEM,
    make_course,
    submission,
)

pytestmark = pytest.mark.slow


def _optional_submission(course, body):
    nb = nbformat.read(course.release_dir / f"{OPTIONAL}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            cell.source = body
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course = make_course(root, optional=True)
    assert course.cfg.optional_notebooks == (OPTIONAL,)
    release.release(course)
    incoming = root / "incoming"
    for student in ("core", "full"):
        folder = incoming / student / course.assignment
        folder.mkdir(parents=True)
        nbformat.write(submission(course, CORRECT), folder / f"{NOTEBOOK}.ipynb")
    nbformat.write(_optional_submission(course, ADAGRAD_CORRECT),
                   incoming / "full" / course.assignment / f"{OPTIONAL}.ipynb")
    collect.collect(course, incoming)
    reports = grade.grade(course, jobs=1, progress=False)
    return course, reports, export.export(course)


def test_leaving_out_the_optional_notebook_is_no_flag_and_costs_nothing(graded):
    course, reports, _ = graded
    core = reports["core"]
    assert not core.flagged(), core.flags
    assert core.item(ITEM).score == 1.0
    skipped = core.item(OPTIONAL_ITEM)
    assert skipped.score == 0 and "optional" in skipped.message
    # max score: 01's function (1) and written answer (2); the optional notebook's 3 points are not in it
    assert (core.score, core.max_score) == (1.0, 3.0)
    assert [i.id for i in core.manual] == [f"{NOTEBOOK}:derive_decay"]  # nothing of 04 awaits a grader


def test_the_optional_notebook_adds_a_bonus_on_top_of_the_max_score(graded):
    course, reports, _ = graded
    full = reports["full"]
    assert not full.flagged(), full.flags
    assert full.item(OPTIONAL_ITEM).score == 2.0
    assert (full.score, full.max_score) == (3.0, 3.0)
    assert sorted(i.id for i in full.manual) == [f"{NOTEBOOK}:derive_decay", f"{OPTIONAL}:why_shrink"]


def test_export_reports_the_same_max_score_for_everyone(graded):
    course, _, path = graded
    with open(path, newline="") as fh:
        rows = {row["student"]: row for row in csv.DictReader(fh)}
    assert {s: (float(r["score"]), float(r["max_score"])) for s, r in rows.items()} == \
        {"core": (1.0, 3.0), "full": (3.0, 3.0)}
    assert rows["core"]["flags"] == rows["full"]["flags"] == ""
    assert float(rows["full"][OPTIONAL_ITEM]) == 2.0
