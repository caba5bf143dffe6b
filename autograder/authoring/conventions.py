"""The course's conventions for source notebooks: ``check`` lists what breaks them, ``build``
writes a notebook only when nothing does."""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat
from nbformat import NotebookNode

import course_config
from autograder import nbmeta
from autograder.authoring.cells import KERNELSPEC
from autograder.reports import ItemId, items_of


def ends_in_expression(source: str) -> bool:
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


def check(nb: NotebookNode, notebook: str, points: dict[str, float] | None = None) -> list[str]:
    """Problems with a source notebook's course conventions, as a list of messages (empty = ok)."""
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    points = course_config.CONFIG.points if points is None else points
    problems = []
    try:
        MetadataValidator().validate_nb(nb)
    except ValidationError as err:
        problems.append(f"nbgrader metadata: {err}")
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    first = code_cells[0] if code_cells else None
    if first is None or not nbmeta.nbgrader(first).get("locked") \
            or 'warnings.filterwarnings("ignore")' not in first.source:
        problems.append("the first code cell must be the locked setup cell that filters warnings")
    expected = {ItemId(notebook, fn).grade_id: pts for fn, pts in items_of(points, notebook).items()}
    found = {gid: nbmeta.nbgrader(c)["points"] for gid, c in nbmeta.test_cells(nb).items()}
    if found != expected:
        problems.append(f"test cells {found} differ from CONFIG.points {expected}")
    for gid, cell in nbmeta.test_cells(nb).items():
        visible = nbmeta.without_region(cell.source)
        if ends_in_expression(cell.source) or ends_in_expression(visible):
            problems.append(f"{gid} ends in an expression (nbgrader would read it as partial credit)")
        if "autograder" in visible:
            problems.append(f"{gid} uses autograder outside its hidden-tests region")
    for i, cell in enumerate(nb.cells):
        meta = nbmeta.nbgrader(cell)
        if nbmeta.is_written_answer(cell):
            nxt = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
            if nxt is None or not nbmeta.nbgrader(nxt).get("task") or "MARK SCHEME" not in nxt.source:
                problems.append(f"answer {meta['grade_id']} is not followed by its mark scheme")
        elif cell.cell_type == "code" and not meta.get("solution") and "autograder" in cell.source \
                and not meta.get("grade"):
            problems.append(f"cell {i} imports autograder, which students do not have")
    return problems


def solutions_dir() -> Path:
    return course_config.ROOT / "solutions" / course_config.CONFIG.assignment


def build(cells: list[NotebookNode], notebook: str, directory: Path | None = None) -> Path:
    """Assemble ``cells`` into ``<directory>/<notebook>.ipynb`` after checking the conventions."""
    nb = nbformat.v4.new_notebook(cells=list(cells))
    for i, cell in enumerate(nb.cells):  # stable ids: rebuilding gives a small diff
        cell.id = nbmeta.grade_id(cell) or f"cell-{i:02d}"
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    problems = check(nb, notebook)
    if problems:
        raise ValueError(f"{notebook}: " + "; ".join(problems))
    path = Path(directory or solutions_dir()) / f"{notebook}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
