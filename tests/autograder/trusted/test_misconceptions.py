"""Misconceptions: every known-wrong variant is caught and named.

Fast layer: each variant plays the student, run through the driver and the executor's code in
this process (no sandbox), then compare + diagnose must name it. Slow layer: typical mistakes
written as student code go through the real sandboxed executor and get the same names.
"""
import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch

from autograder.reports import Verdict
from autograder.tools import submissions as corpus
from autograder.trusted import compare, driver, executor, extract, items, misconceptions, protocol, scoring
from autograder.trusted import pipeline as verdict
from course_config import CONFIG

pytestmark = pytest.mark.filterwarnings("ignore::autograder.isolation.sandbox.SandboxWarning")
FAST = dataclasses.replace(CONFIG, cell_timeout_s=5, memory_cap_mb=2048)


class InProcess:
    """The executor's own code run in this process, on a preset namespace (no sandbox): the
    driver, compare and diagnose steps exactly as in grading, fast enough for every variant."""

    def __init__(self, job, namespace):
        self.executor = executor.Executor(str(job / protocol.ARENA), np, torch, "cpu")
        self.namespace = namespace

    def request(self, header, deadline, arrays=None):
        if header["op"] == "exec":
            self.executor.namespaces[header["notebook"]] = dict(self.namespace)
            return {"errors": [], "patched": []}, {}
        blobs = {k: ({"dtype": str(v.dtype), "shape": list(v.shape)}, v.tobytes())
                 for k, v in (arrays or {}).items()}
        reply, out = self.executor.handle(header, blobs)
        return reply, {k: np.asarray(v) for k, v in out.items()}

    def close(self, reason=""):
        return None


def _as_student(item, fn, tmp_path):
    """Grade ``fn`` as the student's answer: the driver and the executor's code, in-process."""
    plan = driver.Plan(item.notebook, [], [item])
    run = driver.Driver([plan], CONFIG, Verdict(None), "rlimits", [], "cpu",
                        start=lambda job: InProcess(job, {item.function: fn}))
    return scoring.score_item(item, 1.0, run.run()[item.id], CONFIG)


ALL_VARIANTS = [(i, v) for i in items.TABLE.values() for v in i.variants]


@pytest.mark.parametrize("item,variant", ALL_VARIANTS,
                         ids=[f"{i.function}-{v.name}" for i, v in ALL_VARIANTS])
def test_each_variant_loses_points_and_is_named(item, variant, tmp_path):
    result = _as_student(item, variant.fn, tmp_path)
    assert result.score < 1.0, "the cases cannot tell this mistake from the reference"
    assert result.misconception == variant.name, result.message
    assert variant.message in result.message


@pytest.mark.parametrize("item", list(items.TABLE.values()), ids=lambda i: i.function)
def test_the_reference_itself_gets_full_marks(item, tmp_path):
    result = _as_student(item, item.reference, tmp_path)
    assert result.score == 1.0 and result.misconception is None, result.message


def _item_of(function):
    return next(i for i in items.TABLE.values() if i.function == function)


def _define(source, function):
    """``function`` as the student's cell defines it (with the corpus's helper cell, no magics)."""
    namespace = {"math": math, "torch": torch, "warnings": warnings}
    exec(compile(extract.strip_magics(corpus.HELPERS + source), f"<{function}>", "exec"), namespace)
    return namespace[function]


@pytest.mark.parametrize("function,name,source", corpus.MISTAKES,
                         ids=[f"{fn}-{name}" for fn, name, _ in corpus.MISTAKES])
def test_each_typical_mistake_is_named_in_process(function, name, source, tmp_path):
    """The slow layer's student code, graded by the executor's code in this process."""
    result = _as_student(_item_of(function), _define(source, function), tmp_path)
    assert result.score < 1.0 and result.misconception == name, result.message


# Every standalone correct answer, and the correct-but-different step rules (the call items'
# variants plot and save files when defined: the slow layer runs those).
CORRECT_ANSWERS = [(fn, src, fn) for fn, src in corpus.CORRECT.items()] + [
    (fn, src, f"{fn}-variant") for fn, src in corpus.CORRECT_VARIANTS.items() if _item_of(fn).kind == "step"]


@pytest.mark.parametrize("function,source,label", CORRECT_ANSWERS, ids=[c[2] for c in CORRECT_ANSWERS])
def test_correct_answers_get_full_marks_in_process(function, source, label, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = _as_student(_item_of(function), _define(source, function), tmp_path)
    assert result.score == 1.0 and result.misconception is None, result.message


def test_diagnose_prefers_the_variant_explaining_most_cases():
    a, b = misconceptions.Variant("a", "", None), misconceptions.Variant("b", "", None)
    assert misconceptions.diagnose({"a": (a, 1), "b": (b, 3)}) == (b, 3)
    assert misconceptions.diagnose({"a": (a, 0), "b": (b, 0)}) is None


def test_tolerance_is_relative_to_the_size_of_the_values():
    assert compare.mismatch(np.array([1e4 + 1e-3]), np.array([1e4]), 1e-9, 1e-12) is not None
    assert compare.mismatch(np.array([1e4 * (1 + 1e-12)]), np.array([1e4]), 1e-9, 1e-12) is None
    assert compare.mismatch(np.array([np.nan]), np.array([1.0]), 1e-4, 1e-6) == float("inf")


@pytest.fixture(scope="module")
def mistakes_graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mistakes")
    subs = {}
    for r, mistakes in enumerate(corpus.mistake_rounds()):
        subs[f"round{r}"] = {
            n: corpus.write(corpus.submission(n, {fn: src for fn, (_, src) in mistakes.items()}),
                            tmp / f"round{r}" / f"{n}.ipynb") for n in CONFIG.notebooks}
    return verdict.grade_batch(subs, config=FAST, workers=2)


def test_typical_mistakes_in_student_code_are_named(mistakes_graded):
    for r, mistakes in enumerate(corpus.mistake_rounds()):
        got = {i.item.name: i for i in mistakes_graded[f"round{r}"].items}
        for fn, (name, _) in mistakes.items():
            assert got[fn].score < got[fn].max_score, (fn, name)
            assert got[fn].misconception == name, (fn, name, got[fn].message)
            assert got[fn].first_divergent_step is not None
        for fn, item in got.items():
            if fn not in mistakes:
                assert item.score == item.max_score, (fn, item.message)
