"""The whole autograder zip, run locally in a tree that mirrors Gradescope's /autograder.

The zip is unzipped into ``<tmp>/autograder/source``, ``run_autograder`` copied beside it as
Gradescope does, and ``setup.sh`` run with the tests' own virtual environment (``AUTOGRADER_REUSE_VENV``:
the installs themselves are checked as text in test_build.py). Then ``run_autograder`` grades a
correct submission (a zip of the three notebooks), a typical mistake, a cheat, a single notebook
and a malformed one; every results.json must follow Gradescope's schema, its autograded scores
must equal ``steps.grade.trusted`` on the same files, and neither results.json nor stdout may
hold a line of a hidden test, solution or mark scheme. One run per case (a module fixture): a
trusted verdict of three notebooks takes seconds to a minute on two cores.
"""
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

import course_config
from autograder import nbmeta
from autograder.course import Course
from autograder.gradescope import build, results, run
from autograder.steps import grade
from autograder.tools.submissions import make_submission

pytestmark = pytest.mark.slow

MISTAKE = "adam_step:eps_inside_sqrt"
FULL = ("correct", MISTAKE, "cheat")
# Compared with the course's own trusted verdict of the same files (the correct one must get full
# marks, checked against the points table: one trusted run less on two shared cores).
COMPARED = (MISTAKE, "cheat")


def clean_env(**more):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("COURSE_", "AUTOGRADER_", "JUPYTER_"))}
    return env | more


def unzip(path, dest):
    """Unzip keeping the permission bits, as Gradescope's image build does."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            target = dest / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            target.chmod(stat.S_IMODE(info.external_attr >> 16) or 0o644)


def as_bytes(nodes):
    return {nb: nbformat.writes(node).encode() for nb, node in nodes.items()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gradescope")
    course = Course(course_config.load({"state_dir": str(tmp / "state")}, environ={}))
    subs = {kind: as_bytes(make_submission(course, kind)) for kind in FULL}

    def trusted_of(kind):
        """The course's own trusted verdict of the same files."""
        student = kind.replace(":", "_")
        folder = course.submitted(student)
        folder.mkdir(parents=True)
        for nb, data in subs[kind].items():
            (folder / f"{nb}.ipynb").write_bytes(data)
        return grade.trusted(course, student)
    # alongside setup and the runs below: most of their time is spent waiting on other processes
    pool = ThreadPoolExecutor(max_workers=1)
    trusted = {kind: pool.submit(trusted_of, kind) for kind in COMPARED}
    path, _ = build.build(course, tmp / "out")
    base = tmp / "autograder"
    unzip(path, base / "source")
    shutil.copy2(base / "source" / "run_autograder", base / "run_autograder")
    env = clean_env(**{run.ROOT_ENV: str(base), build.REUSE_ENV: sys.prefix})  # this venv
    subprocess.run(["bash", str(base / "source" / "setup.sh")], env=env, check=True,
                   capture_output=True, timeout=600)

    def gradescope(files, *flags):
        """Run run_autograder on ``files`` ({name in the submission: bytes})."""
        for folder in ("submission", "results"):
            shutil.rmtree(base / folder, ignore_errors=True)
            (base / folder).mkdir()
        for name, data in files.items():
            (base / "submission" / name).write_bytes(data)
        done = subprocess.run([str(base / "run_autograder"), *flags], cwd=base, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr
        return json.loads((base / "results" / "results.json").read_text()), done.stdout + done.stderr

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for nb, data in subs["correct"].items():
            zf.writestr(f"weight_decay/{nb}.ipynb", data)
    out = {
        # the default pipeline (nbgrader's run in the sandboxed kernel, then the trusted verdict)
        # for the malformed notebook; the trusted verdict alone for the others (the same scores,
        # faster; `grade`'s tests cover the in-kernel run of whole submissions)
        "correct": gradescope({"submission.zip": buffer.getvalue()}, "--no-kernel"),
        MISTAKE: gradescope({f"{nb}.ipynb": d for nb, d in subs[MISTAKE].items()}, "--no-kernel"),
        "cheat": gradescope({f"{nb}.ipynb": d for nb, d in subs["cheat"].items()}, "--no-kernel"),
        "single": gradescope({"01_sgd_weight_decay.ipynb": subs["correct"]["01_sgd_weight_decay"]},
                             "--no-kernel"),
        "malformed": gradescope({"02_adaptive_preconditioning.ipynb": b'{"cells": [oops'}),
    }
    pool.shutdown()
    return course, out, {kind: future.result() for kind, future in trusted.items()}


def autograded(doc):
    return {t["name"]: t["score"] for t in doc["tests"] if "score" in t}


def student_view(doc):
    """What a student can ever see: the top-level output and every test not hidden."""
    return json.dumps([doc.get("output", ""), [t for t in doc["tests"] if t["visibility"] != "hidden"]])


def test_every_result_follows_gradescopes_schema(graded):
    _, out, _ = graded
    for kind, (doc, _) in out.items():
        results.validate(doc)
        assert doc["stdout_visibility"] == "hidden", kind


@pytest.mark.parametrize("kind", COMPARED)
def test_scores_are_the_trusted_verdicts(graded, kind):
    course, out, trusted = graded
    doc, _ = out[kind]
    assert autograded(doc) == {i.id: i.score for i in trusted[kind].items}
    assert doc["score"] == pytest.approx(trusted[kind].score)
    assert set(autograded(doc)) == set(course.cfg.points)


def test_the_correct_zip_gets_full_marks(graded):
    course, out, _ = graded
    doc, _ = out["correct"]
    # every notebook handed in: the optional one's points come on top of max_score
    assert doc["score"] == course.cfg.max_score + course.cfg.bonus_points > course.cfg.max_score
    assert "Missing" not in doc["output"] and "submission.zip/weight_decay/" in doc["output"]


def test_the_mistake_is_explained_to_the_student(graded):
    _, out, _ = graded
    doc, _ = out[MISTAKE]
    adam = next(t for t in doc["tests"] if t["name"] == "03_adam_adamw:adam_step")
    assert adam["score"] < adam["max_score"] and adam["visibility"] == "after_due_date"
    assert "eps" in adam["output"] and "Most likely" in adam["output"]
    assert adam["extra_data"]["misconception"] == "eps_inside_sqrt"


def test_the_cheat_is_flagged_for_the_instructor_only(graded):
    _, out, _ = graded
    doc, stdout = out["cheat"]
    hidden = next(t for t in doc["tests"] if t["name"] == results.INSTRUCTOR_TEST)
    assert hidden["visibility"] == "hidden" and hidden["status"] == "failed"
    assert "tamper_suspected" in hidden["output"] and "replaces torch.allclose" in hidden["output"]
    assert "tamper_suspected" in stdout
    assert "tamper" not in student_view(doc) and "allclose" not in student_view(doc)
    assert autograded(doc)["01_sgd_weight_decay:sgd_l2_momentum_step"] == 0


def test_written_answers_await_manual_grading(graded):
    course, out, _ = graded
    for kind, (doc, _) in out.items():
        written = [t for t in doc["tests"] if "written answer" in t["name"]]
        # the written answers of the notebooks handed in: 25 + the optional notebook's 10, only
        # notebook 01's 7 for the single notebook, 02's 7 for the malformed one
        expected = {"single": 7, "malformed": 7}.get(kind, 35)
        assert sum(t["extra_data"]["points"] for t in written) == expected, kind
        assert all("score" not in t and "**Question" in t["output"] for t in written)
        # the written points are not in the total
        assert doc["score"] <= course.cfg.max_score + course.cfg.bonus_points


def test_a_single_notebook_is_graded_and_the_others_are_missing(graded):
    course, out, _ = graded
    doc, _ = out["single"]
    scores = autograded(doc)
    assert scores["01_sgd_weight_decay:l2_to_decay"] == 1
    assert scores["03_adam_adamw:adam_step"] == 0
    adam = next(t for t in doc["tests"] if t["name"] == "03_adam_adamw:adam_step")
    assert "was not submitted" in adam["output"]
    assert "Missing: 02_adaptive_preconditioning.ipynb, 03_adam_adamw.ipynb" in doc["output"]
    assert "Not attempted (optional, bonus points, nothing lost): 04_optimizer_family.ipynb" in doc["output"]
    assert not [t for t in doc["tests"] if t["name"].startswith("04_optimizer_family:")]  # no failed tests
    assert doc["extra_data"]["autograded_max"] == course.cfg.max_score


def test_a_malformed_notebook_gets_a_result_that_says_so(graded):
    _, out, _ = graded
    doc, _ = out["malformed"]
    assert doc["score"] == 0
    rms = next(t for t in doc["tests"] if t["name"] == "02_adaptive_preconditioning:rmsprop_step")
    assert "not a readable notebook" in rms["output"]
    hidden = next(t for t in doc["tests"] if t["name"] == results.INSTRUCTOR_TEST)
    assert "malformed" in hidden["output"]
    assert "nbgrader's run in the sandboxed kernel" in hidden["output"]  # the default pipeline


def test_no_hidden_test_solution_or_mark_scheme_is_ever_shown(graded):
    course, out, _ = graded
    released = "\n".join(cell.source for p in sorted(course.release_dir.glob("*.ipynb"))
                         for cell in nbformat.read(p, as_version=4).cells)
    secrets = set()
    for path in sorted(course.source_dir.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for region in ("HIDDEN TESTS", "SOLUTION", "MARK SCHEME"):
                secrets |= set(nbmeta.split_region(cell.source, region)[1])
    secrets = {s for s in secrets if len(s) >= 16 and s not in released}
    assert len(secrets) > 100  # the check has something to find
    for kind, (doc, stdout) in out.items():
        text = json.dumps(doc, ensure_ascii=False) + stdout
        assert not [s for s in secrets if s in text or json.dumps(s)[1:-1] in text], kind
        assert "BEGIN HIDDEN TESTS" not in text and "MARK SCHEME" not in text, kind
