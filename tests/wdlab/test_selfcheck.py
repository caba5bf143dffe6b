"""wdlab.selfcheck: every question the notebooks ask has an answer here, each answer is what the
course's formulas give, and check() only prints."""
import math
import re

import nbformat
import pytest

from course_config import CONFIG, ROOT
from wdlab import selfcheck

# The answers computed again from the formulas the explanations quote.
EXPECTED = {
    "01-idle-weight": 1 - 0.1 * 1e-2,
    "01-problem-set-momentum": "c",
    "01-double-lr-sgdw": "b",
    "01-equivalent-l2": (1 - 0.9) * 5e-4 / 0.05,
    "02-torch-first-step": 1 / math.sqrt(1 - 0.99),
    "02-m-is-k-identity": "b",
    "02-crossover": 1.0,
    "02-rotation": "b",
    "03-first-adam-step": 1e-3,
    "03-l2-small-gradient": "b",
    "03-why-uniform": "b",
    "03-torch-to-paper": 2e-3 * 0.05,
    # Adamax's first step: lr / (1 - beta1) * (1 - beta1) g / |g|, against the gradient's sign
    "04-first-adamax-step": -0.002 / (1 - 0.9) * (1 - 0.9) * 40 / 40,
    "04-rotation-invariant": "b",
    # the option whose value is the soft threshold (by 0.02) of the Adam step 0.004 - 0.01
    "04-threshold-zero": next(k for k, v in {"a": 0.014, "b": -0.006, "c": 0.0, "d": -0.0058}.items()
                              if math.isclose(v, math.copysign(max(abs(0.004 - 0.01) - 0.02, 0.0), -1.0),
                                              abs_tol=1e-12)),
}


def asked():
    """{question id: notebook} of every selfcheck.check call in the solution notebooks."""
    found = {}
    for stem in CONFIG.notebooks:
        nb = nbformat.read(ROOT / "solutions" / CONFIG.assignment / f"{stem}.ipynb", as_version=4)
        for cell in nb.cells:
            for qid in re.findall(r'selfcheck\.check\("([^"]+)"', cell.source):
                found[qid] = stem
    return found


def test_every_question_asked_has_an_answer_and_every_answer_a_question():
    assert set(asked()) == set(selfcheck.QUESTIONS) == set(EXPECTED)
    assert all(qid.startswith(stem[:2]) for qid, stem in asked().items())


@pytest.mark.parametrize("qid", sorted(EXPECTED))
def test_answers_match_the_formulas(qid):
    answer = selfcheck.QUESTIONS[qid].answer
    if isinstance(answer, str):
        assert answer == EXPECTED[qid]
    else:
        assert math.isclose(answer, EXPECTED[qid], rel_tol=1e-9)


def test_check_prints_the_verdict_and_never_raises(capsys):
    selfcheck.check("01-problem-set-momentum", None)
    assert "run this cell again" in capsys.readouterr().out
    selfcheck.check("01-problem-set-momentum", " (C) ")
    assert capsys.readouterr().out.startswith("Correct (c).")
    selfcheck.check("01-problem-set-momentum", "a")
    assert capsys.readouterr().out.startswith("Not (a):")
    selfcheck.check("01-problem-set-momentum", "z")
    assert "not one of the options" in capsys.readouterr().out
    selfcheck.check("01-idle-weight", 0.999)
    assert capsys.readouterr().out.startswith("Correct (0.999).")
    selfcheck.check("01-idle-weight", 0.99)
    assert capsys.readouterr().out.startswith("Not 0.99.")
    selfcheck.check("01-idle-weight", "many")
    assert "Answer with a number" in capsys.readouterr().out
    selfcheck.check("no-such-question", 1)
    out = capsys.readouterr()
    assert "Unknown self-check" in out.out and out.err == ""


def test_every_wrong_option_has_a_hint():
    for qid, q in selfcheck.QUESTIONS.items():
        if isinstance(q.answer, str):
            assert set(q.hints) == set("abcd") - {q.answer}, qid
