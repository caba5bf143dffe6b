"""Checks the notebooks' hidden tests run: a student's rule against the hidden reference.

Used only inside ``### BEGIN HIDDEN TESTS`` regions (students never import autograder)::

    from autograder.reference.checks import check_rule
    check_rule(adamw_step, "adamw_paper", lr=(1e-4, 1e-1), wd=(1e-4, 1e-1), beta1=0.9)

``check_rule`` runs multi-step trajectories of the student's function and of
``autograder.reference.RULES[name]`` on several random cases -- float32 and float64, on the
devices of the course's device policy (``devices``), t = 1 from a zero state, tiny and huge
gradients, a varying schedule multiplier eta_t, every regularization hyperparameter (l2, wd, l1,
or those named by ``regularizers``) at 0 once, lr and the regularizers as [G, 1] tensors over a
[G, m] theta -- and fails with an AssertionError
that names the case and the first wrong step. It also checks that inputs are not modified in
place and that the rule does not delegate to torch.optim (neither an optimizer nor a functional
kernel such as torch.optim.adam.adam or torch.optim.nadam._single_tensor_nadam). Hyperparameters
are given as a fixed value or a (low, high) log-uniform range.
"""
from __future__ import annotations

import contextlib
import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any, NoReturn

import torch

from autograder.reference import RULES, Rule
from course_config import CONFIG

REGULARIZERS = ("l2", "wd", "l1")
GRAD_SCALES = (1.0, 1e-8, 1e6)


def devices(policy: str | None = None) -> list[str]:
    """Where the checks run, from the course's device policy: "cpu" -> CPU only, "cuda" -> the
    GPU only (an error without one), "auto" -> CPU, and the GPU too when there is one."""
    policy = CONFIG.device if policy is None else policy
    if policy == "cpu":
        return ["cpu"]
    if policy == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("course_config: device is 'cuda' but no CUDA GPU is available; "
                               "set COURSE_DEVICE=cpu or auto")
        return ["cuda"]
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def tolerance(dtype: torch.dtype) -> dict[str, float]:
    """rtol and atol for ``dtype`` from the course config, as keyword arguments of assert_close."""
    rtol, atol = CONFIG.tolerances[str(dtype).removeprefix("torch.")]
    return {"rtol": rtol, "atol": atol}


# torch.optim's functional update kernels (torch.optim.adam.adam, _single_tensor_adam, ...):
# a rule could call them without creating an optimizer.
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adamax", "nadam", "radam", "adadelta",
              "asgd", "rprop")
KERNEL_MODULES = ("_functional", "optimizer", *OPTIMIZERS)
KERNEL_NAME = re.compile(rf"_?(single_tensor_|multi_tensor_|fused_)?({'|'.join(OPTIMIZERS)})")


def _optim_entry_points() -> list[tuple[type | ModuleType, str]]:
    """(owner, attribute) of every torch.optim entry point a rule could delegate to."""
    points: list[tuple[type | ModuleType, str]] = [(torch.optim.Optimizer, "__init__")]
    for name in KERNEL_MODULES:
        try:
            module = importlib.import_module(f"torch.optim.{name}")
        except ImportError:
            continue
        points += [(module, attr) for attr in dir(module)
                   if KERNEL_NAME.fullmatch(attr) and callable(getattr(module, attr))]
    return points


@contextlib.contextmanager
def forbid_torch_optim() -> Iterator[None]:
    """Inside this block, creating any torch.optim optimizer or calling one of its functional
    update kernels raises."""
    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("the rule must be written with tensor operations, not torch.optim")
    saved = [(owner, attr, getattr(owner, attr)) for owner, attr in _optim_entry_points()]
    for owner, attr, _ in saved:
        setattr(owner, attr, refuse)
    try:
        yield
    finally:
        for owner, attr, original in saved:
            setattr(owner, attr, original)


def _sample(spec: float | tuple[float, float], gen: torch.Generator) -> float:
    if isinstance(spec, tuple):
        low, high = (torch.tensor(float(v)).log() for v in spec)
        return float((low + (high - low) * torch.rand((), generator=gen, dtype=torch.float64)).exp())
    return spec


def _cases(hparams: dict[str, float | tuple[float, float]], seed: int,
           regularizers: tuple[str, ...] = REGULARIZERS,
           ) -> list[tuple[str, tuple[int, ...], dict[str, float | torch.Tensor], float]]:
    """(label, shape, hparams, grad scale) for each case; devices and dtypes are added later.

    Each hyperparameter named in ``regularizers`` is set to 0 in one case and gridded with lr in
    another."""
    gen = torch.Generator().manual_seed(seed)
    cases = []
    for i, scale in enumerate(GRAD_SCALES * 2):
        hp = {k: _sample(v, gen) for k, v in hparams.items()}
        shape = [(7,), (3, 4), (2, 3, 2)][i % 3]
        cases.append((f"random case {i} (gradient scale {scale:g})", shape, hp, scale))
    for key in regularizers:
        if key in hparams:
            hp = {k: _sample(v, gen) for k, v in hparams.items()}
            cases.append((f"{key}=0", (5,), {**hp, key: 0.0}, 1.0))
    hp = {k: _sample(v, gen) for k, v in hparams.items()}
    # A grid of three configurations at once: lr and the regularizer as [3, 1] tensors.
    gridded = [k for k in ("lr", *regularizers) if isinstance(hp.get(k), float)]
    if gridded:
        tensors = {k: torch.tensor([[hp[k]], [hp[k] / 10], [hp[k] * 3]], dtype=torch.float64)
                   for k in gridded}
        cases.append((f"{' and '.join(gridded)} as [3, 1] tensors over theta [3, 4]", (3, 4),
                      {**hp, **tensors}, 1.0))
    return cases


def _to(hp: dict[str, float | torch.Tensor], dtype: torch.dtype, device: str | torch.device,
        ) -> dict[str, float | torch.Tensor]:
    return {k: v.to(dtype=dtype, device=device) if torch.is_tensor(v) else v for k, v in hp.items()}


def _compare(got: torch.Tensor, want: torch.Tensor, what: str, dtype: torch.dtype) -> None:
    try:
        torch.testing.assert_close(got, want, **tolerance(dtype), check_device=True)
    except AssertionError as err:
        raise AssertionError(f"{what}: {str(err).splitlines()[0]}") from None


def check_trajectory(fn: Callable[..., Any], rule: Rule, shape: tuple[int, ...],
                     hp: dict[str, float | torch.Tensor], scale: float, dtype: torch.dtype,
                     device: str | torch.device, steps: int, gen: torch.Generator, label: str) -> None:
    """One case: ``steps`` steps of ``fn`` and of the reference from the same inputs."""
    theta = torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)
    hp = _to(hp, dtype, device)
    mine, ref = theta.clone(), theta.clone()
    s_mine, s_ref = rule.init_state(theta), rule.init_state(theta)
    for t in range(1, steps + 1):
        grad = scale * torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)
        eta = 1.0 if t <= 2 else float(torch.rand((), generator=gen)) + 0.1
        where = f"{label}, {dtype}, {device}, step t={t}"
        inputs = (mine.clone(), grad.clone(), {k: v.clone() for k, v in s_mine.items()})
        out = fn(theta=mine, grad=grad, state=s_mine, t=t, eta=eta, **hp)
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
            raise AssertionError(f"{where}: must return (new_theta, new_state_dict)")
        _compare(mine, inputs[0], f"{where}: theta was modified in place", dtype)
        _compare(grad, inputs[1], f"{where}: grad was modified in place", dtype)
        for k in s_mine:
            _compare(s_mine[k], inputs[2][k], f"{where}: state[{k!r}] was modified in place", dtype)
        ref_theta, s_ref = rule(ref, grad, s_ref, t, eta=eta, **hp)
        mine, s_mine = out
        if set(s_mine) != set(s_ref):
            raise AssertionError(f"{where}: state keys {sorted(s_mine)}, expected {sorted(s_ref)}")
        _compare(mine, ref_theta, f"{where}: theta differs from the expected update", dtype)
        for k in s_ref:
            _compare(s_mine[k], s_ref[k], f"{where}: state[{k!r}] differs", dtype)
        ref = ref_theta


def check_rule(fn: Callable[..., Any], name: str, *, steps: int = 6, seed: int = 0,
               regularizers: tuple[str, ...] = REGULARIZERS,
               **hparams: float | tuple[float, float]) -> None:
    """Compare ``fn`` with ``RULES[name]`` on every case, dtype and device (see module doc).

    ``regularizers``: the hyperparameters that are set to 0 once and gridded with lr (those of
    them that ``hparams`` gives)."""
    if isinstance(regularizers, str):
        raise TypeError(f"check_rule: regularizers must be a tuple of names, got the string "
                        f"{regularizers!r}; write regularizers=({regularizers!r},)")
    rule = RULES[name]
    gen = torch.Generator().manual_seed(seed)
    with forbid_torch_optim():
        theta = torch.randn(4, generator=gen, dtype=torch.float64)
        hp = {k: _sample(v, gen) for k, v in hparams.items()}
        fn(theta=theta, grad=torch.ones_like(theta), state=rule.init_state(theta), t=1, **hp)
    with forbid_torch_optim():
        for label, shape, hp, scale in _cases(hparams, seed, regularizers):
            for dtype in (torch.float32, torch.float64):
                for device in devices():
                    check_trajectory(fn, rule, shape, hp, scale, dtype, device, steps, gen, label)


def check_function(fn: Callable[..., Any], reference: Callable[..., float | torch.Tensor],
                   cases: Iterable[dict[str, Any]], dtype: torch.dtype = torch.float64) -> None:
    """Compare ``fn(**kwargs)`` with ``reference(**kwargs)`` for each kwargs dict in ``cases``."""
    for kwargs in cases:
        got, want = fn(**kwargs), reference(**kwargs)
        if torch.is_tensor(want):
            _compare(torch.as_tensor(got, dtype=want.dtype, device=want.device), want,
                     f"inputs {kwargs}", want.dtype)
        else:
            rtol, atol = CONFIG.tolerances["float64"]
            if abs(float(got) - float(want)) > atol + rtol * abs(float(want)):
                raise AssertionError(f"inputs {kwargs}: got {got}, expected {want}")
