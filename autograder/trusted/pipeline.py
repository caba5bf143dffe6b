"""``grade_submission``: the trusted verdict of one submission, as a readable sequence of steps.

    extract -> tamper scan -> run (isolated worker) -> compare -> diagnose -> score

A fault in one item (timeout, crash, memory, bad reply) costs that item its points, with a
message; the worker is restarted for the items still to grade, and nothing raises for what
student code does. Flags come from structured parts of the replies (exception types, blocked
calls, how the process ended), never from searching message text.

    trusted_verdict(notebook_path, notebook_name)        -> [ItemResult]
    grade_submission({notebook_name: path}, student=...) -> Verdict
    grade_batch({student: {notebook_name: path}})        -> {student: Verdict}
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograder.course import Course
from autograder.reports import ItemResult, Verdict
from autograder.trusted import driver, extract, misconceptions, policy, protocol, scoring, tamper
from autograder.trusted.extract import Cell
from autograder.trusted.items import graded_items
from course_config import CONFIG, ROOT, CourseConfig
from wdlab.device import resolve_device


def trusted_device(config: CourseConfig) -> str:
    """"cpu" or "cuda": where the student's functions run while graded (the course's device
    policy; "cuda" without a GPU is a ValueError before anything is graded)."""
    return resolve_device(config.device).type


def trusted_verdict(notebook_path: Path, notebook_name: str, config: CourseConfig = CONFIG
                    ) -> list[ItemResult]:
    """The trusted verdict of every graded item of one notebook."""
    return grade_submission({notebook_name: notebook_path}, config=config).items


def grade_batch(submissions: dict[str, dict[str, Path]], config: CourseConfig = CONFIG,
                workers: int | None = None, mode: str = "auto",
                on_done: Callable[[str, Verdict], None] | None = None) -> dict[str, Verdict]:
    """{student: {notebook: path}} -> {student: Verdict}, several workers at once.

    on_done(student, verdict) is called as each submission finishes (for a progress bar).
    """
    workers = workers or config.workers or os.cpu_count() or 1
    trusted_device(config)  # a bad device policy fails here, before any grading

    def one(student: str) -> tuple[str, Verdict]:
        verdict = grade_submission(submissions[student], config, student=student, mode=mode)
        if on_done:
            on_done(student, verdict)
        return student, verdict
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, list(submissions)))


def grade_submission(notebooks: dict[str, Path], config: CourseConfig = CONFIG,
                     student: str | None = None, mode: str = "auto",
                     root: Path | None = None) -> Verdict:
    """Grade one student's notebooks ({notebook name: path}) in one sandboxed worker."""
    start = time.monotonic()
    unknown = [nb for nb in notebooks if nb not in config.notebooks]
    if unknown:
        raise ValueError(f"notebook_name must be one of {config.notebooks}, got {unknown}")
    device = trusted_device(config)
    table = [(item, pts) for item, pts in graded_items(config) if item.notebook in notebooks]
    verdict = Verdict(student)
    plans = []
    outcomes: dict[str, driver.Outcome] = {}
    for name, path in notebooks.items():
        cells = extract_cells(name, Path(path), verdict,
                              [i.function for i, _ in table if i.notebook == name])
        if cells is None:
            continue
        items = [i for i, _ in table if i.notebook == name]
        refused = apply_policy(name, cells, items, verdict)
        outcomes |= refused
        plans.append(driver.Plan(name, cells, [i for i in items if i.id not in refused]))
    if any(plan.items for plan in plans):
        visible = Course(config, root or ROOT).student_code()
        outcomes |= driver.run_items(plans, config, verdict, mode, visible, device)
    for item, pts in table:
        result = scoring.score_item(item, pts, outcomes.get(item.id), config, device)
        if verdict.flags["forbidden_call"] and str(outcomes.get(item.id, "")).startswith(REFUSED):
            result.misconception = misconceptions.DELEGATION.name
        verdict.items.append(result)
        flag_from_reply(verdict, item.id, outcomes.get(item.id))
        if result.misconception == misconceptions.DELEGATION.name:
            verdict.messages.append(f"{item.id}: {misconceptions.DELEGATION.message}")
    verdict.seconds = time.monotonic() - start
    return verdict


REFUSED = "Not run: the function reaches torch.optim's update code"


def apply_policy(notebook: str, cells: list[Cell], items: list, verdict: Verdict
                 ) -> dict[str, str]:
    """The course's rule on library code (``policy``): {item id: why it scores 0} for graded
    functions that reach torch.optim; flags the submission."""
    findings = policy.scan([c.source for c in cells], [i.function for i in items])
    for reason in findings.copied:
        verdict.flag("copied_library_code", f"{notebook}: {reason}")
    refused = {}
    for item in items:
        reasons = findings.forbidden.get(item.function)
        if reasons:
            refused[item.id] = f"{REFUSED} ({'; '.join(reasons[:3])})"
            verdict.flag("forbidden_call", f"{item.id}: {'; '.join(reasons[:3])}")
    return refused


def flag_from_reply(verdict: Verdict, item_id: str, outcome: driver.Outcome | None) -> None:
    """Flags from the structured reply: the exception types the student's code raised."""
    if not isinstance(outcome, tuple):
        return
    meta = outcome[0]
    cases = meta.get("cases") if isinstance(meta.get("cases"), list) else []
    for error_type in [meta.get("error_type"), *(c.get("error_type") for c in cases
                                                  if isinstance(c, dict))]:
        flag = protocol.error_flag(error_type)
        if flag == "memory":
            verdict.flag("memory", f"{item_id}: ran out of memory")
        elif flag == "crashed":
            verdict.flag("crashed", f"{item_id}: the code tried to end the process")


def reconcile(verdict: Verdict, in_kernel_scores: dict[str, float]) -> list[str]:
    """Compare nbgrader's in-kernel scores with the trusted ones; the trusted score counts.

    Records each item's in-kernel score and returns one note per difference. Only an in-kernel
    score above the trusted one is flagged (``in_kernel_disagrees`` and ``tamper_suspected``):
    an ordinary mistake -- the notebook's own check gave 0, the trusted grader partial credit --
    stays a note, so the flags keep meaning something.
    """
    notes = []
    for item in verdict.items:
        got = in_kernel_scores.get(item.id)
        item.in_kernel_score = got
        if got is None or abs(got - item.score) <= 1e-9:
            continue
        note = (f"{item.id}: the notebook's own tests gave {got:g}/{item.max_score:g}, "
                f"the trusted grader {item.score:g} (the trusted score counts)")
        notes.append(note)
        if got > item.score:
            verdict.flag("in_kernel_disagrees", note)
            verdict.flag("tamper_suspected", note)
    return notes


# grade_batch grades submissions on threads; CPython 3.11 tracks the AST's recursion depth per
# interpreter, not per thread, so concurrent ast.parse can fail with a spurious SystemError
# ("AST constructor recursion depth mismatch"). Parsing takes milliseconds: do it one at a time.
_PARSE_LOCK = threading.Lock()


def extract_cells(name: str, path: Path, verdict: Verdict, functions: list[str]
                  ) -> list[Cell] | None:
    """The notebook's sanitized code cells (tamper signs flagged on the way), or None."""
    try:
        nb = extract.load_notebook(path)
    except extract.SubmissionError as exc:
        verdict.flag("unreadable", f"{name}: {exc}")
        verdict.messages.append(f"{name}: {exc}; its items get 0 points")
        return None
    try:
        with _PARSE_LOCK:
            for reason in tamper.tamper_reasons(nb, path):
                verdict.flag("tamper_suspected", f"{name}: {reason}")
            return extract.student_cells(nb, keep_names=functions)
    except (SyntaxError, ValueError, TypeError, AttributeError, RecursionError, SystemError) as exc:
        # a notebook nbformat accepted but whose cells make no sense
        verdict.flag("unreadable", f"{name}: its code cells cannot be read ({type(exc).__name__})")
        return None
