"""ONE module that reads notebook cells the way the course marks them.

nbgrader's metadata (``cell.metadata.nbgrader``: grade, solution, locked, task, grade_id,
points), the course's own tag for demonstration cells (``cell.metadata.course.experiment``),
and the text regions nbgrader strips (``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``).
Authoring, the trusted grader, the nbgrader plug-ins and the tools all use these helpers; it
imports nothing but nbformat, so any of them may.
"""
from __future__ import annotations

from typing import Any

import nbformat
from nbformat import NotebookNode

EXPERIMENT_KEY = "course"  # cell metadata {"course": {"experiment": true}}
HIDDEN_TESTS = "HIDDEN TESTS"


def nbgrader(cell: Any) -> dict[str, Any]:
    """The cell's nbgrader metadata ({} for an ordinary cell)."""
    meta = cell.get("metadata", {}) if hasattr(cell, "get") else {}
    value = meta.get("nbgrader", {}) if hasattr(meta, "get") else {}
    return value if isinstance(value, dict) else {}


def grade_id(cell: Any) -> str | None:
    return nbgrader(cell).get("grade_id")


def is_solution(cell: Any) -> bool:
    return bool(nbgrader(cell).get("solution"))


def is_test_cell(cell: Any) -> bool:
    """An autograder test cell: a graded code cell that is not an answer (never student code)."""
    meta = nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_written_answer(cell: Any) -> bool:
    meta = nbgrader(cell)
    return cell.get("cell_type") == "markdown" and bool(meta.get("grade")) and bool(meta.get("solution"))


def test_cells(nb: NotebookNode) -> dict[str, NotebookNode]:
    """The autograded test cells of a notebook, as {grade_id: cell}."""
    return {grade_id(c): c for c in nb.cells if c.cell_type == "code" and nbgrader(c).get("grade")}


def is_experiment(cell: Any) -> bool:
    """True for a code cell tagged ``experiment`` that is no nbgrader answer, test or locked cell
    (a tag a student adds to one of those is ignored: only demonstrations can be skipped)."""
    meta = cell.get("metadata", {})
    tagged = bool(meta.get(EXPERIMENT_KEY, {}).get("experiment"))
    nb_meta = nbgrader(cell)
    graded = nb_meta.get("grade") or nb_meta.get("solution") or nb_meta.get("task") \
        or nb_meta.get("locked")
    return cell.get("cell_type") == "code" and tagged and not graded


def split_region(source: str, name: str = HIDDEN_TESTS) -> tuple[str, list[str]]:
    """(``source`` without its ``BEGIN name`` .. ``END name`` regions, the non-blank lines
    inside them, stripped)."""
    keep, inside_lines, inside = [], [], False
    for line in source.split("\n"):
        if f"BEGIN {name}" in line:
            inside = True
        elif f"END {name}" in line:
            inside = False
        elif inside:
            inside_lines.append(line)
        else:
            keep.append(line)
    return "\n".join(keep), [h.strip() for h in inside_lines if h.strip()]


def without_region(source: str, name: str = HIDDEN_TESTS) -> str:
    return split_region(source, name)[0]


def with_solutions(released: NotebookNode, source: NotebookNode) -> NotebookNode:
    """The released notebook with each solution cell's source put back from the source notebook:
    exactly what a student who solved everything would hand in."""
    solved = nbformat.from_dict(released)
    answers = {grade_id(c): c.source for c in source.cells if is_solution(c)}
    for cell in solved.cells:
        if is_solution(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return solved


def untouched(submitted: NotebookNode, released: NotebookNode) -> bool:
    """True when every answer cell (solution code and written answers) of ``submitted`` still
    holds the released text: the student handed the notebook back without attempting it."""
    blank = {grade_id(c): c.source.strip() for c in released.cells if is_solution(c)}
    answers = {grade_id(c): c.source.strip() for c in submitted.cells if is_solution(c)}
    return bool(blank) and answers == blank
