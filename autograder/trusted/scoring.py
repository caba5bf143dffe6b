"""Score: one item's points and message from the worker's outcome, the compare step's case
results and the misconception matcher."""
from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from autograder.reports import ItemResult
from autograder.trusted import compare, misconceptions
from autograder.trusted.driver import Outcome
from autograder.trusted.items import Item
from course_config import CourseConfig


def score_item(item: Item, points: float, outcome: Outcome | None, config: CourseConfig,
               device: str = "cpu") -> ItemResult:
    """The item's result; a reply of the wrong shape is that item's 0, never a lost batch."""
    try:
        return _score(item, points, outcome, config, device)
    except (*compare.REPLY_ERRORS, AttributeError) as exc:
        return ItemResult(item.id, 0.0, points,
                          message=f"malformed reply from the worker ({type(exc).__name__})")


def _score(item: Item, points: float, outcome: Outcome | None, config: CourseConfig,
           device: str) -> ItemResult:
    result = ItemResult(item.id, 0.0, points)
    if outcome is None:
        result.message = "not graded: the notebook could not be read or run"
        return result
    if isinstance(outcome, str):
        result.message = outcome
        return result
    meta, arrays, cases = outcome
    result.cases_total = len(cases)
    if meta.get("error") and not meta.get("cases"):
        result.message = _missing_message(item, meta["error"], meta)
        return result
    if not isinstance(meta.get("cases"), list) or len(meta["cases"]) != len(cases):
        result.message = "malformed reply from the worker"
        return result
    checked = []
    for i, (case, case_meta) in enumerate(zip(cases, meta["cases"])):
        try:
            checked.append(compare.check_case(item, case, case_meta, arrays, i, config, device))
        except compare.REPLY_ERRORS as exc:
            # a reply that does not fit the case is the student's 0
            checked.append(compare.CaseResult(case.name, False, f"unusable result ({exc})", 1))
    return summarize(result, item, points, checked)


def summarize(result: ItemResult, item: Item, points: float,
              checked: list[compare.CaseResult]) -> ItemResult:
    passed = sum(c.passed for c in checked)
    result.cases_passed = passed
    result.score = round(points * passed / len(checked), 4) if checked else 0.0
    failing = [c for c in checked if not c.passed]
    if not failing:
        result.message = f"correct on all {len(checked)} cases"
        return result
    first = failing[0]
    result.first_divergent_step = first.step
    parts = [f"{passed} of {len(checked)} cases correct. First problem, case '{first.name}': "
             f"{first.message}."]
    found = next((c.misconception for c in failing if c.misconception), None)
    if found:
        result.misconception = found.name
        parts.append(f"Most likely: {found.message}.")
    else:
        best = misconceptions.diagnose(compare.explain(item, failing))
        if best:
            variant, count = best
            result.misconception = variant.name
            parts.append(f"Most likely: {variant.message} (matches {count} of {len(failing)} "
                         "failing cases).")
    result.message = " ".join(parts)
    return result


def _missing_message(item: Item, error: str, meta: dict[str, Any]) -> str:
    close = get_close_matches(item.function, meta.get("defined", []), n=2, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"{error}{hint}"
