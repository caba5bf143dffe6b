"""Feedback shows the student nothing they could have smuggled in and nothing the instructor hides.

(a) unit: the configured feedback chain (``config.FEEDBACK_STEPS`` with the traits ``build``
sets) on a hand-built autograded notebook, then nbgrader's feedback HTML template;
(b) integration: release, collect, grade and feedback of the pipeline course with hostile
submissions, then every file in the feedback folder is scanned.
"""
import dataclasses
import importlib
import re
from pathlib import Path

import nbformat
import pytest
from nbconvert.exporters import HTMLExporter

from autograder import authoring, reports
from autograder.nbgrader_glue import config
from autograder.reports import Report
from course_config import CONFIG
from tests.autograder.pipeline_course import CORRECT, NOTEBOOK, canvas_name, make_course, submission

STUDENT = "ann"
FORGED = "<script>alert(1)</script> **Trusted grader: 2 / 2 points.**"
HIDDEN = 'assert l2_to_decay(0.3, 2.0) == 0.6, "secret-hidden-check"'
TESTS = f"assert l2_to_decay(0.1, 0.5) == 0.05\n### BEGIN HIDDEN TESTS\n{HIDDEN}\n### END HIDDEN TESTS"
MODEL_ANSWER = "MODEL-ANSWER: lambda equals lr times l2"
MARK_SCHEME = "2 pt: the derivation"
POINTS = {f"{NOTEBOOK}:l2_to_decay": 1.0}
# What a hostile function prints while the hidden test calls it: the calling cell's source,
# disguised so that no literal hidden line matches, and the reference's files.
GRADED_RUN = ["c2VjcmV0LWhpZGRlbi1jaGVjaw== SECRET-HIDDEN-CHECK", "def reference_rule(theta):"]


def stream(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def cells():
    """The notebook's cells, ids fixed, in the order a student sees them."""
    nb_cells = [
        authoring.setup(""),
        authoring.solution("def l2_to_decay(lr, l2):\n    ### BEGIN SOLUTION\n    return lr * l2\n"
                           "    ### END SOLUTION"),
        authoring.tests(NOTEBOOK, "l2_to_decay", TESTS, points=POINTS),
        nbformat.v4.new_code_cell("print('my own experiment')"),  # a cell the student added
        authoring.answer("derive_decay", 2, MODEL_ANSWER),
        authoring.mark_scheme("derive_decay", f"- {MARK_SCHEME}"),
    ]
    for i, cell in enumerate(nb_cells):
        cell.id = f"cell-{i}"
    return nb_cells


def autograded():
    """What nbgrader's autograde left: the student's answers, the instructor's locked cells
    (hidden tests, mark scheme) put back, and outputs from the graded run."""
    nb = nbformat.v4.new_notebook(cells=cells())
    setup_, answer, test, extra, written, _ = nb.cells
    answer.source = "def l2_to_decay(lr, l2):\n    return l2 * lr"
    for cell in (setup_, answer, test, extra):
        cell.outputs = [stream(f"GRADED-RUN {line}\n") for line in GRADED_RUN]
        cell.execution_count = 7
    written.source = f"### BEGIN SOLUTION\n{MODEL_ANSWER}\n### END SOLUTION\nMy derivation."
    return nb


def submitted():
    """What the student handed in: released cells, their own answers and outputs."""
    nb = nbformat.v4.new_notebook(cells=cells())
    setup_, answer, test, extra, written, scheme = nb.cells
    answer.source = "def l2_to_decay(lr, l2):\n    return l2 * lr"
    answer.outputs = [stream("SUBMITTED answer output\n")]
    test.source = "assert l2_to_decay(0.1, 0.5) == 0.05"
    test.outputs = [stream(f"SUBMITTED test output {FORGED}\n")]
    extra.outputs = [stream("SUBMITTED extra output\n"), nbformat.v4.new_output(
        "display_data", data={"text/html": "<b>SUBMITTED html</b><script>alert(2)</script>"})]
    extra.execution_count = 3
    written.source = "My derivation."
    scheme.source = "*Answer `derive_decay` is graded by hand.*"
    return nb


def feedback_html(tmp_path, *, write_submission=True, submitted_text=None):
    """The course's steps of the configured feedback chain (not nbgrader's GetGrades, which
    needs a gradebook, nor the CSS header) on ``autograded()``, rendered with nbgrader's
    feedback template."""
    cfg = dataclasses.replace(CONFIG, state_dir=str(tmp_path / "state"))
    c = config.build(cfg, tmp_path, sandbox=False)
    item = reports.ItemResult(f"{NOTEBOOK}:l2_to_decay", 0.0, 1.0, message=f"ValueError: {FORGED}")
    reports.save(Report(STUDENT, cfg.assignment, 0.0, 1.0, items=[item]),
                 config.reports_dir(cfg) / f"{STUDENT}.json")
    folder = Path(cfg.state_dir) / "submitted" / STUDENT / cfg.assignment
    folder.mkdir(parents=True)
    if submitted_text is not None:
        (folder / f"{NOTEBOOK}.ipynb").write_text(submitted_text)
    elif write_submission:
        nbformat.write(submitted(), folder / f"{NOTEBOOK}.ipynb")
    nb = autograded()
    for cell in nb.cells:  # what GetGrades reads from the gradebook
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") or meta.get("task"):
            meta["score"], meta["points"] = 0.0, meta.get("points", 0.0)
    resources = {"nbgrader": {"student": STUDENT, "notebook": NOTEBOOK, "assignment": cfg.assignment,
                              "score": 0.0, "max_score": 3.0, "late_penalty": 0}}
    for step in config.FEEDBACK_STEPS:
        if not step.startswith(config.PREPROCESSORS):
            continue
        module, name = step.rsplit(".", 1)
        preprocessor = getattr(importlib.import_module(module), name)(config=c)
        preprocessor.enabled = True
        nb, resources = preprocessor(nb, resources)
    formgrader = Path(importlib.import_module("nbgrader").__file__).parent / "server_extensions" / \
        "formgrader"  # what nbgrader's GenerateFeedback sets
    exporter = HTMLExporter(
        config=c, template_name="feedback", extra_template_basedirs=[str(formgrader / "templates")],
        extra_template_paths=[str(formgrader / "static/node_modules/bootstrap/dist/css")])
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    return nb, html


def test_verdict_message_is_escaped_text_and_the_score_line_is_the_graders(tmp_path):
    _, html = feedback_html(tmp_path)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # the real score line is markup; the forged one is plain text
    bold = re.findall(r"<(?:strong|b)>\s*Trusted grader:[^<]*</(?:strong|b)>", html)
    assert bold == ["<strong>Trusted grader: 0 / 1 points.</strong>"]
    assert "**Trusted grader: 2 / 2 points.**" in html
    assert "&lt;p&gt;" not in html and "&lt;div" not in html  # the grader's markup survives


def test_no_output_of_the_graded_run_reaches_the_feedback(tmp_path):
    nb, html = feedback_html(tmp_path)
    assert "GRADED-RUN" not in html
    for text in GRADED_RUN:
        assert text not in html
    assert "secret-hidden-check" not in html.lower()
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_l2_to_decay")
    assert test.outputs == [] and test.source.strip() == "assert l2_to_decay(0.1, 0.5) == 0.05"
    assert "SUBMITTED test output" not in html  # a test cell shows the verdict, not forged output


def test_student_cells_show_the_outputs_they_submitted(tmp_path):
    nb, html = feedback_html(tmp_path)
    assert "SUBMITTED answer output" in html
    assert "SUBMITTED extra output" in html
    assert "<b>SUBMITTED html</b>" in html and "<script>alert(2)" not in html  # sanitized
    extra = next(c for c in nb.cells if c.get("id") == "cell-3")
    assert extra.execution_count == 3


@pytest.mark.parametrize("kind", ["missing", "unreadable", "invalid"])
def test_without_a_readable_submission_no_output_is_shown(tmp_path, kind):
    text = {"missing": None, "unreadable": "{not json",
            "invalid": '{"cells": [{"cell_type": "code", "outputs": 5}], "nbformat": 4}'}[kind]
    nb, html = feedback_html(tmp_path, write_submission=False, submitted_text=text)
    assert all(not c.get("outputs") for c in nb.cells)
    assert "GRADED-RUN" not in html and "SUBMITTED" not in html
    assert "Trusted grader: 0 / 1 points." in html


def test_no_mark_scheme_and_no_model_answer(tmp_path):
    nb, html = feedback_html(tmp_path)
    assert MARK_SCHEME not in html and "Mark scheme" not in html and "MARK SCHEME" not in html
    assert "MODEL-ANSWER" not in html and "BEGIN SOLUTION" not in html
    assert "My derivation." in html  # the student's own written answer stays
    assert not any("mark_scheme" in str(c.metadata.get("nbgrader", {}).get("grade_id")) for c in nb.cells)


def test_feedback_chain_is_configured(tmp_path):
    cfg = dataclasses.replace(CONFIG, state_dir=str(tmp_path))
    c = config.build(cfg, tmp_path)
    steps = c.GenerateFeedback.preprocessors
    assert steps == config.FEEDBACK_STEPS
    assert c.SubmittedOutputs.submitted_dir == str(tmp_path / "submitted")


# ---------------------------------------------------------------------------------------------
# (b) the real pipeline: hostile submissions, grade, feedback, scan every file written

RAISES = 'def l2_to_decay(lr, l2):\n    raise ValueError("<script>alert(1)</script>")\n'
# Called by the test cell in the graded run: reads the caller's source (hidden test included)
# and the reference package, prints them disguised, and writes them into its working folder
# (with a link to the instructor's solutions, which nbgrader's feedback would copy).
SNOOPS = '''
import base64, inspect, linecache, os, pathlib

def l2_to_decay(lr, l2):
    src = "".join(linecache.getlines(inspect.stack()[1].frame.f_code.co_filename))
    try:
        import autograder.reference as ref
        src += "".join(p.read_text() for p in pathlib.Path(ref.__file__).parent.glob("*.py"))
    except Exception:
        pass
    print("LE" + "AK64", base64.b64encode(src.encode()).decode())
    print("LE" + "AK", src.upper())
    pathlib.Path("leak.txt").write_text(src)
    pathlib.Path(".hidden-leak").write_text(src)
    root = pathlib.Path.cwd().parents[3]  # <root>/state/autograded/<student>/<assignment>
    if not os.path.lexists("solution.txt"):
        os.symlink(root / "solutions" / "weight_decay" / "01_sgd_weight_decay.ipynb", "solution.txt")
    return l2 * lr
'''


@pytest.fixture(scope="module")
def feedback_files(tmp_path_factory):
    from autograder.steps import collect, feedback, grade, release
    root = tmp_path_factory.mktemp("course")
    course = make_course(root)
    release.release(course, notebooks_only=True)
    incoming = root / "incoming"
    incoming.mkdir()
    for student, body in {"ann": CORRECT, "bob": RAISES, "cat": SNOOPS}.items():
        nbformat.write(submission(course, body), incoming / canvas_name(student))
    collect.collect(course, incoming)
    graded = grade.grade(course, jobs=1, progress=False)
    html = feedback.generate(course)
    files = sorted(p for p in course.feedback_dir().rglob("*") if p.is_file())
    return course, graded, html, files


@pytest.mark.slow
def test_pipeline_feedback_leaks_nothing(feedback_files):
    course, _, html, files = feedback_files
    assert sorted(p.parent.parent.name for p in html) == ["ann", "bob", "cat"]
    autograded_cat = (course.autograded("cat") / f"{NOTEBOOK}.ipynb").read_text()
    assert "LEAK" in autograded_cat  # ... and the snooping ran in the graded run
    for path in files:
        text = path.read_text(errors="replace")
        assert "secret-hidden-check" not in text.lower(), path
        assert "LEAK" not in text, path
        assert "<script>alert" not in text, path
        assert "2 pt: the derivation" not in text and "Mark scheme" not in text, path
        assert "lambda = lr * l2" not in text and "return lr * l2" not in text, path
        assert "import RULES" not in text, path  # the hidden test's import
    assert [p.name for p in files] == [f"{NOTEBOOK}.html"] * 3


VERDICT = re.compile(r'<div class="trusted-verdict"><div><strong>([^<]*)</strong></div>'
                     r'(?:<pre>([^<]*)</pre>)?</div>')


@pytest.mark.slow
def test_pipeline_feedback_shows_escaped_verdicts(feedback_files):
    _, graded, html, _ = feedback_files
    assert "<script>" in graded["bob"].items[0].message  # the attack reached the verdict message
    verdicts = {p.parent.parent.name: VERDICT.findall(p.read_text()) for p in html}
    assert [score for score, _ in verdicts["ann"]] == ["Trusted grader: 1 / 1 points."]
    [(score, message)] = verdicts["bob"]
    assert score == "Trusted grader: 0 / 1 points."
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message
