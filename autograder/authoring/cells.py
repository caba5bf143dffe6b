"""Build an nbgrader source notebook from Python, with the course's cell conventions built in.

Notebooks are written in percent format, one file per notebook in autograder/authoring/sources/
(``# %% solution``, ``# %% tests <function>``, ... blocks; see autograder.authoring.percent), and
``python -m autograder.authoring.percent`` builds them with these helpers. The same cells in
Python::

    from autograder.authoring import (answer, build, code, markdown, mark_scheme, setup,
                                      solution, tests)

    cells = [
        markdown("# 02 - Adaptive methods as preconditioned descent"),
        setup('''
            import torch
            import wdlab
        '''),                                       # locked; adds warnings filter + seed
        solution('''
            def rmsprop_step(theta, grad, state, t, lr, beta2=0.999, eps=1e-8, eta=1.0):
                ### BEGIN SOLUTION
                ...
                ### END SOLUTION
        '''),
        tests("02_adaptive_preconditioning", "rmsprop_step", '''
            assert ...                               # visible checks first
            ### BEGIN HIDDEN TESTS
            from autograder.reference.checks import check_rule   # only inside hidden tests
            ...
            ### END HIDDEN TESTS
        '''),
        markdown("**Question 1.** Derive M_t ..."),
        answer("derive_mt", 3, "model answer in markdown and $\\LaTeX$"),
        mark_scheme("derive_mt", "- 1 pt: ...\\n- 2 pt: ..."),
        code("plots, experiments: ordinary cells students can run and edit"),
    ]
    build(cells, "02_adaptive_preconditioning")   # writes solutions/<assignment>/<stem>.ipynb

Then ``python -m autograder.authoring.regenerate`` regenerates the student versions in notebooks/.

What each helper guarantees (nbgrader schema 3 metadata):
- ``setup``: the first code cell, locked (read-only); it imports, seeds torch/numpy/random with
  CONFIG.seed and runs ``warnings.filterwarnings("ignore")``, because nbgrader gives 0 points to
  a test cell that writes anything to stderr (a torch warning is enough).
- ``solution``: an autograded answer cell; the ``### BEGIN/END SOLUTION`` region becomes
  ``raise NotImplementedError(...)`` in the student version.
- ``tests``: an autograded test cell, locked, ``grade_id = "test_<function>"``, points from
  ``CONFIG.points["<notebook>:<function>"]`` (a KeyError if the item is not in the config).
  Rules: visible asserts first; ``### BEGIN/END HIDDEN TESTS`` for everything that imports
  ``autograder``; never end the cell in an expression (nbgrader reads its value as partial
  credit), neither with nor without the hidden tests -- ``build`` refuses such a cell
  (``print(...)`` and ``check_*(...)`` helpers, which return None, may end it).
- ``answer``: a manually graded markdown answer with points; the whole model answer is a
  solution region, so students see "YOUR ANSWER HERE".
- ``mark_scheme``: a locked markdown *task* cell (0 points) right after the answer; its
  ``### BEGIN/END MARK SCHEME`` region is removed from the student version but stays in the
  gradebook, so the formgrader shows it next to the student's answer. nbgrader only strips
  mark schemes from task cells, which is why it is one.
- ``markdown`` / ``code``: ordinary cells (no metadata); ``markdown(..., locked_id=...)`` and
  ``code(..., locked_id=...)`` make a read-only cell.
- ``code(..., experiment=True)``: a demonstration cell (training run, sweep, heatmap, plot, long
  loop), metadata ``{"course": {"experiment": true}}``. It earns no points, so ``grade`` replaces
  its source by a comment instead of running it (``autograder.nbgrader_glue.preprocessors.SkipExperiments``);
  students run it as usual. Tag only cells that no graded function or test cell depends on:
  ``grade`` of the solutions must still give full marks with no flags.

``conventions.build`` validates the notebook with nbgrader's own metadata validator and
``conventions.check`` (also used by tests/notebooks) before writing it; it raises ValueError
listing every problem found.
"""
from __future__ import annotations

import ast
import textwrap

import nbformat
from nbformat import NotebookNode

import course_config
from autograder.nbmeta import EXPERIMENT_KEY
from autograder.reports import ItemId

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
SETUP_ID = "setup"
SETUP_PREAMBLE = """\
import random
import warnings

import numpy as np
import torch

# nbgrader gives 0 points to a test cell that writes to stderr: silence warnings up front.
warnings.filterwarnings("ignore")
SEED = {seed}
random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)
# Adam-like updates on tiny values hit denormal floats, which are very slow on CPU.
torch.set_flush_denormal(True)
# The course's models are tiny: one thread is fastest and never stalls on shared cores.
torch.set_num_threads(1)
"""


def _src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def _meta(grade_id: str | None, *, grade: bool = False, solution: bool = False,
          locked: bool = False, task: bool = False, points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": task}
    if points is not None:
        meta["points"] = float(points)
    return {"nbgrader": meta}


def markdown(text: str, locked_id: str | None = None) -> NotebookNode:
    """A markdown cell; read-only (locked) when ``locked_id`` is given."""
    meta = _meta(locked_id, locked=True) if locked_id else {}
    return nbformat.v4.new_markdown_cell(_src(text), metadata=meta)


def code(source: str, locked_id: str | None = None, experiment: bool = False) -> NotebookNode:
    """An ordinary code cell students may run and edit; read-only when ``locked_id`` is given.

    ``experiment=True`` marks a demonstration (training run, sweep, heatmap, plot, long loop):
    it earns no points, so ``grade`` does not run it (``nbmeta.is_experiment``). Never tag a cell
    that a graded function or a test cell needs (a definition, a variable they use).
    """
    meta = _meta(locked_id, locked=True) if locked_id else {}
    if experiment:
        meta[EXPERIMENT_KEY] = {"experiment": True}
    return nbformat.v4.new_code_cell(_src(source), metadata=meta)


def setup(source: str = "", seed: int | None = None) -> NotebookNode:
    """The locked first code cell: standard imports, seeds (default: the course seed), warnings
    filter, then ``source``."""
    seed = course_config.CONFIG.seed if seed is None else seed
    body = SETUP_PREAMBLE.format(seed=seed) + ("\n" + _src(source) if source.strip() else "")
    return nbformat.v4.new_code_cell(body.strip("\n"), metadata=_meta(SETUP_ID, locked=True))


def solution(source: str, grade_id: str | None = None) -> NotebookNode:
    """An autograded answer cell; ``source`` must contain a BEGIN/END SOLUTION region."""
    source = _src(source)
    if "### BEGIN SOLUTION" not in source or "### END SOLUTION" not in source:
        raise ValueError("solution: source must contain '### BEGIN SOLUTION' and '### END SOLUTION'")
    grade_id = grade_id or _first_def(source)
    return nbformat.v4.new_code_cell(source, metadata=_meta(grade_id, solution=True))


def tests(notebook: str, function: str, source: str,
          points: dict[str, float] | None = None) -> NotebookNode:
    """The locked autograded test cell of ``<notebook>:<function>`` with its points (from
    ``points``, default the course's)."""
    item = ItemId(notebook, function)
    points = course_config.CONFIG.points if points is None else points
    if str(item) not in points:
        raise KeyError(f"tests: {str(item)!r} is not a graded item in course_config.CONFIG.points")
    meta = _meta(item.grade_id, grade=True, locked=True, points=points[str(item)])
    return nbformat.v4.new_code_cell(_src(source), metadata=meta)


def answer(grade_id: str, points: float, model_answer: str) -> NotebookNode:
    """A manually graded markdown answer cell; the model answer is hidden from students."""
    text = f"### BEGIN SOLUTION\n{_src(model_answer)}\n### END SOLUTION"
    meta = _meta(grade_id, grade=True, solution=True, points=points)
    return nbformat.v4.new_markdown_cell(text, metadata=meta)


def mark_scheme(answer_id: str, scheme: str) -> NotebookNode:
    """The mark scheme of answer ``answer_id``: a locked 0-point task cell, hidden from students."""
    text = (f"*Answer `{answer_id}` is graded by hand.*\n"
            f"### BEGIN MARK SCHEME\n**Mark scheme.**\n\n{_src(scheme)}\n### END MARK SCHEME")
    meta = _meta(f"{answer_id}_mark_scheme", locked=True, task=True, points=0)
    return nbformat.v4.new_markdown_cell(text, metadata=meta)


def _first_def(source: str) -> str:
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            return node.name
    raise ValueError("solution: give grade_id= (the cell defines no function)")
