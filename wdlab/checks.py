"""Helpers of the notebooks' visible checks: each check judges only the function under it.

A visible check must never blame code that is right. So it

* calls the function under test on **fresh copies** of its inputs (``call`` and ``rule``): a
  function that changes an input in place is named at once, and the shared tensors of the
  notebook stay as they were for every later check;
* compares with **fixed expected numbers**, written into the check when it was authored, or with
  ``torch.optim`` where torch implements the same rule -- never with another function the student
  wrote (``close``);
* fails with a message that gives the **measured difference** and a hint at the usual cause.

Every helper raises AssertionError (what a failed ``assert`` raises) and writes nothing to
stderr, so a correct function passes silently.
"""
from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

__all__ = ["call", "close", "rule", "same_dtype"]


def _fresh(value: Any) -> Any:
    """A deep copy: tensors cloned, containers rebuilt, everything else copied."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    return copy.deepcopy(value)


def _changed(before: Any, after: Any) -> str | None:
    """How ``after`` differs from ``before``, to follow the argument's name (" changed by up to
    0.1", "['m'] changed by ..."); None when it does not."""
    if isinstance(before, torch.Tensor):
        if not isinstance(after, torch.Tensor) or after.shape != before.shape or after.dtype != before.dtype:
            return " was replaced by a different object"
        if torch.equal(before, after) or (before.is_floating_point()
                                          and torch.equal(before.isnan(), after.isnan())
                                          and torch.equal(before.nan_to_num(), after.nan_to_num())):
            return None
        largest = (after.double() - before.double()).abs().nan_to_num(math.inf).max()
        return f" changed by up to {float(largest):.3g}"
    if isinstance(before, Mapping):
        if not isinstance(after, Mapping):
            return " was replaced by a different object"
        if set(after) != set(before):
            return f" had its keys changed from {sorted(before)} to {sorted(after)}"
        for key in before:
            found = _changed(before[key], after[key])
            if found:
                return f"[{key!r}]{found}"
        return None
    return None


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` on fresh copies of the arguments; AssertionError if ``fn`` changed
    any of its tensor (or dict of tensors) arguments in place."""
    name = getattr(fn, "__name__", "the function")
    fresh_args = [_fresh(a) for a in args]
    fresh_kwargs = {k: _fresh(v) for k, v in kwargs.items()}
    out = fn(*fresh_args, **fresh_kwargs)
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):   # a builtin or a callable without a signature
        names = []
    changed = [(names[i] if i < len(names) else f"#{i + 1}", _changed(before, after))
               for i, (before, after) in enumerate(zip(args, fresh_args))]
    changed += [(key, _changed(before, fresh_kwargs[key])) for key, before in kwargs.items()]
    for argument, found in changed:
        if found:
            raise AssertionError(
                f"{name} changed its argument {argument} in place ({argument}{found}). Build new "
                "tensors (m = beta1 * m + ...) instead of updating the inputs (m.mul_(...), "
                "theta -= ..., state['m'] = ...): the caller still needs them.")
    return out


def rule(fn: Callable[..., Any], theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor],
         t: int, **hparams: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One step of an update rule with the course signature, through ``call``, with the shape of
    its reply checked: a pair (new_theta, new_state), new_theta shaped like theta, new_state a
    dict with the same keys as ``state`` holding tensors shaped like theta."""
    name = getattr(fn, "__name__", "the rule")
    out = call(fn, theta, grad, state, t, **hparams)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise AssertionError(f"{name} must return a pair (new_theta, new_state), got {type(out).__name__}")
    new_theta, new_state = out
    if not isinstance(new_theta, torch.Tensor) or new_theta.shape != theta.shape:
        got = tuple(new_theta.shape) if isinstance(new_theta, torch.Tensor) else type(new_theta).__name__
        raise AssertionError(f"{name}: new_theta must be a tensor shaped like theta {tuple(theta.shape)}, "
                             f"got {got}")
    if not isinstance(new_state, dict) or set(new_state) != set(state):
        got = sorted(new_state) if isinstance(new_state, dict) else type(new_state).__name__
        raise AssertionError(f"{name}: new_state must be a dict with the keys {sorted(state)}, got {got}")
    for key, value in new_state.items():
        if not isinstance(value, torch.Tensor) or value.shape != theta.shape:
            raise AssertionError(f"{name}: new_state[{key!r}] must be a tensor shaped like theta")
    return new_theta, new_state


def close(got: Any, want: Any, what: str, hint: str = "", rtol: float = 1e-7,
          atol: float = 1e-10) -> None:
    """AssertionError unless ``got`` equals ``want`` within ``rtol`` / ``atol`` (floats, tensors or
    anything torch.as_tensor takes). The message names ``what`` was compared, the largest
    difference, where it is, both values there, and ``hint``."""
    try:
        g = torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got, dtype=torch.float64).cpu()
    except (TypeError, ValueError, RuntimeError):
        raise AssertionError(f"{what}: expected a number or a tensor, got {type(got).__name__}") from None
    w = torch.as_tensor(want, dtype=torch.float64)
    if g.shape != w.shape:
        raise AssertionError(f"{what}: expected shape {tuple(w.shape)}, got {tuple(g.shape)}")
    diff = (g - w).abs()
    bad = ~(diff <= atol + rtol * w.abs())          # also True where got is NaN
    if not bool(bad.any()):
        return
    where = int(torch.nan_to_num(diff, nan=math.inf).flatten().argmax())
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(where), g.shape)) if g.dim() else ()
    largest = float(torch.nan_to_num(diff, nan=math.inf).max())
    at = f" at index {index[0] if len(index) == 1 else index}" if index else ""
    message = (f"{what}: largest difference {largest:.3g}{at} (got {float(g[index]):.10g}, "
               f"expected {float(w[index]):.10g})")
    raise AssertionError(message + (f". Hint: {hint}" if hint else ""))


def same_dtype(got: torch.Tensor, like: torch.Tensor, what: str) -> None:
    """AssertionError unless ``got`` is a tensor with the dtype and device of ``like``."""
    if not isinstance(got, torch.Tensor):
        raise AssertionError(f"{what}: expected a tensor, got {type(got).__name__}")
    if got.dtype != like.dtype or got.device != like.device:
        raise AssertionError(f"{what}: expected {like.dtype} on {like.device}, got {got.dtype} on "
                             f"{got.device}; compute with the inputs' tensors and do not convert")
