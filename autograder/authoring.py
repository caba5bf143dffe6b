"""Build an nbgrader source notebook from Python, with the course's cell conventions built in.

How to author a notebook (one short script per notebook; see autograder/sources/ for examples)::

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
            from autograder.reference import RULES   # only inside hidden tests
            ...
            ### END HIDDEN TESTS
        '''),
        markdown("**Question 1.** Derive M_t ..."),
        answer("derive_mt", 3, "model answer in markdown and $\\LaTeX$"),
        mark_scheme("derive_mt", "- 1 pt: ...\\n- 2 pt: ..."),
        code("plots, experiments: ordinary cells students can run and edit"),
    ]
    build(cells, "02_adaptive_preconditioning")   # writes solutions/<assignment>/<stem>.ipynb

Then ``python -m autograder.notebooks`` regenerates the student versions in notebooks/.

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
  its source by a comment instead of running it (``autograder.experiments.SkipExperiments``);
  students run it as usual. Tag only cells that no graded function or test cell depends on:
  ``grade`` of the solutions must still give full marks with no flags.

``build`` validates the notebook with nbgrader's own metadata validator and ``check`` (also used
by tests/notebooks) before writing it; it raises ValueError listing every problem found.
"""
import ast
import textwrap
from pathlib import Path

import nbformat
from nbgrader.nbgraderformat import MetadataValidator

from course_config import CONFIG, ROOT

SOLUTIONS = ROOT / "solutions" / CONFIG.assignment
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
SETUP_ID = "setup"
SETUP_PREAMBLE = f"""\
import random
import warnings

import numpy as np
import torch

# nbgrader gives 0 points to a test cell that writes to stderr: silence warnings up front.
warnings.filterwarnings("ignore")
SEED = {CONFIG.seed}
random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)
# Adam-like updates on tiny values hit denormal floats, which are very slow on CPU.
torch.set_flush_denormal(True)
# The course's models are tiny: one thread is fastest and never stalls on shared cores.
torch.set_num_threads(1)
"""


def _src(text):
    return textwrap.dedent(text).strip("\n")


def _meta(grade_id, *, grade=False, solution=False, locked=False, task=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": task}
    if points is not None:
        meta["points"] = float(points)
    return {"nbgrader": meta}


def markdown(text, locked_id=None):
    """A markdown cell; read-only (locked) when ``locked_id`` is given."""
    meta = _meta(locked_id, locked=True) if locked_id else {}
    return nbformat.v4.new_markdown_cell(_src(text), metadata=meta)


EXPERIMENT_KEY = "course"  # cell metadata {"course": {"experiment": true}}


def code(source, locked_id=None, experiment=False):
    """An ordinary code cell students may run and edit; read-only when ``locked_id`` is given.

    ``experiment=True`` marks a demonstration (training run, sweep, heatmap, plot, long loop):
    it earns no points, so ``grade`` does not run it (see ``is_experiment``). Never tag a cell
    that a graded function or a test cell needs (a definition, a variable they use).
    """
    meta = _meta(locked_id, locked=True) if locked_id else {}
    if experiment:
        meta[EXPERIMENT_KEY] = {"experiment": True}
    return nbformat.v4.new_code_cell(_src(source), metadata=meta)


def is_experiment(cell):
    """True for a code cell tagged ``experiment`` that is no nbgrader answer, test or locked cell
    (a tag a student adds to one of those is ignored: only demonstrations can be skipped)."""
    meta = cell.get("metadata", {})
    tagged = bool(meta.get(EXPERIMENT_KEY, {}).get("experiment"))
    nb_meta = nbgrader_meta(cell)
    graded = nb_meta.get("grade") or nb_meta.get("solution") or nb_meta.get("task") \
        or nb_meta.get("locked")
    return cell.get("cell_type") == "code" and tagged and not graded


def setup(source=""):
    """The locked first code cell: standard imports, seeds, warnings filter, then ``source``."""
    body = SETUP_PREAMBLE + ("\n" + _src(source) if source.strip() else "")
    return nbformat.v4.new_code_cell(body.strip("\n"), metadata=_meta(SETUP_ID, locked=True))


def solution(source, grade_id=None):
    """An autograded answer cell; ``source`` must contain a BEGIN/END SOLUTION region."""
    source = _src(source)
    if "### BEGIN SOLUTION" not in source or "### END SOLUTION" not in source:
        raise ValueError("solution: source must contain '### BEGIN SOLUTION' and '### END SOLUTION'")
    grade_id = grade_id or _first_def(source)
    return nbformat.v4.new_code_cell(source, metadata=_meta(grade_id, solution=True))


def tests(notebook, function, source):
    """The locked autograded test cell of ``<notebook>:<function>`` with its configured points."""
    key = f"{notebook}:{function}"
    if key not in CONFIG.points:
        raise KeyError(f"tests: {key!r} is not a graded item in course_config.CONFIG.points")
    meta = _meta(f"test_{function}", grade=True, locked=True, points=CONFIG.points[key])
    return nbformat.v4.new_code_cell(_src(source), metadata=meta)


def answer(grade_id, points, model_answer):
    """A manually graded markdown answer cell; the model answer is hidden from students."""
    text = f"### BEGIN SOLUTION\n{_src(model_answer)}\n### END SOLUTION"
    meta = _meta(grade_id, grade=True, solution=True, points=points)
    return nbformat.v4.new_markdown_cell(text, metadata=meta)


def mark_scheme(answer_id, scheme):
    """The mark scheme of answer ``answer_id``: a locked 0-point task cell, hidden from students."""
    text = (f"*Answer `{answer_id}` is graded by hand.*\n"
            f"### BEGIN MARK SCHEME\n**Mark scheme.**\n\n{_src(scheme)}\n### END MARK SCHEME")
    meta = _meta(f"{answer_id}_mark_scheme", locked=True, task=True, points=0)
    return nbformat.v4.new_markdown_cell(text, metadata=meta)


def _first_def(source):
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            return node.name
    raise ValueError("solution: give grade_id= (the cell defines no function)")


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def test_cells(nb):
    """The autograded test cells of a notebook, as {grade_id: cell}."""
    return {nbgrader_meta(c)["grade_id"]: c for c in nb.cells
            if c.cell_type == "code" and nbgrader_meta(c).get("grade")}


def ends_in_expression(source):
    """True when a cell's last statement is an expression whose value Jupyter would display."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    if not body or not isinstance(body[-1], ast.Expr):
        return False
    value = body[-1].value
    # print(...) and the course's check_*(...) helpers return None: no value is displayed.
    name = getattr(value.func, "id", "") if isinstance(value, ast.Call) else ""
    return not (name == "print" or name.startswith("check_"))


def check(nb, notebook):
    """Problems with a source notebook's course conventions, as a list of messages (empty = ok)."""
    problems = []
    try:
        MetadataValidator().validate_nb(nb)
    except Exception as err:  # nbgrader raises its own ValidationError
        problems.append(f"nbgrader metadata: {err}")
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    first = code_cells[0] if code_cells else None
    if first is None or not nbgrader_meta(first).get("locked") \
            or 'warnings.filterwarnings("ignore")' not in first.source:
        problems.append("the first code cell must be the locked setup cell that filters warnings")
    expected = {f"test_{k.partition(':')[2]}": v for k, v in CONFIG.points.items()
                if k.partition(":")[0] == notebook}
    found = {gid: nbgrader_meta(c)["points"] for gid, c in test_cells(nb).items()}
    if found != expected:
        problems.append(f"test cells {found} differ from CONFIG.points {expected}")
    for gid, cell in test_cells(nb).items():
        if ends_in_expression(cell.source) or ends_in_expression(_strip_region(cell.source, "HIDDEN TESTS")):
            problems.append(f"{gid} ends in an expression (nbgrader would read it as partial credit)")
        visible = _strip_region(cell.source, "HIDDEN TESTS")
        if "autograder" in visible:
            problems.append(f"{gid} uses autograder outside its hidden-tests region")
    for i, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution"):
            nxt = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
            if nxt is None or not nbgrader_meta(nxt).get("task") or "MARK SCHEME" not in nxt.source:
                problems.append(f"answer {meta['grade_id']} is not followed by its mark scheme")
        elif cell.cell_type == "code" and not meta.get("solution") and "autograder" in cell.source \
                and not meta.get("grade"):
            problems.append(f"cell {i} imports autograder, which students do not have")
    return problems


def _strip_region(source, name):
    keep, inside = [], False
    for line in source.splitlines():
        if f"BEGIN {name}" in line:
            inside = True
        elif f"END {name}" in line:
            inside = False
        elif not inside:
            keep.append(line)
    return "\n".join(keep)


def build(cells, notebook, directory=None):
    """Assemble ``cells`` into ``<directory>/<notebook>.ipynb`` after checking the conventions."""
    nb = nbformat.v4.new_notebook(cells=list(cells))
    for i, cell in enumerate(nb.cells):  # stable ids: rebuilding gives a small diff
        cell.id = nbgrader_meta(cell).get("grade_id") or f"cell-{i:02d}"
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    problems = check(nb, notebook)
    if problems:
        raise ValueError(f"{notebook}: " + "; ".join(problems))
    path = Path(directory or SOLUTIONS) / f"{notebook}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
