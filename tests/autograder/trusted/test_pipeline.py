"""The trusted verdict on a corpus of correct, faulty and adversarial submissions.

Every submission is graded once (one module fixture, two workers in parallel); the tests read
the verdicts. The corpus is generated from the release notebooks (tests/autograder/corpus).
"""
import dataclasses

import nbformat
import pytest

from autograder.isolation import sandbox
from autograder.tools import submissions as corpus
from autograder.trusted import pipeline as verdict
from autograder.trusted import tamper
from course_config import CONFIG

pytestmark = pytest.mark.filterwarnings("ignore::autograder.isolation.sandbox.SandboxWarning")
FAST = dataclasses.replace(CONFIG, cell_timeout_s=5, memory_cap_mb=2048)
NB1, NB2, NB3, NB4 = CONFIG.notebooks


BOMB = ("def adam_step(*a, **k):\n    import os\n    while True:\n        try:\n"
        "            os.fork()\n        except OSError:\n            pass\n")


def _write(tmp, student, notebooks):
    return {name: corpus.write(nb, tmp / student / f"{name}.ipynb") for name, nb in notebooks.items()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("subs")
    subs = {
        "correct": _write(tmp, "correct", {n: corpus.submission(n) for n in CONFIG.notebooks}),
        "variants": _write(tmp, "variants", corpus.correct_variant_notebooks()),
        "cheater": _write(tmp, "cheater", corpus.cheat_notebooks()),
    }
    faulty = corpus.faulty_notebooks()
    subs["faulty1"] = _write(tmp, "faulty1", {NB1: faulty[NB1]})
    subs["faulty2"] = _write(tmp, "faulty2", {NB2: faulty[NB2], NB3: faulty[NB3], NB4: faulty[NB4]})
    (tmp / "cheater" / "numpy.py").write_text("allclose = lambda *a, **k: True\n")
    broken = _write(tmp, "broken", {NB1: corpus.submission(NB1)})
    broken[NB2] = tmp / "broken" / f"{NB2}.ipynb"
    broken[NB2].write_text('{"cells": [oops')
    nb3 = corpus.submission(NB3)
    nb3.cells = [c for c in nb3.cells if "def adam_step" not in c.source]   # a deleted cell
    broken[NB3] = corpus.write(nb3, tmp / "broken" / f"{NB3}.ipynb")
    old = _write(tmp, "old_format", {NB1: corpus.submission(NB1)})
    old[NB1].write_text(nbformat.writes(nbformat.v4.downgrade(
        nbformat.read(old[NB1], as_version=4)), version=3) if hasattr(nbformat.v4, "downgrade")
        else nbformat.writes(nbformat.convert(nbformat.read(old[NB1], as_version=4), 3)))
    subs["broken"], subs["old_format"] = broken, old
    forger = corpus.submission(NB1)
    forger.cells.append(nbformat.v4.new_code_cell(corpus.FORGER))
    subs["forger"] = _write(tmp, "forger", {NB1: forger})
    channel = corpus.submission(NB1)
    channel.cells.append(nbformat.v4.new_code_cell(corpus.CHANNEL_FORGER))
    subs["channel_forger"] = _write(tmp, "channel_forger", {NB1: channel})
    subs["again"] = _write(tmp, "again", {n: corpus.submission(n) for n in CONFIG.notebooks})
    if sandbox.bwrap_path():  # fork bombs are only let loose inside bubblewrap
        subs["bomb"] = _write(tmp, "bomb", {NB3: corpus.submission(NB3, {"adam_step": BOMB})})
    return verdict.grade_batch(subs, config=FAST, workers=2)


def _items(v):
    return {i.item.name: i for i in v.items}


def test_correct_submission_gets_full_marks(graded):
    v = graded["correct"]
    assert v.score == v.max_score == CONFIG.max_score + CONFIG.bonus_points   # every notebook handed in
    assert not any(v.flags.values()), v.reasons
    assert all(i.decided_by == "trusted" for i in v.items)


def test_correct_but_different_code_gets_full_marks(graded):
    v = graded["variants"]
    assert v.score == v.max_score, [(i.id, i.message) for i in v.items if i.score < i.max_score]
    assert not v.flags["tamper_suspected"]


def test_old_nbformat_is_graded(graded):
    v = graded["old_format"]
    assert v.score == v.max_score


def test_cheats_earn_nothing_and_are_flagged(graded):
    v = graded["cheater"]
    assert v.score == 0, [(i.id, i.score) for i in v.items if i.score]
    assert v.flags["tamper_suspected"]
    reasons = " ".join(v.reasons)
    for sign in ("torch.allclose", "np.testing.assert_allclose", "sys.modules",
                 "input_transformers_post", "gradebook", "__eq__", "numpy.py",
                 "torch.testing.assert_close"):
        assert sign in reasons, sign
    for fn in ("adamw_step", "nadam_step", "adagrad_step"):   # an optimizer, a functional kernel
        assert _items(v)[fn].misconception == "delegates_to_torch_optim", fn


def test_faults_cost_only_their_items(graded):
    v1, v2 = graded["faulty1"], graded["faulty2"]
    items = {**_items(v1), **_items(v2)}
    for fn, (flag, _) in corpus.FAULTS.items():
        v = v1 if fn in corpus.FUNCTIONS[NB1] else v2
        assert v.flags[flag], (flag, v.reasons)
        if flag != "output_too_large":
            assert items[fn].score == 0, fn
    assert items["adam_l2_step"].score == items["adam_l2_step"].max_score   # loud but right
    for fn, name in corpus.MISNAMED.items():
        assert f"did you mean {name}" in items[fn].message, items[fn].message
    for fn in ("l2_to_decay", "sgdw_equivalent_l2", "adam_step", "cosine_warm_restarts", "adamax_step",
               "nadam_step"):
        assert items[fn].score == items[fn].max_score, (fn, items[fn].message)


def test_malformed_and_deleted_cells(graded):
    v = graded["broken"]
    items = {i.id: i for i in v.items}
    assert v.flags["unreadable"]
    assert all(items[k].score == 0 for k in items if k.startswith(NB2))
    assert all(items[k].score == items[k].max_score for k in items if k.startswith(NB1))
    assert items[f"{NB3}:adam_step"].score == 0 and "missing" in items[f"{NB3}:adam_step"].message
    assert items[f"{NB3}:adamw_step"].score == items[f"{NB3}:adamw_step"].max_score


def test_reconcile_flags_an_in_kernel_pass_the_trusted_grader_refused(graded):
    v = graded["cheater"]
    verdict.reconcile(v, {f"{NB3}:adam_step": 2.0})
    assert any("adam_step" in r and "trusted score counts" in r for r in v.reasons)


def test_grading_twice_gives_identical_scores(graded):
    assert [i.score for i in graded["again"].items] == [i.score for i in graded["correct"].items]
    assert [i.message for i in graded["again"].items] == [i.message for i in graded["correct"].items]


@pytest.mark.skipif(sandbox.bwrap_path() is None, reason="fork bombs are tested inside bubblewrap")
def test_fork_bomb_times_out_and_costs_one_item(graded):
    v = graded["bomb"]
    items = _items(v)
    assert items["adam_step"].score == 0 and v.flags["timeout"]
    assert items["adamw_step"].score == items["adamw_step"].max_score


def test_unknown_notebook_name_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="notebook_name must be one of"):
        verdict.trusted_verdict(tmp_path / "x.ipynb", "04_nope")


def test_a_forged_reply_is_a_zero_not_a_crash(graded):
    v = graded["channel_forger"]
    assert v.score == 0
    assert all("malformed" in i.message for i in v.items), [i.message for i in v.items]


def test_definition_time_sabotage_of_the_grader_changes_nothing(graded):
    """Replies never touch a file the student can reach: an exit hook that overwrites every
    file it finds leaves the (correct) functions their full marks."""
    v = graded["forger"]
    assert v.score == v.max_score, [(i.id, i.message) for i in v.items if i.score < i.max_score]


def test_ordinary_words_are_not_tamper_signs():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "plt.plot(x, label='reference')\nprint('see the solutions in class')\nok = a != b\n"
        "def f(theta):\n    \"\"\"One step on f + (l2 / 2) ||theta||^2 ... see the reference.\"\"\"\n")])
    assert tamper.tamper_reasons(nb) == []
    nb.cells.append(nbformat.v4.new_code_cell("open('../../.course_state/gradebook.db', 'ab')"))
    assert tamper.tamper_reasons(nb)
    globbing = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("glob.glob('../../**')")])
    assert any("parent folders" in r for r in tamper.tamper_reasons(globbing))


def test_only_an_in_kernel_score_above_the_trusted_one_is_flagged():
    from autograder.reports import ItemResult, Verdict
    mistake = Verdict("x", items=[ItemResult("nb:f", 1.0, 2.0)])
    notes = verdict.reconcile(mistake, {"nb:f": 0.0})  # the notebook's check gave 0: a note
    assert len(notes) == 1 and not any(mistake.flags.values())
    assert mistake.items[0].in_kernel_score == 0.0
    faked = Verdict("y", items=[ItemResult("nb:f", 0.0, 2.0)])
    verdict.reconcile(faked, {"nb:f": 2.0})
    assert faked.flags["in_kernel_disagrees"] and faked.flags["tamper_suspected"]
