"""results.json: Gradescope's schema, the written answers, and what must never be shown."""
import json

import nbformat
import pytest

from autograder import nbmeta
from autograder.gradescope import results
from autograder.reports import AWAITING, ItemResult, Report, no_flags
from course_config import CONFIG, ROOT

SOURCES = results.read_notebooks(ROOT / "solutions" / CONFIG.assignment, CONFIG.notebooks)


def report(flags=(), notes=()):
    items = [ItemResult("01_sgd_weight_decay:l2_to_decay", 1, 1, message="correct on all 5 cases"),
             ItemResult("03_adam_adamw:adam_step", 1.25, 2, misconception="eps_inside_sqrt",
                        message="5 of 8 cases correct. Most likely: eps inside the sqrt.")]
    manual = [ItemResult("01_sgd_weight_decay:prop1_derivation", 0, 2, decided_by=AWAITING,
                         message="**Question 1 (2 points).** Show it.")]
    return Report("submission", "weight_decay", 2.25, 3, items=items, manual=manual,
                  flags=no_flags() | dict.fromkeys(flags, True), notes=list(notes))


def doc_of(rep, **kw):
    return results.gradescope(rep, CONFIG.notebooks, summary="Graded: everything", **kw)


def test_a_graded_submission_follows_the_specification():
    doc = doc_of(report())
    results.validate(doc)
    json.dumps(doc)  # plain JSON
    assert doc["score"] == 2.25 and doc["stdout_visibility"] == "hidden"
    assert doc["output_format"] == doc["test_output_format"] == "text"  # no markup from students
    by_name = {t["name"]: t for t in doc["tests"]}
    adam = by_name["03_adam_adamw:adam_step"]
    assert (adam["score"], adam["max_score"], adam["visibility"]) == (1.25, 2, "after_due_date")
    assert adam["output"].startswith("Trusted grader: 1.25 / 2 points.")
    assert "Most likely" in adam["output"] and adam["extra_data"]["misconception"] == "eps_inside_sqrt"


def test_written_answers_carry_points_and_question_but_no_score():
    doc = doc_of(report(), visibility="visible")
    written = [t for t in doc["tests"] if "written answer" in t["name"]]
    assert len(written) == 1
    assert "score" not in written[0] and "max_score" not in written[0]
    assert written[0]["extra_data"]["points"] == 2 and "Question 1" in written[0]["output"]
    assert "2 points" in written[0]["name"]


def test_flags_reach_only_the_hidden_instructor_test():
    doc = doc_of(report(flags=["tamper_suspected"], notes=["cell 15: replaces torch.allclose"]))
    hidden = [t for t in doc["tests"] if t["visibility"] == "hidden"]
    assert [t["name"] for t in hidden] == [results.INSTRUCTOR_TEST]
    assert "tamper_suspected" in hidden[0]["output"] and "torch.allclose" in hidden[0]["output"]
    assert hidden[0]["status"] == "failed"
    shown = json.dumps([doc["output"], *[t for t in doc["tests"] if t["visibility"] != "hidden"]])
    assert "tamper" not in shown and "allclose" not in shown


@pytest.mark.parametrize("broken", [
    {"tests": [{"name": "no score anywhere"}]},
    {"score": 1, "visibility": "sometimes"},
    {"score": 1, "tests": [{"score": 1, "mark": 2}]},
    {"score": "1"},
    {"score": 1, "leaderboard": [{"name": "time"}]},
])
def test_the_schema_rejects_what_gradescope_does_not_read(broken):
    with pytest.raises(ValueError, match="Gradescope's specification"):
        results.validate(broken)


def test_an_unknown_visibility_is_refused():
    with pytest.raises(ValueError, match="visibility must be one of"):
        doc_of(report(), visibility="soon")


def test_a_failure_is_still_a_valid_result():
    doc = results.failure("RuntimeError: boom")
    results.validate(doc)
    assert doc["score"] == 0 and "not your grade" in doc["output"]
    assert all(t["visibility"] == "hidden" for t in doc["tests"])


def test_written_answers_of_the_course_have_their_points_and_questions():
    answers = results.written_answers(SOURCES)
    points = {str(nbmeta.grade_id(c)): float(nbmeta.nbgrader(c)["points"])
              for nb in SOURCES.values() for c in nb.cells if nbmeta.is_written_answer(c)}
    assert {a.item.name: a.max_score for a in answers} == points
    # 25 points in the required notebooks, 10 in the optional one (a bonus)
    optional = CONFIG.optional_notebooks
    assert sum(a.max_score for a in answers if a.item.notebook not in optional) == 25
    assert sum(a.max_score for a in answers if a.item.notebook in optional) == 10
    assert all(a.decided_by == AWAITING and a.score == 0 for a in answers)
    assert all(a.message.startswith("**Question") for a in answers)
    secrets = results.secret_lines(SOURCES.values())
    assert not [s for a in answers for s in secrets if s in a.message]


def test_secret_lines_cover_hidden_tests_solutions_and_mark_schemes():
    cell = nbformat.v4.new_code_cell(
        "def f(x):\n    ### BEGIN SOLUTION\n    return x * secret_factor_value\n    ### END SOLUTION\n"
        "### BEGIN HIDDEN TESTS\nassert f(3) == 3 * secret_factor_value\n### END HIDDEN TESTS\n")
    scheme = nbformat.v4.new_markdown_cell(
        "### BEGIN MARK SCHEME\n- 1 pt: names the secret factor value\n### END MARK SCHEME")
    released = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "def f(x):\n    return x * secret_factor_value\n")])
    source = nbformat.v4.new_notebook(cells=[cell, scheme])
    assert results.secret_lines([source]) == ["assert f(3) == 3 * secret_factor_value",
                                              "- 1 pt: names the secret factor value",
                                              "return x * secret_factor_value"]
    # a line the student notebook shows anyway is no secret
    lines = results.secret_lines([source], [released])
    assert "return x * secret_factor_value" not in lines
    redact = results.Redactor(tuple(lines))
    assert redact("failed: assert f(3) == 3 * secret_factor_value!") == \
        f"failed: {results.WITHHELD}!"
    assert redact.doc({"a": ["- 1 pt: names the secret factor value"], "b": 2}) == \
        {"a": [results.WITHHELD], "b": 2}


def test_the_document_is_redacted():
    rep = report(notes=["traceback: assert abs(l2_to_decay(0.3, 2.0) - 0.6) < 1e-12"])
    doc = doc_of(rep, redact=results.Redactor(("assert abs(l2_to_decay(0.3, 2.0) - 0.6) < 1e-12",)))
    assert "l2_to_decay(0.3" not in json.dumps(doc) and results.WITHHELD in json.dumps(doc)
