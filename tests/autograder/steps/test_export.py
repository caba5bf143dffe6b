"""`export`: grades.csv and per-submission JSON, merging manual grades from the gradebook."""
import csv
import json

import nbformat
import pytest

from autograder import reports
from autograder.steps import collect, export, grade, release
from tests.autograder.pipeline_course import CORRECT, ITEM, NOTEBOOK, make_course, submission


@pytest.fixture
def course(tmp_path):
    """A collected submission whose gradebook rows and report are written as `grade` writes them
    (no kernels: export only reads them)."""
    course = make_course(tmp_path / "course")
    release.generate(course)
    incoming = tmp_path / "in" / "ann" / course.assignment
    incoming.mkdir(parents=True)
    nbformat.write(submission(course, CORRECT), incoming / f"{NOTEBOOK}.ipynb")
    collect.collect(course, tmp_path / "in")
    items = [reports.ItemResult(ITEM, 1.0, 1.0, decided_by="trusted", message="correct")]
    grade.record(course, "ann", reports.Verdict("ann", items=items))
    report = reports.Report(student="ann", assignment=course.assignment, score=1.0, max_score=3.0,
                            items=items, notes=[], flags=reports.no_flags() | {"timeout": True})
    reports.save(report, course.report_path("ann"))
    return course


def test_export_merges_manual_scores(course):
    with course.gradebook() as gb:
        gb.find_grade("derive_decay", NOTEBOOK, course.assignment, "ann").manual_score = 2.0
        gb.db.commit()
    path = export.export(course)
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 1 and rows[0]["student"] == "ann"
    assert float(rows[0]["score"]) == 3.0 and float(rows[0]["max_score"]) == 3.0
    assert rows[0]["flags"] == "timeout"
    data = json.loads((path.parent / "ann.json").read_text())
    assert set(data) >= {"student", "assignment", "score", "max_score", "items", "flags"}
    by_id = {i["id"]: i for i in data["items"]}
    assert by_id[ITEM] | {} == by_id[ITEM] and by_id[ITEM]["decided_by"] == "trusted"
    assert by_id[f"{NOTEBOOK}:derive_decay"]["decided_by"] == "manual"
    assert by_id[f"{NOTEBOOK}:derive_decay"]["score"] == 2.0
    for field in ("id", "score", "max_score", "decided_by", "message"):
        assert all(field in i for i in data["items"])


def test_manual_override_of_an_autograded_item_counts(course):
    with course.gradebook() as gb:
        gb.find_grade("test_l2_to_decay", NOTEBOOK, course.assignment, "ann").manual_score = 0.5
        gb.db.commit()
    data = export.merged_report(course, "ann")
    item = next(i for i in data.items if i.id == ITEM)
    assert item.score == 0.5 and item.decided_by == "manual"


def test_table_lists_flags_and_failed_items(course):
    report = export.merged_report(course, "ann")
    text = export.table([report])
    ann = next(line for line in text.splitlines() if line.startswith("ann"))
    assert "timeout" in ann
    assert "1 / 1" in ann and "2 pts" in ann  # autograded part, and the written answer's points
    with course.gradebook() as gb:  # once graded by hand, a partial manual score is listed
        gb.find_grade("derive_decay", NOTEBOOK, course.assignment, "ann").manual_score = 0.5
        gb.db.commit()
    text = export.table([export.merged_report(course, "ann")])
    assert f"{NOTEBOOK}:derive_decay: 0.5/2" in text and "2 pts" not in text


def test_csv_says_what_awaits_manual_grading_and_has_no_mark_scheme_columns(course):
    rows = list(csv.DictReader(export.export(course).open()))
    assert rows[0]["status"] == "awaiting manual grading"
    assert float(rows[0]["autograded"]) == 1.0 and float(rows[0]["awaiting_manual"]) == 2.0
    assert not [c for c in rows[0] if "mark_scheme" in c]
    with course.gradebook() as gb:
        gb.find_grade("derive_decay", NOTEBOOK, course.assignment, "ann").manual_score = 1.5
        gb.db.commit()
    rows = list(csv.DictReader(export.export(course).open()))
    assert rows[0]["status"] == "complete" and float(rows[0]["awaiting_manual"]) == 0.0
    assert float(rows[0]["score"]) == 2.5


def test_a_collected_student_never_graded_still_gets_a_row(course):
    course.submitted("zoe").mkdir(parents=True)
    rows = {r["student"]: r for r in csv.DictReader(export.export(course).open())}
    assert rows["zoe"]["status"] == "not graded" and rows["zoe"]["score"] == ""
    assert rows["ann"]["status"] == "awaiting manual grading"
