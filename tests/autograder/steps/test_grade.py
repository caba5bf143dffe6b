"""`grade`: nbgrader autograde in the sandboxed kernel + the trusted verdict, end to end."""
import json

import nbformat
import pytest

from autograder.isolation import sandbox
from autograder.nbgrader_glue import preprocessors
from autograder.steps import collect, export, grade, release
from tests.autograder.pipeline_course import (
    CHEAT,
    CORRECT,
    EXPERIMENT,
    ITEM,
    NOTEBOOK,
    WRONG,
    canvas_name,
    make_course,
    submission,
)

pytestmark = pytest.mark.slow

# Looks for the gradebook in parent folders and at its real path, and appends to what it finds
# (what a plain nbgrader kernel allows). DB_PATH is filled in with the real path.
SNOOP = """
import os
opened = []
for path in [os.path.join(*['..'] * k, 'gradebook.db') for k in range(1, 8)] + ['DB_PATH']:
    try:
        with open(path, 'ab') as fh:
            fh.write(b'tampered')
        opened.append(path)
    except OSError:
        pass
print('OPENED', opened)
""" + CORRECT


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course = make_course(root)
    release.release(course, notebooks_only=True)
    incoming = root / "incoming"
    incoming.mkdir()
    db = course.cfg.gradebook_url.removeprefix("sqlite:///")
    bodies = {"ann": CORRECT, "bob": WRONG, "cat": CHEAT, "dan": SNOOP.replace("DB_PATH", db)}
    for student, body in bodies.items():
        nbformat.write(submission(course, body), incoming / canvas_name(student))
    (incoming / canvas_name("eve")).write_text("{not json")
    collect.collect(course, incoming)
    reports = grade.grade(course, jobs=2, progress=False)
    return course, reports


def item(report):
    return next(i for i in report.items if i.id == ITEM)


def test_trusted_scores_and_flags(graded):
    _, reports = graded
    assert item(reports["ann"]).score == 1.0
    assert item(reports["bob"]).score == 0.0
    assert item(reports["bob"]).in_kernel_score == 0.0
    cheat = reports["cat"]
    assert item(cheat).score == 0.0 and item(cheat).in_kernel_score == 1.0
    assert cheat.flags["tamper_suspected"]
    assert any("trusted score counts" in n for n in cheat.notes)
    assert not reports["ann"].flags["tamper_suspected"]


def test_experiment_cells_are_not_run_while_grading(graded):
    course, _ = graded
    submitted = (course.submitted("ann") / f"{NOTEBOOK}.ipynb").read_text()
    autograded = (course.autograded("ann") / f"{NOTEBOOK}.ipynb").read_text()
    assert json.dumps(EXPERIMENT)[1:-1] in submitted  # the student's copy has the cell
    assert preprocessors.SKIPPED in autograded and "EXPERIMENT RAN" not in autograded


def test_malformed_notebook_gets_a_message_and_the_batch_continues(graded):
    _, reports = graded
    eve = reports["eve"]
    assert eve.flags["malformed"] and item(eve).score == 0.0
    assert "not a readable notebook" in item(eve).message


def test_trusted_score_is_what_the_gradebook_holds(graded):
    course, reports = graded
    with course.gradebook() as gb:
        for student, report in reports.items():
            grade_ = gb.find_grade("test_l2_to_decay", NOTEBOOK, course.assignment, student)
            assert grade_.auto_score == item(report).score


@pytest.mark.skipif(sandbox.isolation() != "bwrap", reason="needs bubblewrap")
def test_kernel_cannot_see_or_write_the_gradebook(graded):
    course, reports = graded
    out = nbformat.read(course.autograded("dan") / f"{NOTEBOOK}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))
    assert "OPENED []" in printed
    db = course.cfg.gradebook_url.removeprefix("sqlite:///")
    assert not open(db, "rb").read().endswith(b"tampered")
    assert item(reports["dan"]).score == 1.0


def test_manual_grade_survives_regrade_and_resume_and_repeat_are_exact(graded):
    course, reports = graded
    with course.gradebook() as gb:
        answer = gb.find_grade("derive_decay", NOTEBOOK, course.assignment, "bob")
        answer.manual_score = 1.5
        gb.db.commit()
    before = {s: (r.score, [i.score for i in r.items]) for s, r in reports.items()}
    # a batch killed before "bob" finished: his report is missing, the others are kept
    course.reports_dir.joinpath("bob.json").unlink()
    kept = course.reports_dir.joinpath("ann.json").stat().st_mtime_ns
    assert grade.pending(course, sorted(reports)) == ["bob"]
    assert grade.pending(course, ["ann", "bob"], force=True) == ["ann", "bob"]
    again = grade.grade(course, jobs=1, progress=False)
    assert course.reports_dir.joinpath("ann.json").stat().st_mtime_ns == kept
    # grading bob again gives identical item scores and keeps his manual score
    assert [i.score for i in again["bob"].items] == before["bob"][1]
    with course.gradebook() as gb:
        assert gb.find_grade("derive_decay", NOTEBOOK, course.assignment, "bob").manual_score == 1.5
    merged = export.merged_report(course, "bob")
    assert merged.score == before["bob"][0] + 1.5
    assert {i.id: i.decided_by for i in merged.items}[f"{NOTEBOOK}:derive_decay"] == "manual"


def test_unknown_student_is_a_clear_error(graded):
    course, _ = graded
    with pytest.raises(ValueError, match="no collected submission"):
        grade.grade(course, students=["nobody_here"], progress=False)


def test_feedback_shows_verdicts_but_not_hidden_tests(graded):
    from autograder.steps import feedback
    course, _ = graded
    files = feedback.generate(course, "bob")
    assert [f.name for f in files] == [f"{NOTEBOOK}.html"]
    html = files[0].read_text()
    assert "Trusted grader: 0 / 1 points" in html
    assert "secret-hidden-check" not in html and "0.3, 2.0" not in html
    assert "HIDDEN TESTS" not in html and "autograder.reference" not in html


def test_nbgraders_own_autograde_cannot_replace_a_trusted_score_silently(graded):
    """What formgrader's Autograde button does: nbgrader re-runs the notebook in its own kernel
    and writes its in-kernel score. Export must not call that score trusted, and `grade` must
    notice the gradebook changed and restore the trusted score."""
    course, reports = graded
    assert reports["cat"].item(ITEM).score == 0.0  # the cheat fakes a pass in its own kernel
    api = course.api(sandbox=False, run_experiments=True)
    assert api.autograde(course.assignment, "cat", force=True).get("success")
    with course.gradebook() as gb:
        assert gb.find_grade("test_l2_to_decay", NOTEBOOK, course.assignment, "cat").auto_score == 1.0
    merged = export.merged_report(course, "cat")
    item_ = next(i for i in merged.items if i.id == ITEM)
    assert item_.decided_by != "trusted" and any("restore the trusted" in n for n in merged.notes)
    assert grade.pending(course, ["ann", "cat"]) == ["cat"]
    again = grade.grade(course, students=["cat"], progress=False)
    assert again["cat"].item(ITEM).score == 0.0
    with course.gradebook() as gb:
        assert gb.find_grade("test_l2_to_decay", NOTEBOOK, course.assignment, "cat").auto_score == 0.0
    assert next(i for i in export.merged_report(course, "cat").items if i.id == ITEM).decided_by \
        == "trusted"


def test_grading_before_release_stops_before_anyone_gets_a_zero(tmp_path):
    course = make_course(tmp_path / "course")
    folder = course.submitted("ann")
    folder.mkdir(parents=True)
    with pytest.raises(ValueError, match="run `python -m autograder release` first"):
        grade.grade(course, progress=False)
    assert not course.report_path("ann").exists()
