"""Gradescope's results.json, made from the course's one report model (``reports.Report``).

Gradescope's autograder specification (gradescope-autograders.readthedocs.io, "Autograder
Specifications") fixes the file: an optional top-level ``score`` (it overrides the sum of the
tests), ``execution_time``, ``output`` and its format, the default visibility of tests and of the
run's stdout, ``extra_data``, ``tests`` (each with optional ``score``, ``max_score``, ``status``,
``name``, ``number``, ``output``, ``tags``, ``visibility``, ``extra_data`` and formats) and
``leaderboard``. ``SCHEMA`` writes that down as a JSON schema; ``validate`` checks a document
against it before it is written.

What goes where:

- one test per autograded item: the trusted score and the trusted message (first wrong step,
  most likely misconception), with the visibility the instructor chose;
- one test per written answer, with its points and question text and no score: the answers are
  graded by hand in Gradescope's own questions, and a score of 0 here would show as a failed
  test and, summed, as points lost (the top-level ``score`` holds the autograded points only);
- one hidden test for the instructor: flags, tamper suspicion, the grader's notes;
- every text as plain ``text`` (student code can put markup into an error message), and every
  text passed through ``Redactor``: no line of a hidden test, solution or mark scheme region of
  the source notebooks ever reaches results.json or stdout.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from autograder import nbmeta
from autograder.reports import AWAITING, FLAGS, SKIPPED, VERDICT_PREFIX, ItemId, ItemResult, Report

VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")
FORMATS = ("text", "html", "simple_format", "md", "ansi")
DEFAULT_VISIBILITY = "after_due_date"  # like nbgrader feedback: verdicts once the deadline passed
INSTRUCTOR_TEST = "Instructor only: flags and grader notes"

_VISIBILITY = {"type": "string", "enum": list(VISIBILITY)}
_FORMAT = {"type": "string", "enum": list(FORMATS)}
_TEST = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "status": {"type": "string", "enum": ["passed", "failed"]},
        "name": {"type": "string"},
        "name_format": _FORMAT,
        "number": {"type": "string"},
        "output": {"type": "string"},
        "output_format": _FORMAT,
        "tags": {"type": "array", "items": {"type": "string"}},
        "visibility": _VISIBILITY,
        "extra_data": {"type": "object"},
    },
    "additionalProperties": False,  # the specification names every field: a typo is an error
}
# The specification's results.json: "score" is required unless every test has one.
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Gradescope autograder results.json",
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": _FORMAT,
        "test_output_format": _FORMAT,
        "test_name_format": _FORMAT,
        "visibility": _VISIBILITY,
        "stdout_visibility": _VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": _TEST},
        "leaderboard": {"type": "array", "items": {
            "type": "object",
            "properties": {"name": {"type": "string"},
                           "value": {"type": ["number", "string"]},
                           "order": {"type": "string", "enum": ["asc", "desc"]}},
            "required": ["name", "value"],
            "additionalProperties": False}},
    },
    "additionalProperties": False,
    "anyOf": [{"required": ["score"]},
              {"required": ["tests"],
               "properties": {"tests": {"items": {"required": ["score"]}}}}],
}


def validate(doc: Any) -> None:
    """Raise ValueError naming the first place where ``doc`` breaks Gradescope's format."""
    import jsonschema

    try:
        jsonschema.validate(doc, SCHEMA)
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ValueError(f"results.json does not follow Gradescope's specification at {where}: "
                         f"{err.message}") from None


# ---- what must never be shown ---------------------------------------------------------------

SECRET_REGIONS = (nbmeta.HIDDEN_TESTS, "SOLUTION", "MARK SCHEME")
# Shorter lines ("return m", "pass") say nothing about a solution and are common words.
MIN_SECRET_CHARS = 16
WITHHELD = "[withheld]"


def secret_lines(sources: Iterable[NotebookNode], public: Iterable[NotebookNode] = ()) -> list[str]:
    """Lines inside the hidden test, solution and mark scheme regions of the source notebooks,
    except those the released (``public``) notebooks show anyway, longest first."""
    shown = {line.strip() for nb in public for cell in nb.cells
             for line in cell.get("source", "").split("\n")}
    found = set()
    for nb in sources:
        for cell in nb.cells:
            for region in SECRET_REGIONS:
                found |= set(nbmeta.split_region(cell.get("source", ""), region)[1])
    return sorted((s for s in found if len(s) >= MIN_SECRET_CHARS and s not in shown),
                  key=lambda s: (-len(s), s))


@dataclass(frozen=True)
class Redactor:
    """Replaces every secret line inside a text with ``WITHHELD``."""

    lines: tuple[str, ...] = ()

    def __call__(self, text: str) -> str:
        for line in self.lines:
            if line in text:
                text = text.replace(line, WITHHELD)
        return text

    def doc(self, value: Any) -> Any:
        """``value`` (a JSON document) with every string redacted."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list):
            return [self.doc(v) for v in value]
        if isinstance(value, dict):
            return {k: self.doc(v) for k, v in value.items()}
        return value


# ---- written answers ------------------------------------------------------------------------

def question_text(cells: Sequence[NotebookNode], index: int) -> str:
    """The question a written answer at ``cells[index]`` answers: from the last "**Question" in
    the nearest ordinary markdown cell above it (that whole cell when it has none)."""
    for cell in reversed(cells[:index]):
        if cell.cell_type == "markdown" and not nbmeta.nbgrader(cell):
            text = cell.source
            for region in SECRET_REGIONS:  # an ordinary cell holds none; never rely on it
                text = nbmeta.without_region(text, region)
            start = text.rfind("**Question")
            return text[start if start >= 0 else 0:].strip()
    return ""


def written_answers(notebooks: dict[str, NotebookNode]) -> list[ItemResult]:
    """The hand-graded answers of the source notebooks ({notebook stem: node}) as items awaiting
    a manual grade: id ``<notebook>:<grade id>``, max_score its points, message its question."""
    out = []
    for name, nb in notebooks.items():
        for index, cell in enumerate(nb.cells):
            worth = float(nbmeta.nbgrader(cell).get("points") or 0)
            if nbmeta.is_written_answer(cell) and worth > 0:
                out.append(ItemResult(str(ItemId(name, nbmeta.grade_id(cell) or f"cell{index}")),
                                      0.0, worth, decided_by=AWAITING,
                                      message=question_text(nb.cells, index)))
    return out


def read_notebooks(folder: Path, names: Iterable[str]) -> dict[str, NotebookNode]:
    """{stem: node} of the notebooks ``<folder>/<stem>.ipynb`` that exist."""
    out = {}
    for name in names:
        path = Path(folder) / f"{name}.ipynb"
        if path.is_file():
            out[name] = nbformat.read(path, as_version=4)
    return out


# ---- the document ---------------------------------------------------------------------------

def item_output(item: ItemResult) -> str:
    """What a student reads under an autograded test: the trusted score and why."""
    lines = [f"{VERDICT_PREFIX} {item.score:g} / {item.max_score:g} points."]
    if item.message:
        lines.append(item.message)
    if item.misconception and "Most likely" not in item.message:
        lines.append(f"Most likely misconception: {item.misconception}.")
    return "\n".join(lines)


def points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


def written_output(item: ItemResult) -> str:
    return (f"Graded by hand ({points(item.max_score)}) in this assignment's question for "
            f"{item.item.name}; the score appears there, not here.\n\n{item.message}").rstrip()


def instructor_output(report: Report, notes: Sequence[str] = ()) -> str:
    """Flags, their reasons and the grader's notes: for the instructor only."""
    flagged = [name for name in FLAGS if report.flags.get(name)]
    lines = [f"Flags: {', '.join(flagged) if flagged else 'none'}"]
    if report.flags.get("tamper_suspected"):
        lines.append("Tamper suspected: review this submission by hand (the reasons follow).")
    lines += [f"- {note}" for note in [*report.notes, *notes]]
    return "\n".join(lines)


def gradescope(report: Report, notebooks: Sequence[str], *, summary: str,
               visibility: str = DEFAULT_VISIBILITY, seconds: float = 0.0,
               notes: Sequence[str] = (), redact: Redactor = Redactor()) -> dict[str, Any]:
    """results.json for one graded submission: ``report.items`` autograded (the trusted
    verdict), ``report.manual`` the written answers awaiting a manual grade; ``summary`` the
    top-level text students see, ``notes`` more lines for the instructor."""
    if visibility not in VISIBILITY:
        raise ValueError(f"visibility must be one of {VISIBILITY}, got {visibility!r}")
    tests: list[dict[str, Any]] = []
    graded = [i for i in report.items if i.decided_by != SKIPPED]  # an optional notebook left out
    for n, notebook in enumerate(notebooks, 1):
        mine = [i for i in graded if i.item.notebook == notebook]
        written = [i for i in report.manual if i.item.notebook == notebook]
        for k, item in enumerate(mine, 1):
            extra = {"item": item.id, "decided_by": item.decided_by}
            if item.misconception:
                extra["misconception"] = item.misconception
            tests.append({"name": item.id, "number": f"{n}.{k}", "score": item.score,
                          "max_score": item.max_score, "output": item_output(item),
                          "visibility": visibility, "extra_data": extra})
        for k, item in enumerate(written, len(mine) + 1):
            tests.append({"name": f"{item.id} (written answer, {points(item.max_score)}, graded "
                                  "by hand)", "number": f"{n}.{k}", "output": written_output(item),
                          "visibility": "visible",
                          "extra_data": {"item": item.id, "points": item.max_score,
                                         "decided_by": item.decided_by}})
    tests.append({"name": INSTRUCTOR_TEST, "status": "failed" if any(report.flags.values())
                  else "passed", "output": instructor_output(report, notes),
                  "visibility": "hidden"})
    autograded = round(sum(i.score for i in report.items), 6)
    doc = {"score": autograded, "execution_time": round(seconds),
           "output": summary, "output_format": "text", "test_output_format": "text",
           "test_name_format": "text", "stdout_visibility": "hidden",
           "extra_data": {"assignment": report.assignment, "autograded_score": autograded,
                          "autograded_max": sum(i.max_score for i in graded),
                          "awaiting_manual": sum(i.max_score for i in report.manual)},
           "tests": tests}
    return redact.doc(doc)


def failure(reason: str, redact: Redactor = Redactor()) -> dict[str, Any]:
    """results.json when the submission could not be graded at all (the grader's own fault)."""
    return redact.doc({
        "score": 0.0, "output_format": "text", "stdout_visibility": "hidden",
        "output": ("This submission could not be graded: the autograder itself failed. The 0 is "
                   "not your grade; your instructor sees why and will grade it again."),
        "tests": [{"name": INSTRUCTOR_TEST, "status": "failed", "visibility": "hidden",
                   "output": f"The autograder failed: {reason}"}]})


def question_rows(items: Iterable[ItemResult], optional: Sequence[str] = ()) -> list[dict[str, str]]:
    """One row per written answer (for the instructor's Gradescope outline): item, notebook,
    points, whether it belongs to an optional notebook (``optional``: its points are a bonus),
    question text. No mark scheme and no model answer."""
    return [{"item": i.id, "notebook": i.item.notebook, "answer": i.item.name,
             "points": f"{i.max_score:g}", "optional": "yes" if i.item.notebook in optional else "no",
             "question": i.message} for i in items]
