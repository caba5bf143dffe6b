"""Tamper scan: static signs of an attempt to fake a grade, read from the notebook (never run).

A sign does not cost points (the trusted verdict decides those); it sets the submission's
``tamper_suspected`` flag with a reason an instructor can check.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from nbformat import NotebookNode

from autograder.trusted import extract

# Modules a file beside the notebook would shadow in the student's kernel.
SHADOWED = {"numpy", "torch", "math", "random", "sys", "os", "json", "sympy", "builtins",
            "wdlab", "data_gen", "nbgrader", "course_config", "autograder", "pytest", "unittest"}


def tamper_reasons(nb: NotebookNode, path: Path | None = None) -> list[str]:
    """Static signs of an attempt to fake a grade, read from the notebook's code (never run)."""
    reasons = []
    for index, source in extract.code_cells(nb):
        try:
            tree = ast.parse(extract.strip_magics(source))
        except (SyntaxError, ValueError, RecursionError):
            continue
        for node in ast.walk(tree):
            reasons += [f"cell {index}: {r}" for r in _suspicious(node)]
    if path is not None and path.parent.is_dir():
        for py in sorted(path.parent.glob("*.py")):
            if py.stem in SHADOWED:
                reasons.append(f"{py.name} beside the notebook would shadow the {py.stem} module")
    return list(dict.fromkeys(reasons))


_PATCHABLE = ("torch", "np", "numpy", "builtins", "sys", "math", "unittest", "pytest", "nbgrader")
_NEAR_GRADER = ("gradebook", "solutions", "autograder", ".course_state", "nbgrader", ".db",
                "reference", "submitted", "autograded")


def _suspicious(node: ast.AST) -> Iterator[str]:
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            name = extract.dotted(target.value if isinstance(target, ast.Subscript) else target)
            if name and name.split(".")[0] in _PATCHABLE and "." in name:
                yield f"replaces {name}"
            elif name in ("sys.modules",):
                yield "edits sys.modules"
    if isinstance(node, ast.Call):
        name = extract.dotted(node.func) or ""
        if name.endswith(("setattr",)) and node.args and extract.dotted(node.args[0]) in _PATCHABLE:
            yield f"setattr on {extract.dotted(node.args[0])}"
        if name.startswith("sys.modules.") or name in ("sys.modules.update", "sys.modules.pop"):
            yield "edits sys.modules"
    if isinstance(node, ast.Attribute) and node.attr in (
            "input_transformers_cleanup", "input_transformers_post", "ast_transformers",
            "input_transformer_manager", "register_magic_function"):
        yield f"installs an IPython transformer ({node.attr})"
    if isinstance(node, ast.FunctionDef) and node.name == "__eq__" and any(
            isinstance(n, ast.Return) and isinstance(n.value, ast.Constant) and n.value.value is True
            for n in ast.walk(node)):
        yield "defines __eq__ that always returns True"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        low = node.value.lower()
        # Prose (docstrings, formulas such as "(l2 / 2) ||theta||^2") has spaces; paths do not.
        pathlike = not any(ch.isspace() for ch in low) and (
            "/" in low or "*" in low or low.endswith((".db", ".py", ".ipynb")))
        named = "gradebook" in low or ".course_state" in low or (
            pathlike and any(word in low for word in _NEAR_GRADER))
        if named and len(low) < 300:
            yield f"names a grader file or folder ({node.value[:60]!r})"
        if pathlike and (low == ".." or "../" in low or "/.." in low):
            yield f"looks in parent folders ({node.value[:60]!r})"
