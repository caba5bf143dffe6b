"""The course's rule on library code, checked on the notebook's code (never run).

What the course allows: tensor operations of torch, numpy and math, and subclassing
``torch.optim.Optimizer`` to package your own rule. What it does not: computing the update with
torch.optim's optimizers or their functional and fused kernels, by any route -- an import, an
attribute, ``torch.ops``, reflection (``__subclasses__``, ``gc``), or a module name built at run
time. A graded function that reaches such code (itself or through the helpers it calls) scores 0
and the submission is flagged ``forbidden_call``. Code copied from torch.optim's implementation
(its private helpers) is flagged ``copied_library_code`` for the instructor to look at; it costs
no points by itself.

The executor also replaces torch.optim's entry points with stubs that raise, but student code in
that process can reach the originals; this static scan is what decides.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from autograder.trusted.extract import dotted

OPTIM = "torch.optim"
ALLOWED = {"torch.optim.Optimizer", "torch.optim.optimizer.Optimizer"}
KERNEL_PREFIXES = ("_fused_", "_single_tensor_", "_multi_tensor_")
REFLECTION = {"__subclasses__", "get_objects", "get_referrers", "get_referents"}
# Private helpers of torch.optim's implementation: their presence means copied library code.
LIBRARY_HELPERS = {"_get_value", "_dispatch_sqrt", "_get_scalar_dtype", "_stack_if_compiling",
                   "_use_grad_for_differentiable", "_default_to_fused_or_foreach", "_view_as_real",
                   "_get_capturable_supported_devices", "_disable_dynamo_if_unsupported",
                   "_maximize_doc", "_capturable_doc", "_differentiable_doc", "_foreach_doc"}


@dataclass
class Findings:
    forbidden: dict[str, list[str]] = field(default_factory=dict)  # function -> reasons
    copied: list[str] = field(default_factory=list)                 # reasons


def _torch_aliases(tree: ast.Module) -> set[str]:
    """Names the code binds to the torch module itself (``import torch as T``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.asname or alias.name for alias in node.names if alias.name == "torch"}
    return names


def _canonical(name: str, torch_names: set[str]) -> str:
    root, _, rest = name.partition(".")
    return f"torch.{rest}" if root in torch_names and rest else ("torch" if root in torch_names else name)


def _forbidden_bindings(tree: ast.Module) -> dict[str, str]:
    """Top-level names bound to torch.optim code by imports: {name: what it is}."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(OPTIM):
            for alias in node.names:
                if f"{node.module}.{alias.name}" not in ALLOWED and alias.name != "Optimizer":
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module == "torch":
            for alias in node.names:
                if alias.name == "optim":
                    bound[alias.asname or alias.name] = OPTIM
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(OPTIM) and alias.asname:
                    bound[alias.asname] = alias.name
    return bound


DYNAMIC = {"getattr", "__import__", "import_module", "__getattribute__", "vars", "eval", "exec"}


def _reasons(node: ast.AST, bound: dict[str, str], torch_names: set[str]) -> list[str]:
    """Why the code under ``node`` reaches torch.optim's update code (empty: it does not)."""
    reasons = []
    # only whole chains: `torch.optim` inside `torch.optim.Optimizer` is not a use of its own
    inner = {id(n.value) for n in ast.walk(node) if isinstance(n, ast.Attribute)}
    for sub in ast.walk(node):
        name = dotted(sub) if isinstance(sub, ast.Attribute) and id(sub) not in inner else None
        name = _canonical(name, torch_names) if name else None
        if isinstance(sub, ast.Call):
            called = dotted(sub.func) or ""
            literal = all(isinstance(a, ast.Constant) for a in sub.args[1:2] or sub.args[:1])
            if called.rsplit(".", 1)[-1] in DYNAMIC and not literal:
                reasons.append(f"looks up a name built at run time ({called})")
        if name and (name == OPTIM or name.startswith(OPTIM + ".")) and name not in ALLOWED:
            reasons.append(f"uses {name}")
        if isinstance(sub, ast.Attribute) and sub.attr.startswith(KERNEL_PREFIXES):
            reasons.append(f"uses the fused or batched kernel {sub.attr}")
        if isinstance(sub, ast.Attribute) and sub.attr in REFLECTION:
            reasons.append(f"looks up objects by reflection ({sub.attr})")
        if isinstance(sub, ast.Name) and sub.id in bound:
            reasons.append(f"uses {bound[sub.id]}")
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and \
                ("torch.optim" in sub.value or sub.value.startswith(KERNEL_PREFIXES)
                 or sub.value in ("optim", *REFLECTION)):
            reasons.append(f"names {sub.value[:40]!r}")
    return list(dict.fromkeys(reasons))


def scan(sources: list[str], functions: list[str]) -> Findings:
    """Check the notebook's code cells: which graded ``functions`` reach torch.optim's update
    code (directly or through the top-level functions and classes they use), and whether
    library code was copied."""
    trees = []
    for source in sources:
        try:
            trees.append(ast.parse(source))
        except (SyntaxError, ValueError, RecursionError):
            continue
    module = ast.Module(body=[n for t in trees for n in t.body], type_ignores=[])
    bound = _forbidden_bindings(module)
    torch_names = _torch_aliases(module) | {"torch"}
    defs = {n.name: n for n in module.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    assigned = {t.id: n for n in module.body if isinstance(n, ast.Assign)
                for t in n.targets if isinstance(t, ast.Name)}
    own = {name: _reasons(node, bound, torch_names) for name, node in {**assigned, **defs}.items()}
    uses = {name: {s.id for s in ast.walk(node) if isinstance(s, ast.Name)} & set(own)
            for name, node in {**assigned, **defs}.items()}
    findings = Findings()
    for function in functions:
        seen, todo, reasons = set(), [function], []
        while todo:
            name = todo.pop()
            if name in seen or name not in own:
                continue
            seen.add(name)
            reasons += own[name]
            todo += sorted(uses[name])
        if reasons:
            findings.forbidden[function] = list(dict.fromkeys(reasons))
    helpers = sorted({s.id if isinstance(s, ast.Name) else s.attr for s in ast.walk(module)
                      if isinstance(s, (ast.Name, ast.Attribute))
                      and (s.id if isinstance(s, ast.Name) else s.attr) in LIBRARY_HELPERS})
    if helpers:
        findings.copied.append(f"uses torch.optim's private helpers {', '.join(helpers)} "
                               "(copied library code?)")
    return findings
