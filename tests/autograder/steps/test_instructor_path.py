"""The instructor's whole path in a fresh state folder, as an instructor walks it:
release -> collect (with a roster) -> grade -> formgrader's Autograde button (a real HTTP click on
a real Jupyter server) -> grade again -> feedback -> export. The trusted scores must survive every
step, the flags must be the right ones, feedback must hold no mark scheme or hidden test, and the
CSV must say what awaits manual grading. The course has an optional notebook: one student hands
it in (its points are a bonus), the others leave it out (no flag, nothing lost)."""
import csv
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.reports import SKIPPED
from autograder.steps import collect, export, feedback, formgrader, grade, release
from tests.autograder.pipeline_course import (
    ADAGRAD_CORRECT,
    CHEAT,
    CORRECT,
    ITEM,
    NOTEBOOK,
    OPTIONAL,
    OPTIONAL_ITEM,
    WRONG,
    make_course,
    submission,
)

pytestmark = pytest.mark.slow

LOOP = CORRECT + "\nwhile True:  # never ends: the cell must time out\n    pass\n"
SUBMITTED = {"jane_doe": CORRECT, "bob": WRONG, "cat": CHEAT, "lou": LOOP}
BONUS = "ivy"  # hands in the optional notebook too
UNTOUCHED = "max"  # hands the optional notebook back as released: not attempted
ROSTER = [*SUBMITTED, BONUS, UNTOUCHED, "noah"]  # noah submitted nothing
MARK_SCHEMES = ("2 pt: the derivation", "1 pt: the sum only grows")
TOKEN = "instructor-path-test"
REPOSITORY = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, path: str, method: str = "GET") -> tuple[int, object]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 headers={"Authorization": f"token {TOKEN}"},
                                 data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def click_autograde(course, student: str) -> object:
    """Start formgrader the way `make formgrader` does and press Autograde for ``student``."""
    port = _free_port()
    argv, env = formgrader.command(course, port, token=TOKEN)
    env["PATH"] = "/usr/bin:/bin"  # the venv not activated: the server must still work
    server = subprocess.Popen(argv, env=env, cwd=course.root, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while True:
            try:
                status, _ = _request(port, "/formgrader/api/status")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.time() < deadline and server.poll() is None, server.stderr.read()[-3000:]
            time.sleep(1)
        status, listed = _request(port, f"/formgrader/api/submissions/{course.assignment}")
        assert status == 200, listed
        assert {s["student"] for s in listed} >= set(SUBMITTED)
        status, result = _request(port, f"/formgrader/api/submission/{course.assignment}/{student}"
                                  "/autograde", method="POST")
        assert status == 200, result
        return result
    finally:
        server.terminate()
        server.wait(30)


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course = make_course(root, optional=True)
    for name in ("course_config.py", "nbgrader_config.py"):  # what the server in root loads
        shutil.copy(REPOSITORY / name, root / name)
    seen = {"release": release.release(course)}
    incoming = root / "incoming"
    for student, body in SUBMITTED.items():
        folder = incoming / student / course.assignment
        folder.mkdir(parents=True)
        nbformat.write(submission(course, body), folder / f"{NOTEBOOK}.ipynb")
    folder = incoming / BONUS / course.assignment
    folder.mkdir(parents=True)
    nbformat.write(submission(course, CORRECT), folder / f"{NOTEBOOK}.ipynb")
    nbformat.write(submission(course, ADAGRAD_CORRECT, OPTIONAL), folder / f"{OPTIONAL}.ipynb")
    folder = incoming / UNTOUCHED / course.assignment
    folder.mkdir(parents=True)
    nbformat.write(submission(course, CORRECT), folder / f"{NOTEBOOK}.ipynb")
    shutil.copy(course.release_dir / f"{OPTIONAL}.ipynb", folder / f"{OPTIONAL}.ipynb")
    roster = root / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"{s},{s.title()}\n" for s in ROSTER))
    seen["collect"] = collect.collect(course, incoming, roster=roster)
    seen["grade"] = grade.grade(course, jobs=2, progress=False)
    seen["click"] = click_autograde(course, "cat")
    seen["pending"] = grade.pending(course, course.students())
    seen["grade again"] = grade.grade(course, jobs=2, progress=False)
    seen["feedback"] = feedback.generate(course)
    seen["export"] = export.export(course)
    return course, seen


def test_every_roster_student_is_graded_with_the_right_flags(walk):
    course, seen = walk
    assert course.students() == sorted(ROSTER)
    reports = seen["grade"]
    assert reports["jane_doe"].item(ITEM).score == 1.0 and not reports["jane_doe"].flagged()
    assert reports["bob"].item(ITEM).score == 0.0 and not reports["bob"].flagged()
    assert reports["cat"].item(ITEM).score == 0.0
    assert "tamper_suspected" in reports["cat"].flagged()
    assert "in_kernel_disagrees" in reports["cat"].flagged()  # its kernel claimed the point
    # The loop runs after the definition: the function is right, the notebook's run timed out.
    assert reports["lou"].item(ITEM).score == 1.0
    assert reports["lou"].flagged() == ["timeout"]
    assert reports["noah"].score == 0.0 and reports["noah"].flagged() == ["missing_notebook"]


def test_the_optional_notebook_is_a_bonus_and_leaving_it_out_costs_nothing(walk):
    course, seen = walk
    reports = seen["grade"]
    jane, ivy = reports["jane_doe"], reports[BONUS]
    for skipper in (jane, reports[UNTOUCHED]):  # left out, or handed back as released
        skipped = skipper.item(OPTIONAL_ITEM)
        assert skipped.score == 0 and skipped.decided_by == SKIPPED and not skipper.flagged()
        assert "optional" in skipped.message and "nothing is lost" in skipped.message
        # max score: notebook 01's function (1) and written answer (2); the optional 3 are a bonus
        assert (skipper.score, skipper.max_score) == (1.0, 3.0)
        assert [i.id for i in skipper.manual] == [f"{NOTEBOOK}:derive_decay"]  # nothing of 04 awaits
    assert not ivy.flagged() and ivy.item(OPTIONAL_ITEM).score == 2.0
    assert (ivy.score, ivy.max_score) == (3.0, 3.0)
    assert sorted(i.id for i in ivy.manual) == [f"{NOTEBOOK}:derive_decay", f"{OPTIONAL}:why_shrink"]
    # formgrader lists no one but ivy as needing a manual grade in the optional notebook
    with course.gradebook() as gb:
        waiting = {s for s in (BONUS, UNTOUCHED, "jane_doe")
                   if any(g.needs_manual_grade for g in
                          gb.find_submission_notebook(OPTIONAL, course.assignment, s).grades)}
    assert waiting == {BONUS}


def test_formgraders_autograde_button_keeps_the_trusted_score(walk):
    course, seen = walk
    assert seen["click"]["success"], seen["click"]
    assert seen["pending"] == []  # the click wrote the trusted verdict itself: nothing drifted
    with course.gradebook() as gb:
        assert gb.find_grade("test_l2_to_decay", NOTEBOOK, course.assignment, "cat").auto_score == 0
        assert gb.find_submission_notebook(NOTEBOOK, course.assignment, "cat").flagged
        comment = gb.find_comment("l2_to_decay", NOTEBOOK, course.assignment, "cat").auto_comment
        assert comment.startswith("Trusted grader: 0 / 1 points.")
        assert gb.find_comment("l2_to_decay", NOTEBOOK, course.assignment,
                               "jane_doe").auto_comment.startswith("Trusted grader: 1 / 1 points.")
    graded = nbformat.read(course.autograded("cat") / f"{NOTEBOOK}.ipynb", as_version=4)
    assert "EXPERIMENT RAN" not in json.dumps(graded)  # the button skipped the experiments too


def test_grading_again_changes_nothing(walk):
    _, seen = walk
    first, again = seen["grade"], seen["grade again"]
    assert {s: r.score for s, r in first.items()} == {s: r.score for s, r in again.items()}
    assert {s: r.flagged() for s, r in first.items()} == {s: r.flagged() for s, r in again.items()}


def test_feedback_holds_no_mark_scheme_hidden_test_or_solution(walk):
    course, seen = walk
    files = seen["feedback"]
    assert {f.parent.parent.name for f in files} == {*SUBMITTED, BONUS, UNTOUCHED}
    assert {f.stem for f in files} == {NOTEBOOK, OPTIONAL}
    for path in files:
        html = path.read_text()
        assert not [m for m in MARK_SCHEMES if m in html] and "Mark scheme" not in html, path
        assert "secret-hidden-check" not in html and "HIDDEN TESTS" not in html, path
        assert "return lr * l2" not in html, path  # the model solution
        assert "Trusted grader:" in html, path


def test_no_sandbox_clutter_in_autograded_or_feedback_folders(walk):
    course, _ = walk
    for base, suffix in ((course.autograded(), ".ipynb"), (course.feedback_dir(), ".html")):
        extra = [p for p in base.rglob("*") if p.is_file() and p.suffix != suffix]
        assert not extra, extra


def test_export_has_every_student_and_says_what_awaits_manual_grading(walk):
    _, seen = walk
    rows = {r["student"]: r for r in csv.DictReader(seen["export"].open())}
    assert set(rows) == set(ROSTER)
    handed_in = {s: r for s, r in rows.items() if s != "noah"}
    assert all(r["status"] == "awaiting manual grading" for r in handed_in.values())
    # 2 points of notebook 01's answer; ivy also has the optional notebook's 1-point answer
    assert {s: float(r["awaiting_manual"]) for s, r in handed_in.items()} == \
        {**dict.fromkeys(SUBMITTED, 2.0), BONUS: 3.0, UNTOUCHED: 2.0}
    # everyone's max score leaves out the optional notebook; ivy's bonus is in her score
    assert {float(r["max_score"]) for r in rows.values()} == {3.0}
    assert float(rows[BONUS]["score"]) == 3.0 and float(rows[BONUS][OPTIONAL_ITEM]) == 2.0
    assert rows[BONUS]["flags"] == rows["jane_doe"]["flags"] == ""
    # noah handed in nothing: no written answer waits for a grader (nbgrader gave it 0)
    assert rows["noah"]["status"] == "complete" and float(rows["noah"]["awaiting_manual"]) == 0
    assert not [c for c in rows["bob"] if "mark_scheme" in c]
    assert float(rows["jane_doe"]["autograded"]) == 1.0 and float(rows["cat"]["autograded"]) == 0
    assert rows["noah"]["flags"] == "missing_notebook" and float(rows["noah"]["score"]) == 0
    assert rows["lou"]["flags"] == "timeout"
    assert set(rows["cat"]["flags"].split(";")) == {"tamper_suspected", "in_kernel_disagrees"}
    reports = json.loads((seen["export"].parent / "cat.json").read_text())
    assert next(i for i in reports["items"] if i["id"] == ITEM)["decided_by"] == "trusted"
