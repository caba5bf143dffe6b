"""Optimizers racing on small 2-D problems, where each one's character can be seen.

``PROBLEMS`` holds five 2-D losses (float64): an ill-conditioned quadratic, the same quadratic
rotated by 45 degrees, Rosenbrock's valley, a saddle and a quadratic with noisy gradients. Each
``Problem`` knows its start point, its minimum value f* (and minimizers), a tolerance (the
contender has "arrived" once loss - f* <= tol) and the extent that ``draw`` plots.

A contender is a name and either

* ``(rule, hparams)``: a function with the course signature ``rule(theta, grad, state, t,
  **hparams) -> (new_theta, new_state)`` (your own update rule), run on theta of shape [2]; or
* ``(optimizer_class, kwargs)``: a ``torch.optim.Optimizer`` subclass, run on one float64
  parameter of shape [2] whose ``.grad`` is set from the problem every step.

wdlab does not reimplement update rules: the optimizers you do not write yourself race as
torch.optim, and yours race beside them. ``SUGGESTED[problem][name]`` is a torch.optim optimizer
with hyperparameters tuned for that problem so that its character shows; ``contenders(problem,
replace={name: (rule, hparams)})`` swaps your rule in for one of them. torch.optim spells the
betas ``betas=(b1, b2)``, the course rules ``beta1=b1, beta2=b2``: translating is up to you, and
``hparams`` may be a function of the suggested kwargs to do it, e.g.
``lambda kw: {"lr": kw["lr"], "beta1": kw["betas"][0], "beta2": kw["betas"][1]}``.

``run(problem, contenders, steps)`` races them (a contender whose iterate stops being finite or
leaves the extent far behind is stopped and marked diverged); ``draw(result)`` plots the paths
over log-spaced level sets and loss - f* against the step; ``table(results)`` prints the steps
each contender needed to arrive. ``wdlab.race_widget`` puts the race under sliders.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .engine import UpdateRule, ZeroState, check_output, check_signature, initial_state

DTYPE = torch.float64
FAR = 10.0  # a contender this many extent widths outside the extent has diverged
NEVER, DIVERGED = "—", "div"
SMOOTH = 20  # steps averaged in the loss panel of a noisy problem
# (rule, hparams) or (torch.optim class, kwargs); hparams may be a function of suggested kwargs
Contender = tuple[UpdateRule | type[torch.optim.Optimizer], Mapping[str, Any]]
Replacement = tuple[UpdateRule, Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]]]


@dataclass(frozen=True, eq=False)
class Problem:
    """A 2-D loss with its exact gradient; ``noise`` > 0 adds seeded N(0, noise^2) noise to it.

    ``loss`` and ``exact_grad`` take theta [..., 2] and return [...] and [..., 2]; the noise of
    step t is the same for every theta and every contender (drawn from ``seed`` and t only).
    """
    name: str
    title: str
    loss_fn: Callable[[torch.Tensor], torch.Tensor]
    exact_grad: Callable[[torch.Tensor], torch.Tensor]
    start: tuple[float, float]
    f_star: float
    minimizers: tuple[tuple[float, float], ...]
    tol: float
    extent: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max
    steps: int = 300  # the race's default length
    noise: float = 0.0
    seed: int = 0
    _noise_blocks: dict[int, torch.Tensor] = field(default_factory=dict, repr=False)

    def loss(self, theta: torch.Tensor) -> torch.Tensor:
        """f(theta) for theta [..., 2] (never noisy)."""
        return self.loss_fn(theta)

    def grad(self, theta: torch.Tensor, t: int) -> torch.Tensor:
        """The gradient a contender sees at step ``t`` (1-based): exact, plus the step's noise."""
        g = self.exact_grad(theta)
        return g + self.noise * self.xi(t) if self.noise else g

    def xi(self, t: int, block: int = 1024) -> torch.Tensor:
        """Standard normal noise [2] of step ``t``: block ``t // block`` is drawn from (seed,
        block number), so any step is reproducible without drawing the steps before it."""
        k, i = divmod(int(t), block)
        if k not in self._noise_blocks:
            rng = np.random.default_rng([self.seed, k])
            self._noise_blocks[k] = torch.from_numpy(rng.standard_normal((block, 2)))
        return self._noise_blocks[k][i]

    def gap(self, loss: np.ndarray) -> np.ndarray:
        """loss - f*, at least 1e-16 where finite (a log axis can show it)."""
        return np.maximum(np.asarray(loss, dtype=float) - self.f_star, 1e-16)

    def is_far(self, x: float, y: float) -> bool:
        """Not finite, or more than FAR extent widths outside the extent."""
        x0, x1, y0, y1 = self.extent
        w, h = x1 - x0, y1 - y0
        return not (x0 - FAR * w <= x <= x1 + FAR * w and y0 - FAR * h <= y <= y1 + FAR * h)


def _quadratic(h: tuple[float, float], degrees: float = 0.0,
               ) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]:
    """f = 1/2 theta^T H theta with H = R diag(h) R^T, R a rotation by ``degrees``."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    rot = torch.tensor([[c, -s], [s, c]], dtype=DTYPE)
    hess = rot @ torch.diag(torch.tensor(h, dtype=DTYPE)) @ rot.T
    return (lambda theta: 0.5 * ((theta @ hess) * theta).sum(-1)), (lambda theta: theta @ hess)


def _rosenbrock(theta: torch.Tensor) -> torch.Tensor:
    x, y = theta[..., 0], theta[..., 1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosenbrock_grad(theta: torch.Tensor) -> torch.Tensor:
    x, y = theta[..., 0], theta[..., 1]
    inner = 200 * (y - x * x)
    return torch.stack([2 * (x - 1) - 2 * x * inner, inner], -1)


def _saddle(theta: torch.Tensor) -> torch.Tensor:
    """x^2/2 - y^2/2 + y^4/4: a saddle at 0, minima -1/4 at (0, +-1)."""
    x, y = theta[..., 0], theta[..., 1]
    y2 = y * y
    return 0.5 * x * x + y2 * (0.25 * y2 - 0.5)


def _saddle_grad(theta: torch.Tensor) -> torch.Tensor:
    return theta * torch.tensor([1.0, -1.0], dtype=theta.dtype) + \
        torch.stack([torch.zeros_like(theta[..., 1]), theta[..., 1] ** 3], -1)


def _problems() -> dict[str, Problem]:
    ill, ill_grad = _quadratic((0.1, 10.0))
    rot, rot_grad = _quadratic((0.1, 10.0), degrees=45.0)
    noisy, noisy_grad = _quadratic((1.0, 4.0))
    r = 1 / math.sqrt(2)
    return {p.name: p for p in [
        Problem("ill_conditioned", "ill-conditioned quadratic, curvatures 0.1 and 10 (κ = 100)",
                ill, ill_grad, (-4.5, 1.0), 0.0, ((0.0, 0.0),), 1e-3, (-5.0, 5.0, -1.5, 1.5)),
        Problem("rotated_valley", "the same quadratic rotated by 45°: a diagonal valley",
                rot, rot_grad, (-4.5 * r - 1.0 * r, -4.5 * r + 1.0 * r), 0.0, ((0.0, 0.0),), 1e-3,
                (-4.5, 4.5, -4.5, 4.5)),
        Problem("rosenbrock", "Rosenbrock: (1 - x)² + 100 (y - x²)²", _rosenbrock, _rosenbrock_grad,
                (-1.2, 1.0), 0.0, ((1.0, 1.0),), 1e-2, (-2.0, 2.0, -1.0, 3.0), steps=500),
        Problem("saddle", "saddle x²/2 - y²/2 + y⁴/4, started just off the saddle point",
                _saddle, _saddle_grad, (1.2, 1e-4), -0.25, ((0.0, 1.0), (0.0, -1.0)), 1e-3,
                (-1.5, 1.5, -1.6, 1.6)),
        Problem("noisy", "quadratic (curvatures 1 and 4), gradients with N(0, 1) noise",
                noisy, noisy_grad, (-2.5, 1.5), 0.0, ((0.0, 0.0),), 1e-2, (-3.0, 3.0, -2.0, 2.0),
                noise=1.0, seed=0),
    ]}


PROBLEMS: dict[str, Problem] = _problems()

_OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "SGD": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {"momentum": 0.9}),
    "Nesterov": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "Adagrad": (torch.optim.Adagrad, {}),
    "Adadelta": (torch.optim.Adadelta, {}),
    "RMSProp": (torch.optim.RMSprop, {}),
    "Adam": (torch.optim.Adam, {"betas": (0.9, 0.999)}),
    "AMSGrad": (torch.optim.Adam, {"betas": (0.9, 0.999), "amsgrad": True}),
    "Adamax": (torch.optim.Adamax, {"betas": (0.9, 0.999)}),
    "NAdam": (torch.optim.NAdam, {"betas": (0.9, 0.999)}),
    "RAdam": (torch.optim.RAdam, {"betas": (0.9, 0.999)}),
}
# Learning rates per problem, in the order of _OPTIMIZERS, chosen by sweeping each one over
# 1e-4..100 and keeping a value where its typical behaviour shows (not a lucky single step):
# the rotated valley keeps the ill-conditioned problem's values, so only the rotation differs;
# momentum and Nesterov share one; the Adam family shares one.
_LRS = {  # SGD, momentum, Nesterov, Adagrad, Adadelta, RMSProp, Adam, AMSGrad, Adamax, NAdam, RAdam
    "ill_conditioned": (0.19, 0.1, 0.1, 1.0, 30.0, 0.1, 0.3, 0.3, 0.3, 0.3, 0.3),
    "rotated_valley": (0.19, 0.1, 0.1, 1.0, 30.0, 0.1, 0.3, 0.3, 0.3, 0.3, 0.3),
    "rosenbrock": (1e-3, 1.2e-3, 1.2e-3, 0.5, 10.0, 0.01, 0.3, 0.3, 0.3, 0.3, 0.3),
    "saddle": (0.1, 0.1, 0.1, 0.3, 10.0, 0.03, 0.1, 0.1, 0.1, 0.1, 0.1),
    "noisy": (0.05, 0.01, 0.01, 0.5, 30.0, 0.03, 0.1, 0.1, 0.1, 0.1, 0.1),
}
SUGGESTED: dict[str, dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]]] = {
    problem: {name: (cls, {"lr": lr, **kwargs})
              for (name, (cls, kwargs)), lr in zip(_OPTIMIZERS.items(), lrs, strict=True)}
    for problem, lrs in _LRS.items()}
# The contenders whose character each problem shows best (the figures' default selection).
FEATURED: dict[str, tuple[str, ...]] = {
    "ill_conditioned": ("SGD", "momentum", "Nesterov", "Adagrad", "Adam"),
    "rotated_valley": ("SGD", "momentum", "Adagrad", "RMSProp", "Adam"),
    "rosenbrock": ("SGD", "momentum", "Nesterov", "Adam", "RAdam"),
    "saddle": ("SGD", "momentum", "Adagrad", "Adam", "Adadelta"),
    "noisy": ("SGD", "momentum", "Adagrad", "Adam", "Adamax"),
}
COLORS = {name: f"C{i}" if i < 10 else "k" for i, name in enumerate(_OPTIMIZERS)}
EXTRA_COLORS = ["crimson", "teal", "darkorange", "navy", "olive", "magenta"]  # other contenders


def contenders(problem: str, names: Sequence[str] | None = None,
               replace: Mapping[str, Replacement] | None = None) -> dict[str, Contender]:
    """The suggested optimizers of ``problem`` (all, or ``names`` in that order), with
    ``replace[name] = (rule, hparams)`` racing in place of ``name``. ``hparams`` is a dict of the
    rule's own hyperparameters, or a function that gets the suggested torch kwargs and returns
    them (map ``betas=(b1, b2)`` to ``beta1``, ``beta2`` there)."""
    if problem not in SUGGESTED:
        raise ValueError(f"unknown problem {problem!r}; choose one of {list(SUGGESTED)}")
    table = SUGGESTED[problem]
    names = list(table) if names is None else list(names)
    replace = dict(replace or {})
    unknown = [n for n in [*names, *replace] if n not in table]
    if unknown:
        raise ValueError(f"unknown optimizer names {unknown}; the suggested ones are {list(table)}")
    missing = [n for n in replace if n not in names]
    if missing:
        raise ValueError(f"replace names {missing} that are not among the names raced {names}: "
                         "add them to names")
    out: dict[str, Contender] = {}
    for name in names:
        cls, kwargs = table[name]
        if name in replace:
            spec = replace[name]
            if not (isinstance(spec, tuple) and len(spec) == 2):
                raise ValueError(f"replace[{name!r}] must be (rule, hparams), got {spec!r}")
            rule, hp = spec
            out[name] = (rule, dict(hp(dict(kwargs)) if callable(hp) else hp))
        else:
            out[name] = (cls, dict(kwargs))
    return out


class ContenderError(ValueError):
    """A contender that cannot race: its message names the contender and the fix."""


@dataclass
class RaceResult:
    """One race: every contender's path [steps + 1, 2] and loss [steps + 1] (NaN after it was
    stopped), the step at which each diverged contender was stopped, and the wall time."""
    problem: Problem
    steps: int
    paths: dict[str, np.ndarray]
    losses: dict[str, np.ndarray]
    diverged: dict[str, int]
    seconds: float = 0.0

    def steps_to_tol(self, name: str) -> int | None:
        """The first step with loss - f* <= tol (0: the start), None if never."""
        if name not in self.losses:
            raise ValueError(f"no contender {name!r} in this race; it has {list(self.losses)}")
        hit = np.flatnonzero(self.losses[name] - self.problem.f_star <= self.problem.tol)
        return int(hit[0]) if hit.size else None

    def cell(self, name: str) -> str:
        """The table's entry: the steps to tolerance, "div" or "—"."""
        n = self.steps_to_tol(name)
        return str(n) if n is not None else DIVERGED if name in self.diverged else NEVER


def _is_optimizer(obj: object) -> bool:
    return isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer)


def check_contenders(contenders: Mapping[str, Contender]) -> None:
    """ValueError naming the first contender that is neither (rule, hparams) nor
    (torch.optim class, kwargs)."""
    if not isinstance(contenders, Mapping) or not contenders:
        raise ValueError("contenders must be a non-empty dict name -> (rule, hparams) or "
                         f"(torch.optim class, kwargs), got {contenders!r}")
    for name, spec in contenders.items():
        if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], Mapping)):
            raise ContenderError(f"contender {name!r} must be (rule, hparams dict) or (torch.optim class, "
                             f"kwargs dict), got {spec!r}")
        fn, hp = spec
        if isinstance(fn, type) and not _is_optimizer(fn):
            raise ContenderError(f"contender {name!r}: {fn.__name__} is a class but not a "
                             "torch.optim.Optimizer; pass an optimizer class or a course rule")
        if not _is_optimizer(fn):
            try:
                check_signature(fn, hp)
            except ValueError as err:
                raise ContenderError(f"contender {name!r}: {err}") from None


def _race_rule(rule: UpdateRule, hp: Mapping[str, Any], problem: Problem, steps: int, name: str,
               path: list[tuple[float, float]]) -> int | None:
    theta = torch.tensor(problem.start, dtype=DTYPE)
    state = initial_state(rule, theta)
    lazy = isinstance(state, ZeroState)  # a rule without declared state: missing keys read as zeros
    for t in range(1, steps + 1):
        out = rule(theta, problem.grad(theta, t), state, t, **hp)
        if t == 1:
            try:
                check_output(out, theta)
            except ValueError as err:
                raise ContenderError(f"contender {name!r}: {err}") from None
        theta, state = out
        if lazy and not isinstance(state, ZeroState):
            state = ZeroState(theta, state)
        x, y = theta.tolist()
        path.append((x, y))
        if problem.is_far(x, y):
            return t
    return None


def _race_optimizer(cls: type[torch.optim.Optimizer], kwargs: Mapping[str, Any], problem: Problem,
                    steps: int, name: str, path: list[tuple[float, float]]) -> int | None:
    p = torch.tensor(problem.start, dtype=DTYPE, requires_grad=True)
    try:
        opt = cls([p], **kwargs)
    except (TypeError, ValueError) as err:
        raise ContenderError(f"contender {name!r}: {cls.__name__}(**{dict(kwargs)}) failed: {err}") from None
    with torch.no_grad():
        for t in range(1, steps + 1):
            p.grad = problem.grad(p, t)
            opt.step()
            x, y = p.tolist()
            path.append((x, y))
            if problem.is_far(x, y):
                return t
    return None


def run(problem: Problem | str, contenders: Mapping[str, Contender], steps: int | None = None,
        ) -> RaceResult:
    """Race ``contenders`` for ``steps`` steps (default: the problem's) from its start point (see the module
    docstring for what a contender is). A contender whose iterate is not finite or lies far
    outside the extent is stopped there: the rest of its path and losses are NaN."""
    problem = PROBLEMS[problem] if isinstance(problem, str) and problem in PROBLEMS else problem
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a Problem or one of {list(PROBLEMS)}, got {problem!r}")
    steps = problem.steps if steps is None else steps
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    check_contenders(contenders)
    start = time.perf_counter()
    paths, losses, diverged = {}, {}, {}
    for name, (fn, hp) in contenders.items():
        path = [problem.start]
        race = _race_optimizer if _is_optimizer(fn) else _race_rule
        try:
            stopped = race(fn, hp, problem, steps, name, path)
        except ContenderError:
            raise
        except Exception as err:
            err.add_note(f"raised by contender {name!r} on problem {problem.name!r}")
            raise
        if stopped is not None:
            diverged[name] = stopped
        array = np.full((steps + 1, 2), np.nan)
        array[:len(path)] = path
        paths[name] = array
        with np.errstate(all="ignore"):
            losses[name] = problem.loss(torch.from_numpy(array)).numpy()
    return RaceResult(problem, steps, paths, losses, diverged, time.perf_counter() - start)


def table(results: Sequence[RaceResult]) -> str:
    """Steps to tolerance as plain text: a row per problem, a column per contender ("—": never
    arrived, "div": stopped as diverged before arriving)."""
    names = list(dict.fromkeys(name for r in results for name in r.paths))
    rows = [["problem (tol)", *names]]
    for r in results:
        rows.append([f"{r.problem.name} ({r.problem.tol:g})",
                     *(r.cell(name) if name in r.paths else "" for name in names)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in rows]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


class Drawing:
    """The figure of one race, redrawn up to any step with ``show_until`` (data of the existing
    artists only: the level sets are drawn once)."""

    def __init__(self, result: RaceResult, names: Sequence[str] | None = None,
                 figsize: tuple[float, float] = (12.5, 4.6)) -> None:
        self.result, p = result, result.problem
        self.names = list(result.paths) if names is None else list(names)
        self.fig = Figure(figsize=figsize)
        # fixed margins, the legend outside both panels on the right
        self.fig.subplots_adjust(left=0.06, right=0.8, bottom=0.12, top=0.88, wspace=0.22)
        self.ax_path, self.ax_loss = self.fig.subplots(1, 2)
        x0, x1, y0, y1 = p.extent
        xs, ys = np.linspace(x0, x1, 160), np.linspace(y0, y1, 160)
        gap = p.gap(p.loss(torch.tensor(np.stack(np.meshgrid(xs, ys), -1))).numpy())
        low = max(float(gap.min()), p.tol / 10)
        levels = np.geomspace(low, float(gap.max()), 14)
        self.ax_path.contour(xs, ys, gap, levels=levels, cmap="Greys_r", linewidths=0.7,
                             norm="log", alpha=0.6)
        for m in p.minimizers:
            self.ax_path.plot(*m, "*", color="gold", ms=14, markeredgecolor="k", zorder=5)
        self.ax_path.plot(*p.start, "ks", ms=6, zorder=5)
        self.ax_path.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$x$", ylabel="$y$",
                         title="paths over level sets of $f - f^*$ (log-spaced)")
        self.ax_loss.axhline(p.tol, color="0.4", ls="--", lw=1)
        self.ax_loss.set(yscale="log", xlabel="step", ylabel="$f - f^*$", xlim=(0, result.steps),
                         title=f"loss gap{f', running mean of {SMOOTH} steps' if p.noise else ''} "
                               f"(dashed: tolerance {p.tol:g})")
        finite = [p.gap(result.losses[n]) for n in self.names]
        finite = np.concatenate([g[np.isfinite(g)] for g in finite] or [np.ones(1)])
        # up to a thousand times the start's gap: a diverging contender would squash the rest
        top = min(float(finite.max()), 1e3 * float(p.gap(result.losses[self.names[0]][0])))
        self.ax_loss.set_ylim(max(float(finite.min()), 1e-12) / 3, top * 3)
        # under noise the raw gap jumps by decades from step to step: show its running mean
        self.curves = {n: running_mean(p.gap(result.losses[n]), SMOOTH if p.noise else 1) for n in self.names}
        self.lines: dict[str, tuple[Line2D, Line2D, Line2D]] = {}
        extra = iter(EXTRA_COLORS * (1 + len(self.names) // len(EXTRA_COLORS)))
        for name in self.names:
            color = COLORS.get(name) or next(extra)
            cell = result.cell(name)
            label = f"{name}: {cell}" + (" steps" if cell.isdigit() else "")
            path_line, = self.ax_path.plot([], [], "-", color=color, lw=1.4, alpha=0.9, label=label)
            head, = self.ax_path.plot([], [], "o", color=color, ms=5, markeredgecolor="k")
            loss_line, = self.ax_loss.plot([], [], "-", color=color, lw=1.4)
            self.lines[name] = (path_line, head, loss_line)
        self.cursor = self.ax_loss.axvline(result.steps, color="0.6", lw=0.8)
        self.fig.suptitle(p.title)
        self.fig.legend(handles=[lines[0] for lines in self.lines.values()], loc="center left",
                        bbox_to_anchor=(0.81, 0.5), fontsize=8, frameon=False,
                        title="steps to tolerance")
        self.show_until(result.steps)

    def show_until(self, k: int) -> None:
        """Paths and loss curves up to step ``k`` (0 <= k <= steps), the current points marked;
        a diverged path ends with a cross at the step where it was stopped."""
        k = min(max(int(k), 0), self.result.steps)
        steps = np.arange(k + 1)
        for name, (path_line, head, loss_line) in self.lines.items():
            path = self.result.paths[name][:k + 1]
            path_line.set_data(path[:, 0], path[:, 1])
            last = path[np.isfinite(path).all(1)][-1]
            head.set_data([last[0]], [last[1]])
            stopped = self.result.diverged.get(name)
            head.set_marker("X" if stopped is not None and stopped <= k else "o")
            loss_line.set_data(steps, self.curves[name][:k + 1])
        self.cursor.set_xdata([k, k])


def running_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each index (fewer at the start)."""
    if window <= 1:
        return x
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(1, len(x) + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)


def draw(result: RaceResult, names: Sequence[str] | None = None, until: int | None = None) -> Figure:
    """Left: the paths of ``names`` (default: all) over log-spaced level sets of f - f*, the
    minimizers starred; right: f - f* against the step on a log axis, the tolerance dashed. The
    legend (outside, right) gives each contender's steps to tolerance. ``until``: draw only the
    first steps. Returns a matplotlib Figure that belongs to no pyplot backend."""
    unknown = [n for n in names or [] if n not in result.paths]
    if unknown:
        raise ValueError(f"names {unknown} did not race; the race has {list(result.paths)}")
    drawing = Drawing(result, names)
    if until is not None:
        drawing.show_until(until)
    return drawing.fig
