"""Sanitize and extract: from a submitted notebook, the student's code as plain text.

Steps (each a small function, in pipeline order):
  load_notebook   any nbformat version nbformat can upgrade -> v4 node; bad input -> SubmissionError
  code_cells      code cells except nbgrader's autograder test cells
  strip_magics    IPython magics and shell escapes removed where a statement starts (line numbers
                  kept; a continuation line such as ``% 2`` inside brackets is Python, not a magic)
  definitions     imports, function/class definitions and cheap assignments survive, plus any
                  assignment the graded functions need (a dependency closure over top-level names:
                  ``adam_step = functools.partial(...)``, ``CFG = Config(...)`` read by a default),
                  so the trusted worker defines the graded functions without re-running training
The trusted worker executes what ``student_cells`` returns; nothing here executes student code.
"""
from __future__ import annotations

import ast
import os
import re
import symtable
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


@dataclass
class _LineScanner:
    """Where the next line of a cell starts: inside brackets, a string or a backslash join?

    Magics exist only where a statement can start: ``% 2`` on a continuation line is Python's
    modulo. Fed line by line (the magic lines themselves are never fed), so an odd shell escape
    such as ``!echo (`` cannot leave a bracket open for the lines after it.
    """
    depth: int = 0       # brackets open
    quote: str = ""      # delimiter of the string still open at the end of the last line
    joined: bool = False  # the last line ended with a backslash outside a string

    def at_statement_start(self) -> bool:
        return not (self.depth or self.quote or self.joined)

    def feed(self, line: str) -> None:
        i, n, self.joined, escaped_eol = 0, len(line), False, False
        while i < n:
            ch = line[i]
            if self.quote:
                if ch == "\\":
                    escaped_eol, i = i == n - 1, i + 2
                elif line.startswith(self.quote, i):
                    i, self.quote = i + len(self.quote), ""
                else:
                    i += 1
                continue
            if ch == "#":
                break
            if ch in "\"'":
                self.quote = line[i:i + 3] if line[i:i + 3] in ('"""', "'''") else ch
                i += len(self.quote)
                continue
            if ch in "([{":
                self.depth += 1
            elif ch in ")]}":
                self.depth = max(0, self.depth - 1)
            elif ch == "\\" and i == n - 1:
                self.joined = True
            i += 1
        if len(self.quote) == 1 and not escaped_eol:
            self.quote = ""  # an unterminated one-quote string ends with its line


def strip_magics(source: str) -> str:
    """Remove IPython syntax: ``%magic``, ``!shell``, ``x = !cmd``, ``obj?``; keep line numbers.

    Only lines where a statement starts can hold IPython syntax (a line inside brackets, a
    string or after a backslash is kept as it is). A removed line inside an indented block
    becomes ``pass`` so the block still parses.
    """
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        name = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if name not in PYTHON_CELL_MAGICS:
            return ""
        lines[0] = ""
    out = []
    scanner = _LineScanner()
    for line in lines:
        match = _LINE_MAGIC.match(line) if scanner.at_statement_start() else None
        if match or (scanner.at_statement_start() and _HELP.match(line)):
            indent = line[:len(line) - len(line.lstrip())]
            out.append(indent + "pass" if indent else "")
            continue
        scanner.feed(line)
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


@dataclass(frozen=True)
class _Statement:
    """A top-level statement, what it binds and which top-level names it reads."""
    node: ast.stmt
    kind: str | None          # "always" (defines only), "candidate" (kept if needed) or None
    binds: frozenset[str]     # names it binds or mutates (``CFG.x = ...`` mutates CFG)
    reads: frozenset[str]     # global names it reads, when defined or when its functions run


def _kind(node: ast.stmt) -> str | None:
    """"always" for defining statements, "candidate" for any other assignment (kept only when
    the graded functions need what it binds: it may be a training run), None: never kept."""
    if keep_statement(node):
        return "always"
    if isinstance(node, (ast.Assign, ast.AugAssign)) or (
            isinstance(node, ast.AnnAssign) and node.value is not None):
        return "candidate"
    if isinstance(node, (ast.If, ast.Try)) and all(
            isinstance(s, ast.Pass) or _kind(s) for s in _children(node)):
        return "candidate"
    return None


def _children(node: ast.stmt) -> list[ast.stmt]:
    if isinstance(node, ast.If):
        return node.body + node.orelse
    if isinstance(node, ast.Try):
        return node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
    return []


def _target_names(target: ast.expr) -> set[str]:
    """Top-level names an assignment target binds or mutates (``a.b[c] = ...`` mutates a)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*map(_target_names, target.elts))
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    if isinstance(target, (ast.Attribute, ast.Subscript)):
        return _target_names(target.value)
    return set()


def _binds(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {_bound(a) for a in node.names if a.name != "*"}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return set().union(*map(_target_names, node.targets))
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        return _target_names(node.target)
    return set().union(*map(_binds, _children(node)))


def _reads(node: ast.stmt) -> set[str]:
    """Global names ``node`` reads: while it runs (values, defaults, decorators, class bodies)
    or later, when a function it defines is called (free names of function bodies).

    symtable resolves scopes as Python does, so a function's parameters and locals (``theta``,
    ``state``) never count as reads of a top-level ``theta = ...`` experiment.
    """
    try:
        table = symtable.symtable(ast.unparse(node), "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError):  # e.g. `return` outside a function
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    reads: set[str] = set()
    if isinstance(node, ast.AugAssign):
        reads |= _target_names(node.target)
    stack = [table]
    while stack:
        scope = stack.pop()
        for sym in scope.get_symbols():
            if sym.is_referenced() and (scope.get_type() == "module" or sym.is_global()):
                reads.add(sym.get_name())
        stack.extend(scope.get_children())
    return reads


def _statements(tree: ast.Module) -> list[_Statement]:
    out = []
    for node in tree.body:
        kind = _kind(node)
        out.append(_Statement(node, kind, frozenset(_binds(node) if kind else ()),
                              frozenset(_reads(node) if kind else ())))
    return out


def _select(statements: Sequence[_Statement], keep_names: Iterable[str] = ()) -> set[int]:
    """Indices of the statements the trusted worker runs.

    Defining statements always; an assignment that calls something only when a graded function
    (``keep_names``) needs what it binds, directly or through the names kept code reads: the
    closure over top-level names. Training runs, plots and sweeps bind names nothing kept reads,
    so they stay out.
    """
    roots = set(keep_names)
    kept = {i for i, s in enumerate(statements) if s.kind == "always"}
    binders: dict[str, list[int]] = {}
    for i, s in enumerate(statements):
        for name in s.binds:
            binders.setdefault(name, []).append(i)
    todo, seen, followed = list(roots), set(roots), set[int]()
    while todo:
        name = todo.pop()
        found = binders.get(name, [])
        # A helper name with a cheap binding (a def, an import, ``log = []``) is defined without
        # running anything: a later costly re-binding (``log = train(...)``) is an experiment's
        # result, not what the graded function needs. Graded names keep every binding.
        cheap = name not in roots and any(statements[i].kind == "always" for i in found)
        for i in found:
            if i in followed or (cheap and statements[i].kind != "always"):
                continue
            followed.add(i)
            kept.add(i)
            for read in statements[i].reads - seen:
                seen.add(read)
                todo.append(read)
    return kept


def definitions(source: str, keep_names: Iterable[str] = ()) -> tuple[str, tuple[str, ...]]:
    """Keep the defining statements of ``source`` (and what ``keep_names`` need); (kept source,
    descriptions of dropped ones).

    Raises SyntaxError when the cell does not parse.
    """
    tree = ast.parse(source)
    statements = _statements(tree)
    kept = _select(statements, keep_names)
    dropped = tuple(f"line {s.node.lineno}: {type(s.node).__name__}"
                    for i, s in enumerate(statements) if i not in kept
                    and not (isinstance(s.node, ast.Expr) and isinstance(s.node.value, ast.Constant)))
    module = ast.Module(body=[s.node for i, s in enumerate(statements) if i in kept], type_ignores=[])
    return ast.unparse(module), dropped


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


def student_cells(nb: NotebookNode, keep_names: Iterable[str] | None = None) -> list[Cell]:
    """The sanitized student code of ``nb``: one Cell per code cell, in notebook order.

    ``keep_names`` are the notebook's graded functions: assignments they need are kept even
    when they call something (see ``_select``); names flow across cells, as in the notebook.
    A cell that does not parse is kept with its original text, so the worker reports the
    SyntaxError to the student exactly as Python words it.
    """
    cells: list[Cell] = []
    trees: dict[int, ast.Module] = {}   # position in cells -> parsed tree
    for index, source in code_cells(nb):
        clean = strip_magics(source)
        try:
            tree = ast.parse(clean)
            ast.unparse(tree)   # absurd nesting can pass the parser and fail here
            trees[len(cells)] = tree
        except (SyntaxError, ValueError, RecursionError):  # null bytes, absurd nesting
            pass
        cells.append(Cell(index, clean))
    statements = {position: _statements(tree) for position, tree in trees.items()}
    flat = [s for group in statements.values() for s in group]   # names flow across cells
    kept = {id(flat[i].node) for i in _select(flat, keep_names or ())}
    for position, tree in trees.items():
        tree.body = [s.node for s in statements[position] if id(s.node) in kept]
    pruned = prune_imports([ast.unparse(tree) for tree in trees.values()])
    for position, source in zip(trees, pruned):
        cells[position] = Cell(cells[position].index, source)
    return [c for c in cells if c.source.strip()]
