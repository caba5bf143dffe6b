"""Generated grading inputs, seeded by the course seed: multi-step trajectories and plain calls.

A StepCase is a small quadratic problem, grad(theta) = h * (theta - c) + noise_t, on which the
worker runs the student's rule freely for ``steps`` steps; the grader then checks every step
against the reference applied to the student's own previous iterate. A CallCase is a list of
keyword-argument sets for a plain function. Both serialize to JSON (numbers) plus one ``.npz``
of arrays per item (tensors), the only forms that cross into the worker.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

F32, F64 = torch.float32, torch.float64


@dataclass
class StepCase:
    name: str
    theta0: torch.Tensor
    h: torch.Tensor
    c: torch.Tensor
    noise: torch.Tensor            # [steps, *theta.shape]
    hparams: dict[str, float | torch.Tensor]  # name -> float or tensor broadcasting against theta
    state_keys: tuple[str, ...]
    eta: list[float] | None = None  # schedule multiplier per step; None = not passed

    @property
    def steps(self) -> int:
        return self.noise.shape[0]

    @property
    def dtype(self) -> torch.dtype:
        return self.theta0.dtype

    def grad(self, theta: torch.Tensor, t: int) -> torch.Tensor:
        """The gradient of step ``t`` (1-based) at ``theta``: h * (theta - c) + noise_t."""
        return self.h * (theta - self.c) + self.noise[t - 1]

    def kwargs(self, t: int) -> dict[str, float | torch.Tensor]:
        """Keyword arguments of step ``t`` (1-based), as the worker passes them."""
        kw = {k: v.clone() if torch.is_tensor(v) else v for k, v in self.hparams.items()}
        if self.eta is not None:
            kw["eta"] = self.eta[t - 1]
        return kw


@dataclass
class CallCase:
    name: str
    calls: list[dict[str, Any]]    # one dict of keyword arguments per call
    symbolic: tuple[str, ...] = ()  # argument names passed as sympy symbols instead
    points: list[dict[str, float]] = field(default_factory=list)  # where the symbolic result is evaluated

    @property
    def dtype(self) -> torch.dtype | None:
        for kw in self.calls:
            for v in kw.values():
                if torch.is_tensor(v):
                    return v.dtype
        return None


# -- step rules ------------------------------------------------------------------------------
# Sampling ranges of each hyperparameter (log-uniform when low > 0 and high / low >= 10).
RANGES = {"lr": (0.01, 0.1), "adaptive_lr": (1e-3, 3e-2), "l2": (1e-3, 0.1), "wd": (1e-3, 5e-2),
          "l1": (1e-3, 3e-2), "beta1": (0.5, 0.95), "beta2": (0.9, 0.999), "eps": (1e-8, 1e-6),
          # NAdam's psi: torch's 4e-3 and above, where mu_t visibly moves within a trajectory
          "momentum_decay": (2e-3, 5e-2)}
# Regularization strengths: set to 0 once and gridded with lr.
REGULARIZERS = ("l2", "wd", "l1")


def _sample(rng: np.random.Generator, name: str, adaptive: bool) -> float:
    low, high = RANGES["adaptive_lr" if (name == "lr" and adaptive) else name]
    if high / low >= 10:
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return float(rng.uniform(low, high))


def _problem(rng: np.random.Generator, shape: tuple[int, ...], steps: int, dtype: torch.dtype,
             grad_scale: float = 1.0, curvature: bool = True,
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    theta0 = torch.tensor(rng.normal(size=shape), dtype=dtype)
    h = torch.tensor(rng.uniform(0.1, 2.0, size=shape) if curvature else np.zeros(shape), dtype=dtype)
    c = torch.tensor(rng.normal(size=shape), dtype=dtype)
    noise = torch.tensor(rng.normal(scale=0.5 * grad_scale, size=(steps, *shape)), dtype=dtype)
    return theta0, h, c, noise


def cosine_eta(steps: int, period: int = 10) -> list[float]:
    """Cosine schedule multipliers for ``steps`` steps, restarting every ``period`` steps."""
    return [0.5 * (1 + math.cos(math.pi * (t % period) / period)) for t in range(steps)]


def step_cases(required: Sequence[str], optional: Sequence[str], state_keys: Sequence[str], seed: int,
               adaptive: bool = False, zero_grads: bool = False) -> list[StepCase]:
    """Eight to ten trajectories covering dtypes, defaults, schedules and edge cases of a step rule.

    required/optional: hyperparameter names the rule must take / has defaults for (``eta``
    excluded: it is passed per step in the schedule cases). ``zero_grads`` adds a case whose
    gradient is exactly zero in some coordinates from step 1 on (where eps alone keeps a
    denominator away from 0); a rule that takes ``l1`` gets a case with weights near zero, which
    its threshold zeroes and its steps carry across zero.
    """
    rng = np.random.default_rng(seed)
    reg = [n for n in required if n in REGULARIZERS]

    def hp(names: Sequence[str]) -> dict[str, float]:
        return {n: _sample(rng, n, adaptive) for n in names}

    def case(name: str, shape: tuple[int, ...], steps: int, dtype: torch.dtype,
             hparams: dict[str, float | torch.Tensor], eta: list[float] | None = None,
             **problem: bool | float) -> StepCase:
        theta0, h, c, noise = _problem(rng, shape, steps, dtype, **problem)
        if problem.get("grad_scale", 1.0) < 1e-3:   # tiny gradients: a problem near its optimum
            theta0, c = theta0 * 1e-3, c * 1e-3
            h = h * 1e-3
        return StepCase(name, theta0, h, c, noise, hparams, tuple(state_keys), eta)

    grid_lr = torch.tensor([[_sample(rng, "lr", adaptive)] for _ in range(4)], dtype=F32)
    grid = {"lr": grid_lr, **{n: torch.tensor([[_sample(rng, n, adaptive)] for _ in range(4)],
                                              dtype=F32) for n in reg}}
    extra = {n: v for n, v in hp(optional).items()}
    big_eps = {"eps": 1e-2} if "eps" in optional else {}
    low_beta = {k: v for k, v in (("beta1", 0.5), ("beta2", 0.9)) if k in optional}
    tensor_lr = {**hp(required), "lr": torch.tensor(_sample(rng, "lr", adaptive), dtype=F32)}
    cases = [
        case("float32, default hyperparameters", (6,), 30, F32, hp(required)),
        case("float64, every hyperparameter, cosine schedule eta_t", (3, 4), 40, F64,
             {**hp(required), **extra}, eta=cosine_eta(40)),
        case("float64, no regularization, first steps", (5,), 3, F64,
             {**hp(required), **{n: 0.0 for n in reg}}),
        case("float32, tiny gradients", (6,), 20, F32, hp(required), grad_scale=1e-6),
        case("float64, huge gradients", (6,), 10, F64, hp(required), grad_scale=1e4, curvature=False),
        case("float32, learning rate as a 0-d tensor", (5,), 10, F32, tensor_lr),
        case("float32, grid of 4 configurations (hyperparameters shaped [4, 1])", (4, 5), 20, F32,
             grid, eta=cosine_eta(20, period=7)),
        case("float64, large eps, small betas", (2, 3), 15, F64,
             {**hp(required), **extra, **big_eps, **low_beta}),
    ]
    if zero_grads:
        dead = case("float64, gradient exactly zero in some coordinates from step 1", (2, 4), 12,
                    F64, {**hp(required), **extra})
        for tensor in (dead.h, dead.noise):
            tensor[..., 0, :2] = 0.0   # the first two weights of the first row: h = noise = 0
        cases.append(dead)
    if "l1" in required:
        cases.append(near_zero_case(rng, required, state_keys, adaptive))
    return cases


def near_zero_case(rng: np.random.Generator, required: Sequence[str], state_keys: Sequence[str],
                   adaptive: bool) -> StepCase:
    """Weights that start near zero, some with their optimum at zero, and a threshold l1 of the
    size of one step: the L1 threshold zeroes some weights exactly, the steps carry others
    across zero, so a rule that shrinks without thresholding (or in another order) is seen."""
    shape, steps = (10,), 25
    theta0, h, c, noise = _problem(rng, shape, steps, F64, grad_scale=0.5)
    c[::2] = 0.0                   # the loss's optimum is zero for every other weight
    hparams: dict[str, float | torch.Tensor] = {n: _sample(rng, n, adaptive) for n in required}
    lr = float(hparams["lr"])
    theta0 = theta0.abs() * 3 * lr  # a few of Adam's steps (each about lr long) away from zero,
    theta0[1::2] *= -c[1::2].sign()  # on the far side of zero from the other weights' optimum
    theta0[::2] *= torch.tensor(rng.choice([-1.0, 1.0], size=theta0[::2].shape), dtype=F64)
    hparams["l1"] = lr * float(rng.uniform(0.2, 0.5))
    return StepCase("float64, weights near zero (zeroed by the threshold, stepping across zero)",
                    theta0, h, c, noise, hparams, tuple(state_keys))


# -- plain functions -------------------------------------------------------------------------
def scalar_cases(names: Sequence[str], seed: int, ranges: dict[str, tuple[float, float]],
                 symbolic: bool = True) -> list[CallCase]:
    """Floats, 0-d tensors (both dtypes), a [4, 1] grid, and sympy symbols."""
    rng = np.random.default_rng(seed)

    def draw() -> dict[str, float]:
        return {n: float(rng.uniform(*ranges[n])) for n in names}
    cases = [CallCase("python floats", [draw() for _ in range(5)])]
    for dtype in (F32, F64):
        cases.append(CallCase(f"0-d {str(dtype)[6:]} tensors",
                              [{k: torch.tensor(v, dtype=dtype) for k, v in draw().items()}
                               for _ in range(3)]))
    cases.append(CallCase("[4, 1] float32 grid", [{k: torch.tensor(
        rng.uniform(*ranges[k], size=(4, 1)), dtype=F32) for k in names}]))
    if symbolic:
        cases.append(CallCase("sympy symbols", [], symbolic=tuple(names),
                              points=[draw() for _ in range(3)]))
    return cases


def preconditioner_cases(seed: int) -> list[CallCase]:
    """Gradient histories [t, m] of several lengths, sizes, beta2 and dtypes."""
    rng = np.random.default_rng(seed)
    shapes = [(1, 4, 0.999, F64), (5, 3, 0.9, F64), (30, 6, 0.99, F32), (12, 5, 0.999, F32)]
    cases = []
    for t, m, beta2, dtype in shapes:
        grads = rng.normal(size=(t, m)) + np.sign(rng.normal(size=(t, m))) * 0.1
        cases.append(CallCase(f"{t} gradients of size {m}, beta2={beta2}, {str(dtype)[6:]}",
                              [{"grads": torch.tensor(grads, dtype=dtype), "beta2": beta2}]))
    return cases


def schedule_cases(seed: int) -> list[CallCase]:
    """Steps t = 0..44 of four (period, mult, eta_min, eta_max) settings, one seeded at random."""
    rng = np.random.default_rng(seed)
    settings = [(10, 1, 0.0, 1.0), (4, 2, 0.0, 1.0), (3, 3, 0.1, 0.5),
                (7, 1, float(rng.uniform(0, 0.2)), float(rng.uniform(0.5, 1.0)))]
    cases = []
    for period, mult, lo, hi in settings:
        calls = [{"t": t, "period": period, "mult": mult, "eta_min": lo, "eta_max": hi}
                 for t in range(0, 45)]
        cases.append(CallCase(f"period={period}, mult={mult}, eta in [{lo:.2f}, {hi:.2f}]", calls))
    return cases
