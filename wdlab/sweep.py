"""Hyperparameter grids trained in one stacked computation.

``sweep(rule, data, grid={"lr": [...], "wd": [...]})`` trains every combination at once: the
parameters get a leading grid dimension G and each hyperparameter becomes a [G, 1] tensor, so
the rule's arithmetic runs for all configurations together. A grid axis named "schedule"
holds schedule functions (None = constant), so schedules can be compared on one landscape.
A rule that cannot take tensor hyperparameters is trained one configuration at a time.

On CPU the grid is cut into parts that train side by side, one per idle core, each on one
intra-op thread (``wdlab.threads`` says why); the parts never wait for each other, so a busy
machine costs no more than it would with one thread. Results do not depend on the cut
(beyond float rounding: BLAS may block a smaller product differently).
"""
from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from . import engine, threads
from .engine import HParam, Schedule, UpdateRule
from .progress import progress_bar
from .train import check_common, schedule_table, setup

if TYPE_CHECKING:
    from data_gen import Split

    from .model import MLP

# One value on a grid axis: a hyperparameter, or on the "schedule" axis a schedule (None = constant).
GridValue = float | Schedule | None
# The fewest configurations worth a part of their own: below it the per-step Python work of a
# part outweighs what a second core gains.
MIN_PART = 4


@dataclass
class SweepResult:
    """Results over a grid. Arrays are shaped ``shape`` = [len(v) for v in grid.values()]
    (plus a trailing time axis for curves).

    val_acc, val_loss: final validation accuracy / loss; train_loss: per-step minibatch loss;
    curves: {"val_acc", "val_loss"} at ``eval_steps``; mode: "batched" or "loop" (with ``note``
    saying why the rule could not be batched); fused: whether the rule's in-place update ran
    (see ``wdlab.engine``); workers: how many parts of the grid trained side by side.
    """
    grid: dict[str, list[GridValue]]
    val_acc: np.ndarray
    val_loss: np.ndarray
    train_loss: np.ndarray
    curves: dict[str, np.ndarray]
    eval_steps: np.ndarray
    seconds: float
    mode: str = "batched"
    note: str = ""
    fixed: dict[str, HParam | GridValue] = field(default_factory=dict)
    fused: bool = False
    workers: int = 1

    @property
    def names(self) -> list[str]:
        """The grid's axis names, in axis order."""
        return list(self.grid)

    @property
    def shape(self) -> tuple[int, ...]:
        """The grid's shape: one length per axis."""
        return self.val_acc.shape

    def select(self, name: str, index: int) -> SweepResult:
        """The sweep with axis ``name`` fixed at position ``index`` (one axis fewer)."""
        if name not in self.grid:
            raise ValueError(f"name must be one of the grid axes {self.names}, got {name!r}")
        axis = self.names.index(name)
        if not -len(self.grid[name]) <= index < len(self.grid[name]):
            raise ValueError(f"index must be within the {len(self.grid[name])} values of {name!r}, "
                             f"got {index}")
        take = lambda a: np.take(a, index, axis=axis)  # noqa: E731
        grid = {k: v for k, v in self.grid.items() if k != name}
        return SweepResult(grid, take(self.val_acc), take(self.val_loss), take(self.train_loss),
                           {k: take(v) for k, v in self.curves.items()}, self.eval_steps,
                           self.seconds, self.mode, self.note,
                           {**self.fixed, name: self.grid[name][index]}, self.fused, self.workers)

    def best(self, metric: str = "val_acc") -> dict[str, GridValue]:
        """The grid values of the best configuration (highest accuracy / lowest loss)."""
        values = getattr(self, metric)
        clean = np.where(np.isfinite(values), values, -np.inf if metric == "val_acc" else np.inf)
        index = np.unravel_index(np.argmax(clean) if metric == "val_acc" else np.argmin(clean),
                                 values.shape)
        return {name: vals[i] for (name, vals), i in zip(self.grid.items(), index)}


def check_grid(grid: dict[str, Iterable[GridValue]],
               fixed: Mapping[str, HParam]) -> dict[str, list[GridValue]]:
    """ValueError for an empty grid, an empty or non-positive axis, or a clash with ``fixed``."""
    if not isinstance(grid, dict) or not grid:
        raise ValueError(f"grid must be a non-empty dict name -> list of values, got {grid!r}")
    clean = {}
    for name, values in grid.items():
        values = list(values.tolist() if hasattr(values, "tolist") else values)
        if not values:
            raise ValueError(f"grid[{name!r}] is empty: give at least one value")
        if name in fixed:
            raise ValueError(f"{name!r} is both a grid axis and a fixed argument; choose one")
        if name == "schedule":
            if any(v is not None and not callable(v) for v in values):
                raise ValueError("grid['schedule'] must hold functions t -> eta_t (or None)")
        elif not all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"grid[{name!r}] must hold positive finite numbers (log-spaced "
                             f"sweeps), got {values}; pass a zero as a fixed argument instead")
        clean[name] = values
    return clean


def configs(grid: Mapping[str, Sequence[GridValue]]) -> list[dict[str, GridValue]]:
    """Every combination as a dict, the last axis varying fastest."""
    return [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]


def stacked(grid: Mapping[str, Sequence[GridValue]], dtype: torch.dtype,
            device: torch.device | str | None) -> tuple[dict[str, torch.Tensor], list[Schedule | None]]:
    """Numeric grid axes as [G, 1] tensors; the schedules (if any) as a list of G callables."""
    combos = configs(grid)
    hp = {name: torch.tensor([c[name] for c in combos], dtype=dtype, device=device).unsqueeze(1)
          for name in grid if name != "schedule"}
    return hp, [c.get("schedule") for c in combos]


def etas_for(schedules: Sequence[Schedule | None], default: Schedule | None,
             steps: int) -> torch.Tensor | None:
    """Schedule multipliers [steps, G] (None stands for ``default``), or None if nothing is scheduled."""
    fns = [s if s is not None else default for s in schedules]
    if all(f is None for f in fns):
        return None
    return schedule_table([f if f is not None else (lambda t: 1.0) for f in fns], steps)


def probe(rule: UpdateRule, data: Split, model: MLP, theta0: torch.Tensor, hp: Mapping[str, torch.Tensor],
          schedules: Sequence[Schedule | None], combos: Sequence[Mapping[str, GridValue]],
          fixed: Mapping[str, HParam], seed: int) -> str:
    """Why ``rule`` cannot be batched (a one-line reason), or "" when it can.

    One step for all configurations at once is compared with the same step taken by the first
    and last configuration alone, with plain float hyperparameters.
    """
    g_count = len(combos)
    order = engine.batch_order(data.x_train.shape[0], min(100, data.x_train.shape[0]), 1, seed)
    xs, onehots = engine.minibatches(data, order.to(theta0.device), model.sizes[-1], theta0.dtype)
    theta = theta0.expand(g_count, -1).clone()
    _, grad = model.loss_and_grad(theta, xs[0], onehots[0])
    etas = [float(s(0)) if s is not None else None for s in schedules]
    return batch_mismatch(rule, theta, grad, hp, combos, fixed, etas)


def batch_mismatch(rule: UpdateRule, theta: torch.Tensor, grad: torch.Tensor, hp: Mapping[str, torch.Tensor],
                   combos: Sequence[Mapping[str, GridValue]], fixed: Mapping[str, HParam],
                   etas: Sequence[float | None] | None = None) -> str:
    """Why ``rule`` cannot be batched (a one-line reason), or "" when it can: the first step for
    all G configurations (theta, grad [G, P]; ``hp`` [G, 1]) against the first and last
    configuration alone. ``etas``: each configuration's schedule multiplier (None: unscheduled).
    Any model's gradient will do, which is what lets other models than the MLP share the check."""
    g_count = len(combos)
    etas = [None] * g_count if etas is None else list(etas)
    eta_kw = {} if all(e is None for e in etas) else {
        "eta": torch.tensor([1.0 if e is None else e for e in etas], dtype=theta.dtype,
                            device=theta.device).unsqueeze(1)}
    try:
        out = rule(theta, grad, engine.initial_state(rule, theta), 1, **hp, **fixed, **eta_kw)
        engine.check_output(out, theta)
    except Exception as err:  # noqa: BLE001 - any failure means: train the configurations one by one
        return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    for i in sorted({0, g_count - 1}):
        one = {**{k: float(v) for k, v in combos[i].items() if k != "schedule"}, **fixed}
        if etas[i] is not None or eta_kw:
            one["eta"] = 1.0 if etas[i] is None else etas[i]
        alone, _ = rule(theta[i:i + 1], grad[i:i + 1], engine.initial_state(rule, theta[i:i + 1]), 1, **one)
        if not torch.allclose(out[0][i:i + 1], alone, rtol=1e-4, atol=1e-6, equal_nan=True):
            return f"configuration {i} differs when batched (the rule mixes configurations)"
    return ""


def sweep(rule: UpdateRule, data: Split, *, grid: dict[str, Iterable[GridValue]], steps: int = 200,
          batch_size: int = 100, hidden: tuple[int, ...] = (64, 64), seed: int = 0,
          schedule: Schedule | None = None, device: torch.device | str | None = None,
          progress: bool = False, dtype: torch.dtype = torch.float32,
          state_keys: tuple[str, ...] | list[str] | None = None, eval_every: int | None = None,
          layer_norm: bool = False, frozen_tail: int = 0, workers: int | None = None,
          **fixed: HParam) -> SweepResult:
    """Train ``rule`` for every combination in ``grid`` (e.g. {"lr": [...], "wd": [...]}).

    ``fixed`` hyperparameters are passed unchanged to every configuration; ``schedule`` is the
    schedule for all configurations unless ``grid`` has a "schedule" axis. Each configuration
    trains exactly as ``train`` would train it alone (same init, minibatches, evaluation).
    ``frozen_tail``: the last parameters of the flat vector (a fixed readout) keep their initial
    values. ``workers``: parts of the grid trained side by side on CPU (None: one per idle core).
    """
    check_common(data, steps, batch_size, eval_every, dtype)
    grid = check_grid(grid, fixed)
    if schedule is not None and not callable(schedule):
        raise ValueError(f"schedule must be a function t -> eta_t or None, got {schedule!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer or None (one per idle core), got {workers!r}")
    sample = {**{k: 1.0 for k in grid if k != "schedule"}, **fixed}
    if schedule is not None or "schedule" in grid:
        sample["eta"] = 1.0
    engine.check_signature(rule, sample)
    start = time.perf_counter()
    model, theta0, dev = setup(data, hidden, seed, device, dtype, layer_norm)
    if not isinstance(frozen_tail, int) or not 0 <= frozen_tail < model.n_params:
        raise ValueError(f"frozen_tail must be an integer in [0, {model.n_params}) (parameters "
                         f"that keep their initial values), got {frozen_tail!r}")
    combos = configs(grid)
    hp, schedules = stacked(grid, dtype, dev)
    schedules = [s if s is not None else schedule for s in schedules]
    common = dict(steps=steps, batch_size=batch_size, seed=seed, state_keys=state_keys,
                  eval_every=eval_every, frozen_tail=frozen_tail)
    note = probe(rule, data, model, theta0, hp, schedules, combos, fixed, seed)
    shared_tensor = any(isinstance(v, torch.Tensor) and v.dim() and v.shape[0] > 1 for v in fixed.values())
    if dev.type != "cpu" or shared_tensor:
        workers = 1  # one GPU stream, or fixed tensors with one row per configuration
    elif workers is None:
        workers = threads.workers_for(len(combos), 1 if note else MIN_PART)
    else:
        workers = min(workers, len(combos))
    if not note:
        parts = _parts(len(combos), workers)
        etas = etas_for(schedules, None, steps)
        bar = progress_bar(steps * len(parts), progress, "steps")
        tasks = [functools.partial(
            engine.run, rule, data, model, theta0.expand(b - a, -1).clone(),
            {**{k: v[a:b] for k, v in hp.items()}, **fixed},
            etas=None if etas is None else etas[:, a:b], progress=bar, **common) for a, b in parts]
        runs = threads.side_by_side(tasks, workers)
        bar.close()
    else:
        print(f"sweep: training the {len(combos)} configurations one at a time, because the rule "
              f"does not broadcast over tensor hyperparameters ({note})")
        bar = progress_bar(len(combos), progress, "configs")
        tasks = [functools.partial(
            _one, rule, data, model, theta0,
            {**{k: v for k, v in combo.items() if k != "schedule"}, **fixed},
            etas_for([sched], None, steps), bar, common) for combo, sched in zip(combos, schedules)]
        runs = threads.side_by_side(tasks, workers)
        bar.close()
    return _result(grid, runs, time.perf_counter() - start, "loop" if note else "batched", note,
                   fixed, workers)


def _parts(count: int, workers: int) -> list[tuple[int, int]]:
    """``workers`` contiguous (start, stop) ranges covering ``count`` configurations, as even as possible."""
    bounds = [round(i * count / workers) for i in range(workers + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def _one(rule: UpdateRule, data: Split, model: MLP, theta0: torch.Tensor, hparams: dict[str, HParam],
         etas: torch.Tensor | None, bar: object, common: dict[str, object]) -> engine.Run:
    """One configuration trained alone (the loop mode), counted on ``bar`` when it is done."""
    result = engine.run(rule, data, model, theta0, hparams, etas=etas, **common)
    bar.update(1)
    return result


def _result(grid: dict[str, list[GridValue]], runs: Sequence[engine.Run], seconds: float, mode: str,
            note: str, fixed: Mapping[str, HParam], workers: int) -> SweepResult:
    shape = [len(v) for v in grid.values()]
    cat = {k: torch.cat([getattr(r, k) for r in runs]).numpy() for k in ("train_loss", "val_loss", "val_acc")}
    curves = {k: cat[k].reshape(*shape, -1) for k in ("val_loss", "val_acc")}
    return SweepResult(grid, curves["val_acc"][..., -1], curves["val_loss"][..., -1],
                       cat["train_loss"].reshape(*shape, -1), curves,
                       np.array(runs[0].eval_steps), seconds, mode, note, dict(fixed),
                       all(r.fused for r in runs), workers)
