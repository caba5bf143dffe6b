"""Typical mistakes made one at a time in an otherwise correct notebook, and what the visible
checks say about them.

``variant(stem, function, source)`` is the solution notebook ``stem`` with every graded function
written independently (the standalone ``CORRECT`` answers of autograder/tools/submissions.py) and
``function`` replaced by ``source``; other definitions in the same cell (helpers such as
``outer_history``) stay. Experiment cells are dropped, as when grading, and the test cells lose
their hidden tests, as in the students' notebooks. ``run(stem, variants)``
executes several such notebooks one after the other in one real kernel and returns, per variant,
the outcome of every graded test cell: passed, or the exception and its message, with anything
written to stderr.
"""
from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass

import nbformat
from nbclient import NotebookClient

from autograder import nbmeta
from autograder.tools.submissions import CORRECT, FUNCTIONS, MISTAKES
from course_config import CONFIG

from .conftest import solution_path

# A mistake the grader's table has no row for: the moments are updated in the state dict the
# caller passed in. Every number it returns is right.
STATE_IN_PLACE = ("adam_step", "state_changed_in_place", textwrap.dedent("""\
    def adam_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
        m = state["m"].mul_(beta1).add_((1 - beta1) * grad)
        v = state["v"].mul_(beta2).add_((1 - beta2) * grad * grad)
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        return theta - eta * lr * m_hat / (v_hat.sqrt() + eps), {"m": m, "v": v}
"""))

# Every typical mistake, as (function, name, source).
ALL = [*MISTAKES, STATE_IN_PLACE]
# The five shown in the notebooks' documentation of the visible checks (all in notebook 03).
FIVE = [("adam_step", "eps_inside_sqrt"), ("adam_step", "no_bias_correction"),
        ("adamw_step", "decay_times_lr"), ("adam_l2_step", "decay_in_adam_l2"),
        ("adam_step", "state_changed_in_place")]


@dataclass
class Outcome:
    """One graded test cell after a run: ``error`` is "" when it passed, else "<Type>: <message>"."""
    error: str
    stderr: str

    @property
    def passed(self) -> bool:
        return not self.error and not self.stderr


def notebook_of(function: str) -> str:
    """The notebook whose graded function ``function`` is."""
    return next(stem for stem, fns in FUNCTIONS.items() if function in fns)


def mistake(function: str, name: str) -> str:
    """The source of mistake ``name`` of ``function``."""
    for fn, label, source in ALL:
        if (fn, label) == (function, name):
            return source
    raise KeyError(f"no mistake {function}:{name}")


def replace_definition(source: str, function: str, new: str) -> str:
    """``source`` with the top-level ``def function`` replaced by ``new`` (appended if absent)."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            lines = source.splitlines()
            first = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            return "\n".join(lines[:first] + new.rstrip("\n").splitlines() + lines[node.end_lineno:])
    return source.rstrip("\n") + "\n\n" + new


def variant(stem: str, function: str | None = None, source: str | None = None) -> nbformat.NotebookNode:
    """Solution notebook ``stem``: graded functions from CORRECT, ``function`` from ``source``,
    only the code cells that grading runs (no experiments, no markdown)."""
    nb = nbformat.read(solution_path(stem), as_version=4)
    answers = {fn: CORRECT[fn] for fn in FUNCTIONS[stem]}
    if function is not None:
        answers[function] = source
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code" or nbmeta.is_experiment(cell):
            continue
        if nbmeta.is_solution(cell):
            for fn, new in answers.items():
                if f"def {fn}(" in cell.source:
                    cell.source = replace_definition(cell.source, fn, new)
        if nbmeta.is_test_cell(cell):  # what students run: the visible checks, no hidden tests
            cell.source = nbmeta.without_region(cell.source)
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)


def run(stem: str, variants: dict[str, nbformat.NotebookNode]) -> dict[str, dict[str, Outcome]]:
    """Execute ``variants`` (label -> notebook of ``stem``) one after the other in one kernel;
    returns {label: {grade_id of a test cell: Outcome}}."""
    cells, owner = [], []
    for label, nb in variants.items():
        for cell in nb.cells:
            cells.append(nbformat.v4.new_code_cell(cell.source, metadata=cell.metadata))
            owner.append(label)
    combined = nbformat.v4.new_notebook(cells=cells)
    client = NotebookClient(combined, timeout=CONFIG.cell_timeout_s, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(solution_path(stem).parent)}})
    client.execute()
    out: dict[str, dict[str, Outcome]] = {label: {} for label in variants}
    for label, cell in zip(owner, combined.cells):
        if not (nbmeta.nbgrader(cell).get("grade") and cell.cell_type == "code"):
            continue
        errors = [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
        stderr = "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr")
        out[label][nbmeta.grade_id(cell)] = Outcome(errors[0] if errors else "", stderr)
    return out
