"""Compare: the student's returned arrays against the reference, in the grader's own process.

Step rules are checked one step at a time: the reference (or a known-wrong variant) is applied
to the student's own previous iterate and state, so an early slip does not hide later ones and
a correct rule never accumulates another rule's rounding. Tolerances come from
the course's tolerances for the case's dtype; ``atol`` is relative to the size of the quantities
compared (a rule on weights of size 1e4 rounds at 1e4 * machine epsilon, not at 1e-6).
Array keys of the reply come from ``protocol``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from autograder.trusted import misconceptions as M
from autograder.trusted import protocol as P
from autograder.trusted.cases import CallCase, StepCase
from autograder.trusted.items import Item
from course_config import CourseConfig

Arrays = dict[str, np.ndarray]
# What computing on a student's returned arrays can raise (wrong shapes, NaN, overflow, missing
# keys): such a case fails, it never stops the grading of the others.
REPLY_ERRORS = (ArithmeticError, IndexError, KeyError, RuntimeError, TypeError, ValueError)

LOOSE = 10.0  # variants are matched with a tolerance this many times looser


@dataclass
class CaseResult:
    name: str
    passed: bool
    message: str = ""
    step: int | None = None           # first divergent step (1-based) or call number (1-based)
    misconception: M.Misconception | None = None  # found from behaviour, not from variants
    replay: Callable[[Callable], bool] | None = field(default=None, repr=False)
    # replay(variant) -> does that variant explain this case?


def tolerance(dtype: Any, config: CourseConfig) -> tuple[float, float]:
    name = str(dtype).replace("torch.", "")
    return config.tolerances.get(name, config.tolerances["float32"])


def _f64(x: Any) -> torch.Tensor:
    if torch.is_tensor(x):
        return x.detach().to(torch.float64)
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def same_device(got: str | None, expected: str) -> bool:
    """Whether a reported device ("cpu", "cuda:0") is of the expected kind ("cpu", "cuda")."""
    return torch.device(got or "cpu").type == torch.device(expected).type


def mismatch(actual: Any, expected: Any, rtol: float, atol: float) -> float | None:
    """None when close, else the max abs error; NaN/inf must sit where the expected has them."""
    a, b = _f64(actual), _f64(expected)
    if a.shape != b.shape:
        return float("inf")
    if bool(torch.isfinite(b).all()):
        if not bool(torch.isfinite(a).all()):
            return float("inf")
        err = (a - b).abs()
        scale = float(b.abs().max()) if b.numel() else 0.0
        if bool((err <= atol * max(scale, 1e-30) + rtol * b.abs()).all()):
            return None
        return float(err.max())
    finite = torch.isfinite(b)
    same_special = (~finite) & ((a == b) | (torch.isnan(a) & torch.isnan(b)))
    if bool(((~finite) & ~same_special).any()) or bool((~torch.isfinite(a) & finite).any()):
        return float("inf")
    return mismatch(a[finite], b[finite], rtol, atol) if bool(finite.any()) else None


# -- step rules ------------------------------------------------------------------------------
def replay_steps(rule: Callable, case: StepCase, thetas: np.ndarray, states: Arrays, n: int,
                 rtol: float, atol: float) -> tuple[int, str, float] | None:
    """First step (1-based) where ``thetas``/``states`` disagree with ``rule`` applied to the
    student's previous iterate, as (step, what, error); None when all ``n`` steps agree."""
    theta = case.theta0
    state = {k: torch.zeros_like(theta) for k in case.state_keys}
    thetas = torch.from_numpy(np.asarray(thetas[:n]))
    states = {k: torch.from_numpy(np.asarray(v[:n])) for k, v in states.items()}
    for t in range(1, n + 1):
        grad = case.grad(theta, t)
        try:
            exp_theta, exp_state = rule(theta, grad, state, t, **case.kwargs(t))
        except REPLY_ERRORS:
            return t, "theta", float("inf")
        expected = [("theta", exp_theta, thetas[t - 1])]
        expected += [(f"state[{k!r}]", exp_state[k], states[k][t - 1]) for k in case.state_keys]
        for what, exp, got in expected:
            ref_scale = theta if what == "theta" else exp
            err = mismatch(got, exp, rtol, atol * max(1.0, float(ref_scale.abs().max()) /
                                                       max(float(exp.abs().max()), 1e-30)))
            if err is not None:
                return t, what, err
        theta = thetas[t - 1].to(case.dtype)
        state = {k: states[k][t - 1].to(case.dtype) for k in case.state_keys}
    return None


def check_step_case(item: Item, case: StepCase, meta: dict[str, Any], arrays: Arrays,
                    prefix: str, config: CourseConfig, device: str = "cpu") -> CaseResult:
    rtol, atol = tolerance(case.dtype, config)
    n = int(meta.get("steps_done", 0))
    thetas = arrays.get(P.theta_key(prefix))
    states = {k: arrays.get(P.state_key(prefix, k)) for k in case.state_keys}
    result = CaseResult(case.name, False)
    if meta.get("blocked_calls"):
        result.message, result.step = (f"called {', '.join(meta['blocked_calls'])}; "
                                       "torch.optim is disabled while grading"), 1
        result.misconception = M.DELEGATION
        return result
    if n:
        shape = (n, *case.theta0.shape)
        bad = [k for k, v in [("theta", thetas), *states.items()]
               if v is None or tuple(v.shape) != shape]
        if bad:
            value = thetas if bad[0] == "theta" else states[bad[0]]
            got = None if value is None else tuple(value.shape[1:])
            result.message = (f"returned {bad[0]} with shape {got}, expected "
                              f"{tuple(case.theta0.shape)}")
            result.step = 1
            return result
        result.replay = lambda rule: replay_steps(rule, case, thetas, states, n,
                                                  rtol * LOOSE, atol * LOOSE) is None
        wrong = replay_steps(item.reference, case, thetas, states, n, rtol, atol)
        if wrong:
            t, what, err = wrong
            result.step = t
            result.message = f"step {t}: {what} differs from the expected update (max error {err:.3g})"
            return result
    if meta.get("error"):
        result.step = meta.get("error_step", n + 1)
        result.message = f"step {result.step} raised {last_line(meta['error'])}{_hint(meta)}"
        return result
    if n < case.steps:
        result.message, result.step = f"only {n} of {case.steps} steps were returned", n + 1
        return result
    if meta.get("dtype") != str(case.dtype) or str(thetas.dtype) != str(case.dtype)[6:]:
        result.message = f"returned {meta.get('dtype')} for {case.dtype} inputs"
        result.misconception, result.step = M.WRONG_DTYPE, 1
        return result
    if not same_device(meta.get("device"), device):
        result.message = f"returned a tensor on {meta['device']} for inputs on {device}"
        result.misconception, result.step = M.WRONG_DEVICE, 1
        return result
    if meta.get("mutated"):
        t, names = meta["mutated"][0]
        result.message = f"step {t}: changed {', '.join(names)} in place"
        result.misconception, result.step = M.INPLACE, t
        return result
    result.passed = True
    return result


# -- plain functions -------------------------------------------------------------------------
def _type_problem(got: str, expected: Any, device: str) -> tuple[str, M.Misconception | None] | None:
    """How a returned value's type (the worker's "tensor:<dtype>:<device>" or a type name)
    differs from a tensor the reference returns; None when it fits."""
    want = f"tensor:{expected.dtype}:{device}"
    kind, _, rest = got.partition(":")
    dtype, _, where = rest.partition(":")
    if kind == "tensor" and dtype == str(expected.dtype) and same_device(where, device):
        return None
    if kind == "tensor" and dtype != str(expected.dtype):
        return want, M.WRONG_DTYPE
    if kind == "tensor":
        return want, M.WRONG_DEVICE
    return want, None


def check_call_case(item: Item, case: CallCase, meta: dict[str, Any], arrays: Arrays,
                    prefix: str, config: CourseConfig, device: str = "cpu") -> CaseResult:
    result = CaseResult(case.name, False)
    if case.symbolic:
        return _check_symbolic(item, case, meta, arrays, prefix, config, result)
    types = meta.get("types", [])
    values = [arrays.get(P.call_prefix(prefix, j)) for j in range(len(types))]
    for j, kwargs in enumerate(case.calls[:len(types)]):
        expected = item.reference(**kwargs)
        problem = _type_problem(types[j], expected, device) if torch.is_tensor(expected) else None
        if problem:
            want, result.misconception = problem
            result.step, result.message = j + 1, f"call {j + 1}: returned {types[j]}, expected {want}"
            return result
        rtol, atol = tolerance(_tolerance_dtype(expected, values[j]), config)
        err = mismatch(values[j], expected, rtol, atol) if values[j] is not None else float("inf")
        if err is not None:
            result.step = j + 1
            result.message = (f"call {j + 1} ({_show(kwargs)}): result differs from the expected "
                              f"value (max error {err:.3g})")
            break
    else:
        if meta.get("error"):
            result.step = meta.get("error_call", 0) + 1
            result.message = f"call {result.step} raised {last_line(meta['error'])}{_hint(meta)}"
        elif len(types) < len(case.calls):
            result.message = f"only {len(types)} of {len(case.calls)} calls returned"
        else:
            result.passed = True
    result.replay = lambda fn: _replay_calls(fn, case, values, config)
    return result


def _tolerance_dtype(expected: Any, value: np.ndarray | None) -> Any:
    if torch.is_tensor(expected):
        return expected.dtype
    return torch.float32 if value is not None and value.dtype == np.float32 else torch.float64


def _replay_calls(fn: Callable, case: CallCase, values: list, config: CourseConfig) -> bool:
    for kwargs, value in zip(case.calls, values):
        try:
            expected = fn(**kwargs)
        except REPLY_ERRORS:
            return False
        rtol, atol = tolerance(expected.dtype if torch.is_tensor(expected) else torch.float64, config)
        if value is None or mismatch(value, expected, rtol * LOOSE, atol * LOOSE) is not None:
            return False
    return bool(values)


def _check_symbolic(item: Item, case: CallCase, meta: dict[str, Any], arrays: Arrays,
                    prefix: str, config: CourseConfig, result: CaseResult) -> CaseResult:
    if meta.get("error"):
        result.step, result.message = 1, f"with sympy symbols, raised {last_line(meta['error'])}"
        return result
    values = arrays.get(P.call_prefix(prefix, 0))
    expected = torch.tensor([float(item.reference(**p)) for p in case.points], dtype=torch.float64)
    rtol, atol = tolerance(torch.float64, config)
    if values is None or mismatch(values, expected, rtol, atol) is not None:
        result.step, result.message = 1, "with sympy symbols, the expression has another value"
        result.replay = lambda fn: values is not None and mismatch(
            values, torch.tensor([float(fn(**p)) for p in case.points], dtype=torch.float64),
            rtol * LOOSE, atol * LOOSE) is None
        return result
    result.passed = True
    return result


def _show(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={'tensor' + str(tuple(v.shape)) if torch.is_tensor(v) else v}"
                     for k, v in kwargs.items())


def _hint(meta: dict[str, Any]) -> str:
    if meta.get("error_type") != "NameError":
        return ""
    return (" (the grader runs only your imports, definitions and constant assignments, not "
            "computations at the top of a cell: compute that value inside the function)")


def last_line(text: str) -> str:
    """The last non-blank line of an error text (the exception line)."""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1] if lines else "an error"


# -- one item --------------------------------------------------------------------------------
def check_case(item: Item, case: StepCase | CallCase, meta: dict[str, Any], arrays: Arrays,
               index: int, config: CourseConfig, device: str = "cpu") -> CaseResult:
    """Case ``index`` of ``item``: the worker's reply against the reference."""
    check = check_step_case if item.kind == "step" else check_call_case
    return check(item, case, meta, arrays, P.case_prefix(index), config, device)


def explain(item: Item, failing: list[CaseResult]) -> dict[str, tuple[M.Variant, int]]:
    """(Variant, cases it explains) per variant, over the failing cases that can be replayed."""
    explained = {}
    for variant in item.variants:
        count = 0
        for case in failing:
            if case.replay is None:
                continue
            try:
                count += bool(case.replay(variant.fn))
            except REPLY_ERRORS:
                pass
        explained[variant.name] = (variant, count)
    return explained
