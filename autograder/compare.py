"""Compare: the student's returned arrays against the reference, in the grader's own process.

Step rules are checked one step at a time: the reference (or a known-wrong variant) is applied
to the student's own previous iterate and state, so an early slip does not hide later ones and
a correct rule never accumulates another rule's rounding. Tolerances come from
CONFIG.tolerances for the case's dtype; ``atol`` is relative to the size of the quantities
compared (a rule on weights of size 1e4 rounds at 1e4 * machine epsilon, not at 1e-6).
"""
from dataclasses import dataclass, field

import numpy as np
import torch

from . import misconceptions as M

LOOSE = 10.0  # variants are matched with a tolerance this many times looser


@dataclass
class CaseResult:
    name: str
    passed: bool
    message: str = ""
    step: int | None = None           # first divergent step (1-based) or call number (1-based)
    misconception: tuple | None = None  # (name, message) found from behaviour, not variants
    replay: object = field(default=None, repr=False)  # variant -> does it explain this case?


def tolerance(dtype, config):
    name = str(dtype).replace("torch.", "")
    return config.tolerances.get(name, config.tolerances["float32"])


def _f64(x):
    if torch.is_tensor(x):
        return x.detach().to(torch.float64)
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def mismatch(actual, expected, rtol, atol):
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
def replay_steps(rule, case, thetas, states, n, rtol, atol):
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
        except Exception:
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


def check_step_case(item, case, meta, arrays, prefix, config):
    rtol, atol = tolerance(case.dtype, config)
    n = int(meta.get("steps_done", 0))
    thetas = arrays.get(f"{prefix}_theta")
    states = {k: arrays.get(f"{prefix}_state_{k}") for k in case.state_keys}
    result = CaseResult(case.name, False)
    if meta.get("blocked_calls"):
        result.message, result.step = (f"called {', '.join(meta['blocked_calls'])}; "
                                       "torch.optim is disabled while grading"), 1
        result.misconception = M.DELEGATION[:2]
        return result
    if n:
        shape = (n, *case.theta0.shape)
        bad = [k for k, v in [("theta", thetas), *states.items()]
               if v is None or tuple(v.shape) != shape]
        if bad:
            got = None if thetas is None else tuple(thetas.shape[1:])
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
        result.message = f"step {result.step} raised {_last_line(meta['error'])}{_hint(meta)}"
        return result
    if n < case.steps:
        result.message, result.step = f"only {n} of {case.steps} steps were returned", n + 1
        return result
    if meta.get("dtype") != str(case.dtype) or str(thetas.dtype) != str(case.dtype)[6:]:
        result.message = f"returned {meta.get('dtype')} for {case.dtype} inputs"
        result.misconception, result.step = M.WRONG_DTYPE[:2], 1
        return result
    if meta.get("device", "cpu") != "cpu":
        result.message = f"returned a tensor on {meta['device']} for inputs on cpu"
        result.misconception, result.step = M.WRONG_DEVICE[:2], 1
        return result
    if meta.get("mutated"):
        t, names = meta["mutated"][0]
        result.message = f"step {t}: changed {', '.join(names)} in place"
        result.misconception, result.step = M.INPLACE[:2], t
        return result
    result.passed = True
    return result


# -- plain functions -------------------------------------------------------------------------
def _expected_type(value):
    return f"tensor:{value.dtype}:cpu" if torch.is_tensor(value) else "number"


def check_call_case(item, case, meta, arrays, prefix, config):
    result = CaseResult(case.name, False)
    if case.symbolic:
        return _check_symbolic(item, case, meta, arrays, prefix, config, result)
    types = meta.get("types", [])
    values = [arrays.get(f"{prefix}_{j}") for j in range(len(types))]
    for j, kwargs in enumerate(case.calls[:len(types)]):
        expected = item.reference(**kwargs)
        want = _expected_type(expected)
        if want != "number" and types[j] != want:
            result.step, result.message = j + 1, f"call {j + 1}: returned {types[j]}, expected {want}"
            if types[j].startswith("tensor:") and types[j].split(":")[1] != str(expected.dtype):
                result.misconception = M.WRONG_DTYPE[:2]
            elif types[j].startswith("tensor:") and not types[j].endswith(":cpu"):
                result.misconception = M.WRONG_DEVICE[:2]
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
            result.message = f"call {result.step} raised {_last_line(meta['error'])}{_hint(meta)}"
        elif len(types) < len(case.calls):
            result.message = f"only {len(types)} of {len(case.calls)} calls returned"
        else:
            result.passed = True
    result.replay = lambda fn: _replay_calls(fn, case, values, config)
    return result


def _tolerance_dtype(expected, value):
    if torch.is_tensor(expected):
        return expected.dtype
    return torch.float32 if value is not None and value.dtype == np.float32 else torch.float64


def _replay_calls(fn, case, values, config):
    for kwargs, value in zip(case.calls, values):
        try:
            expected = fn(**kwargs)
        except Exception:
            return False
        rtol, atol = tolerance(expected.dtype if torch.is_tensor(expected) else torch.float64, config)
        if value is None or mismatch(value, expected, rtol * LOOSE, atol * LOOSE) is not None:
            return False
    return bool(values)


def _check_symbolic(item, case, meta, arrays, prefix, config, result):
    if meta.get("error"):
        result.step, result.message = 1, f"with sympy symbols, raised {_last_line(meta['error'])}"
        return result
    values = arrays.get(f"{prefix}_0")
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


def _show(kwargs):
    return ", ".join(f"{k}={'tensor' + str(tuple(v.shape)) if torch.is_tensor(v) else v}"
                     for k, v in kwargs.items())


def _hint(meta):
    if "NameError" not in str(meta.get("error", "")):
        return ""
    return (" (the grader runs only your imports, definitions and constant assignments, not "
            "computations at the top of a cell: compute that value inside the function)")


def _last_line(text):
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1] if lines else "an error"


# -- one item --------------------------------------------------------------------------------
def check_case(item, case, meta, arrays, prefix, config):
    check = check_step_case if item.kind == "step" else check_call_case
    return check(item, case, meta, arrays, prefix, config)


def explain(item, failing):
    """(Variant, cases it explains) per variant, over the failing cases that can be replayed."""
    explained = {}
    for variant in item.variants:
        count = 0
        for case in failing:
            if case.replay is None:
                continue
            try:
                count += bool(case.replay(variant.fn))
            except Exception:
                pass
        explained[variant.name] = (variant, count)
    return explained
