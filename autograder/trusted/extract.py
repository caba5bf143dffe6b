"""Sanitize and extract: from a submitted notebook, the student's code as plain text.

Steps (each a small function, in pipeline order):
  load_notebook   any nbformat version nbformat can upgrade -> v4 node; bad input -> SubmissionError
  code_cells      code cells except nbgrader's autograder test cells
  strip_magics    IPython magics and shell escapes removed (line numbers kept)
  definitions     only imports, function/class definitions and cheap assignments survive, so the
                  trusted worker defines the graded functions without re-running training cells
The trusted worker executes what ``student_cells`` returns; nothing here executes student code.
"""
from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode


class SubmissionError(ValueError):
    """A submission that cannot be read as a notebook; the message says why."""


@dataclass(frozen=True)
class Cell:
    index: int     # position among the notebook's cells (0-based), for messages
    source: str    # sanitized Python source, safe to compile


# Calls allowed at top level (cheap and side-effect free): constants like devices and dtypes.
CHEAP_CALLS = {
    "float", "int", "bool", "str", "tuple", "list", "dict", "set", "frozenset", "range", "len",
    "abs", "min", "max", "round", "torch.device", "torch.tensor", "torch.as_tensor",
    "torch.cuda.is_available", "math.sqrt", "math.exp", "math.log", "math.cos", "math.pi",
    "np.float32", "np.float64", "numpy.float32", "numpy.float64", "resolve_device",
    "wdlab.resolve_device", "wdlab.device.resolve_device", "namedtuple",
    "collections.namedtuple", "dataclass", "dataclasses.dataclass", "field", "dataclasses.field",
}
# Cell magics whose body is ordinary Python; any other cell magic drops the whole cell.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
_LINE_MAGIC = re.compile(r"^(\s*)([%!](?!=)|[\w.,\s\[\]]+=\s*[%!])")
_HELP = re.compile(r"^\s*[\w.]+\?{1,2}\s*$")


def load_notebook(path: str | os.PathLike[str]) -> NotebookNode:
    """Read ``path`` as a v4 notebook (older versions upgraded); SubmissionError if impossible."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"notebook not found: {path.name}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"cannot read {path.name}: {exc}") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # noqa: BLE001
        # nbformat raises several unrelated types for bad input (NotJSONError, NBFormatError,
        # jsonschema's ValidationError, AttributeError, TypeError, ...): all mean "not a notebook".
        raise SubmissionError(f"{path.name} is not a valid notebook ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(nb.get("cells"), list):
        raise SubmissionError(f"{path.name} has no list of cells")
    return nb


def is_test_cell(cell: NotebookNode) -> bool:
    """nbgrader's autograder tests: graded and not a solution (never part of the student's code)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def code_cells(nb: NotebookNode) -> list[tuple[int, str]]:
    """(index, source) of each code cell that is not an autograder test cell."""
    out = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") == "code" and not is_test_cell(cell):
            source = cell.get("source", "")
            out.append((index, "".join(source) if isinstance(source, list) else str(source)))
    return out


def strip_magics(source: str) -> str:
    """Remove IPython syntax: ``%magic``, ``!shell``, ``x = !cmd``, ``obj?``; keep line numbers.

    A removed line inside an indented block becomes ``pass`` so the block still parses.
    """
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        name = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if name not in PYTHON_CELL_MAGICS:
            return ""
        lines[0] = ""
    out = []
    for line in lines:
        match = _LINE_MAGIC.match(line)
        if match or _HELP.match(line):
            indent = (match.group(1) if match else re.match(r"^\s*", line).group(0))
            line = indent + "pass" if indent else ""
        out.append(line)
    return "\n".join(out)


def dotted(node: ast.AST) -> str | None:
    """'torch.device' for an attribute chain of names, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def is_cheap(expr: ast.AST) -> bool:
    """True for an expression without work: constants, names, lambdas, allow-listed calls."""
    for node in ast.walk(expr):
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.ListComp, ast.SetComp,
                             ast.DictComp, ast.GeneratorExp)):
            return False
        if isinstance(node, ast.Call) and dotted(node.func) not in CHEAP_CALLS:
            return False
    return True


def keep_statement(node: ast.stmt) -> bool:
    """Top-level statements the trusted worker runs: the ones that only define things."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                         ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return node.value is not None and is_cheap(node.value)
    if isinstance(node, ast.If):
        return is_cheap(node.test) and all(map(keep_statement, node.body + node.orelse))
    if isinstance(node, ast.Try):
        body = node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
        return all(keep_statement(s) or isinstance(s, ast.Pass) for s in body)
    return False


def definitions(source: str) -> tuple[str, tuple[str, ...]]:
    """Keep the defining statements of ``source``; (kept source, descriptions of dropped ones).

    Raises SyntaxError when the cell does not parse.
    """
    tree = ast.parse(source)
    kept, dropped = [], []
    for node in tree.body:
        if keep_statement(node):
            kept.append(node)
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            dropped.append(f"line {node.lineno}: {type(node).__name__}")
    module = ast.Module(body=kept, type_ignores=[])
    return ast.unparse(module), tuple(dropped)


def _used_names(trees: Iterable[ast.AST]) -> set[str]:
    """Every name the kept code reads (import statements themselves excluded)."""
    used = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                used.add(node.id)
    return used


def _bound(alias: ast.alias) -> str:
    return (alias.asname or alias.name).split(".")[0]


def prune_imports(sources: Sequence[str]) -> list[str]:
    """Drop imports whose names no kept code uses (plotting, datasets): the worker starts faster.

    An unused import can only matter through side effects on import, which graded functions
    must not rely on. ``from x import *`` always stays.
    """
    trees = [ast.parse(s) for s in sources]
    used = _used_names(trees)
    out = []
    for tree in trees:
        tree.body = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))
                     or any(a.name == "*" or _bound(a) in used for a in n.names)]
        out.append(ast.unparse(tree))
    return out


def student_cells(nb: NotebookNode) -> list[Cell]:
    """The sanitized student code of ``nb``: one Cell per code cell, in notebook order.

    A cell that does not parse is kept with its original text, so the worker reports the
    SyntaxError to the student exactly as Python words it.
    """
    cells, parsed = [], []
    for index, source in code_cells(nb):
        clean = strip_magics(source)
        try:
            kept, _ = definitions(clean)
            parsed.append(len(cells))
        except (SyntaxError, ValueError, RecursionError):  # null bytes, absurd nesting
            kept = clean
        cells.append(Cell(index, kept))
    pruned = prune_imports([cells[i].source for i in parsed])
    for i, source in zip(parsed, pruned):
        cells[i] = Cell(cells[i].index, source)
    return [c for c in cells if c.source.strip()]

