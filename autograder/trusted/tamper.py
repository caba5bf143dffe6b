"""Tamper scan: static signs of an attempt to fake a grade, read from the notebook (never run).

A sign does not cost points (the trusted verdict decides those); it sets the submission's
``tamper_suspected`` flag with a reason an instructor can check. Honest code must not set it:
configuration (``torch.backends.cudnn.deterministic = True``) is not patching, and a file name
with an ordinary word in it (``"figures/reference_plot.png"``) is not a grader path.
"""
from __future__ import annotations

import ast
import fnmatch
import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from nbformat import NotebookNode

from autograder.trusted import extract
from course_config import CONFIG

# Modules a file beside the notebook would shadow in the student's kernel.
SHADOWED = {"numpy", "torch", "math", "random", "sys", "os", "json", "sympy", "builtins",
            "wdlab", "data_gen", "nbgrader", "course_config", "autograder", "pytest", "unittest"}


def tamper_reasons(nb: NotebookNode, path: Path | None = None) -> list[str]:
    """Static signs of an attempt to fake a grade, read from the notebook's code (never run)."""
    trees = []
    for index, source in extract.code_cells(nb):
        try:
            trees.append((index, ast.parse(extract.strip_magics(source))))
        except (SyntaxError, ValueError, RecursionError):
            continue
    aliases = _aliases(tree for _, tree in trees)
    reasons = []
    for index, tree in trees:
        for node in ast.walk(tree):
            reasons += [f"cell {index}: {r}" for r in _suspicious(node, aliases)]
    if path is not None and path.parent.is_dir():
        for py in sorted(path.parent.glob("*.py")):
            if py.stem in SHADOWED:
                reasons.append(f"{py.name} beside the notebook would shadow the {py.stem} module")
    return list(dict.fromkeys(reasons))


# -- replacing what the grading relies on ------------------------------------------------------
# Packages whose functions and classes the notebook's tests and the grader call.
_PATCHABLE = {"torch", "numpy", "builtins", "sys", "math", "unittest", "pytest", "nbgrader",
              "autograder", "course_config"}
# Of those, the ones the grader imports anyway and may inspect. In the others honest code
# has nothing to configure, so any assignment there is a sign.
_INSPECTABLE = {"torch", "numpy", "builtins", "sys", "math"}
_IMPORT_MACHINERY = {"sys.modules", "sys.meta_path", "sys.path_hooks", "sys.path_importer_cache"}
_DEFAULT_ALIASES = {"np": "numpy", "__builtins__": "builtins"}


def _aliases(trees: Iterator[ast.Module]) -> dict[str, str]:
    """{name bound by the notebook's imports: module path}: ``T`` -> torch, ``testing`` ->
    numpy.testing, so ``T.allclose = ...`` is read as ``torch.allclose = ...``."""
    out = dict(_DEFAULT_ALIASES)
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    if a.name != "*":
                        out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _canonical(written: str, aliases: dict[str, str]) -> str:
    root, _, rest = written.partition(".")
    root = aliases.get(root, root)
    return f"{root}.{rest}" if rest else root


def _resolve(path: str) -> tuple[bool, object]:
    """(found, object) for a dotted path inside a module the grader's process has loaded."""
    parts = path.split(".")
    obj: object = importlib.import_module(parts[0])   # only roots of _INSPECTABLE come here
    for i, part in enumerate(parts[1:], 2):
        try:
            obj = getattr(obj, part)
        except Exception:  # noqa: BLE001 -- a lazy attribute may raise anything; unknown then
            module = sys.modules.get(".".join(parts[:i]))
            if module is None:
                return False, None
            obj = module
    return True, obj


def _replaces(name: str) -> bool:
    """Does assigning ``name`` (canonical dotted path) replace something the grading calls?

    Decided by what is there now, resolved in the grader's own process (same packages as the
    worker): a function, class or module is replaced; a plain value (``deterministic``,
    ``allow_tf32``, print options) is configuration. No allow-list of configuration namespaces
    to keep up to date, and a patch cannot hide behind one (``torch.backends.foo = fake``).
    """
    root, _, _ = name.partition(".")
    if root not in _PATCHABLE or "." not in name:
        return False
    if root not in _INSPECTABLE:
        return True
    parent, _, attr = name.rpartition(".")
    found, owner = _resolve(parent)
    if not found:
        return True   # cannot tell what is replaced: the instructor can
    if callable(owner) and not isinstance(owner, ModuleType):
        return True   # an attribute of a function or class: torch.Tensor.__eq__, f.__code__
    try:
        current = getattr(owner, attr)
    except Exception:  # noqa: BLE001 -- absent: a new attribute replaces nothing
        return not isinstance(owner, ModuleType)
    return callable(current) or isinstance(current, ModuleType)


def _target_paths(target: ast.expr) -> Iterator[tuple[str, bool]]:
    """(dotted path, True when an item of it is assigned: ``sys.modules[k] = ...``) of each
    part of an assignment target (``a, torch.allclose = ...`` has two)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_paths(element)
    elif isinstance(target, ast.Starred):
        yield from _target_paths(target.value)
    elif isinstance(target, ast.Subscript):
        name = extract.dotted(target.value)
        if name:
            yield name, True
    elif name := extract.dotted(target):
        yield name, False


# Where a failing test's error goes: replacing one hides a failure from the notebook's run
# (and nbgrader scores a test cell by whether an error reached its output).
_ERROR_OUTLETS = {"sys.stderr", "sys.__stderr__", "sys.excepthook", "sys.__excepthook__",
                  "sys.displayhook", "sys.unraisablehook", "sys.tracebacklimit"}
# Calls and attributes that install a handler for the notebook's errors.
_ERROR_HANDLERS = {"set_custom_exc": "installs a custom exception handler (set_custom_exc)",
                   "redirect_stderr": "redirects stderr (contextlib.redirect_stderr)",
                   "showtraceback": "replaces IPython's traceback display (showtraceback)",
                   "_showtraceback": "replaces IPython's traceback display (_showtraceback)",
                   "showsyntaxerror": "replaces IPython's error display (showsyntaxerror)",
                   "custom_exceptions": "installs a custom exception handler (custom_exceptions)"}


def _assignment_signs(written: str, item: bool, aliases: dict[str, str]) -> Iterator[str]:
    name = _canonical(written, aliases)
    shown = written if name == written else f"{written} ({name})"
    if name in _ERROR_OUTLETS:
        yield f"replaces {shown}, where the notebook's errors go"
    elif name in _IMPORT_MACHINERY or name.startswith(tuple(f"{m}." for m in _IMPORT_MACHINERY)):
        yield f"edits {name}"
    elif item and name.endswith(".__dict__") and name.partition(".")[0] in _PATCHABLE:
        yield f"edits {shown}"
    elif not item and _replaces(name):
        yield f"replaces {shown}"


def _suspicious(node: ast.AST, aliases: dict[str, str]) -> Iterator[str]:
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        for target in targets:
            for written, item in _target_paths(target):
                yield from _assignment_signs(written, item, aliases)
    if isinstance(node, ast.Call):
        name = _canonical(extract.dotted(node.func) or "", aliases)
        owner = extract.dotted(node.args[0]) if node.args else None
        if name.endswith("setattr") and owner:
            attr = node.args[1] if len(node.args) > 1 else None
            if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                yield from _assignment_signs(f"{owner}.{attr.value}", False, aliases)
            elif _canonical(owner, aliases).partition(".")[0] in _PATCHABLE:
                yield f"setattr on {owner}"
        if name.startswith(tuple(f"{m}." for m in _IMPORT_MACHINERY)):
            yield f"edits {name.rpartition('.')[0]}"
        if name.rpartition(".")[2] in ("dup2", "dup") and name.startswith("os.") and any(
                isinstance(a, ast.Constant) and a.value == 2 for a in node.args[1:]):
            yield "redirects stderr (os.dup2 onto file descriptor 2)"
    if isinstance(node, ast.Attribute) and node.attr in (
            "input_transformers_cleanup", "input_transformers_post", "ast_transformers",
            "input_transformer_manager", "register_magic_function"):
        yield f"installs an IPython transformer ({node.attr})"
    attr = node.attr if isinstance(node, ast.Attribute) else \
        node.id if isinstance(node, ast.Name) else None
    if attr in _ERROR_HANDLERS:
        yield _ERROR_HANDLERS[attr]
    if isinstance(node, ast.FunctionDef) and node.name == "__eq__" and any(
            isinstance(n, ast.Return) and isinstance(n.value, ast.Constant) and n.value.value is True
            for n in ast.walk(node)):
        yield "defines __eq__ that always returns True"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield from _path_signs(node.value)


# -- strings that name the grader's places -------------------------------------------------------
# Folders of the course's grading: the state folder (gradebook, submissions, feedback), the
# instructor's solutions, the grader's code and nbgrader's submitted/autograded trees.
_GRADER_FOLDERS = {".course_state", Path(CONFIG.state_dir).name.lower(), "solutions",
                   "autograder", "submitted", "autograded"}
_GRADER_FILES = {"gradebook.db", "nbgrader_config.py"}
# The grader's packages (autograder/reference, ...): a sign when searched for with a wildcard
# ("/work/**/reference/*.py"); "notes/reference/x.md" is an ordinary folder.
_GRADER_PACKAGES = {p.name for p in Path(__file__).resolve().parents[1].iterdir()
                    if (p / "__init__.py").is_file()}


def _matches(component: str, names: set[str]) -> bool:
    """component names one of ``names``, or is a glob that finds one ("gradeb*"); a pattern
    that starts with a wildcard ("*.db", "*.png") is too broad to say so."""
    if component in names or any(component.startswith(n) for n in names if n.startswith("gradebook")):
        return True
    return (any(ch in component for ch in "*?[") and not component.startswith(("*", "?", "["))
            and any(fnmatch.fnmatchcase(n, component) for n in names))


def _path_signs(text: str) -> Iterator[str]:
    # Prose (docstrings, formulas such as "(l2 / 2) ||theta||^2") has spaces; paths do not.
    if len(text) >= 300 or any(ch.isspace() for ch in text):
        return
    low = text.lower()
    parts = [p for p in re.split(r"[/\\]+", low) if p]
    is_path = len(parts) > 1 or bool(re.search(r"[/\\]", low))
    names = _GRADER_FILES | {"gradebook"} | (_GRADER_FOLDERS if is_path else {".course_state"})
    searched = False
    for part in parts:
        if _matches(part, names) or (searched and part in _GRADER_PACKAGES):
            yield f"names a grader file or folder ({text[:60]!r})"
            break
        searched = searched or "*" in part
    if ".." in parts:
        yield f"looks in parent folders ({text[:60]!r})"
