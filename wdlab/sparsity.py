"""L1 regularization on a sparse regression: which (lr, l1) recover the true support?

``sweep_l1(rule, data, grid={"lr": [...], "l1": [...]})`` trains a linear least-squares model
(f(w) = ||X w - y||^2 / (2 n), ``data_gen.make_sparse_regression``) for every grid point in one
stacked computation, as ``wdlab.sweep`` does for the MLP: the weights are [G, d], each
hyperparameter a [G, 1] tensor, one rule call per step. Every configuration starts from w = 0
(where the lasso path starts, so any sparsity found is the rule's doing) and, by default, sees
the full-batch gradient, the setting in which a rule's fixed point is a fixed point.

``support_metrics`` and ``relative_error`` score the final weights: a weight counts as non-zero
when |w| > threshold, 0 by default, so only exact zeros count as zeros -- the point of a
proximal (soft-threshold) step is that it makes them, a subgradient step almost never does.

``heatmaps`` draws the metrics over the (lr, l1) plane and ``ridge_slope`` measures where the
good region lies: the slope of log10(best l1) against log10(lr) (``plots.coupling_slope``,
applied to the l1 axis). Slope 0: l1 is tuned on its own whatever lr is; slope +1: l1 / lr is
what matters; slope -1: lr * l1 is.
"""
from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import torch

from data_gen.sparse import least_squares  # the one definition of the loss

from . import engine, plots, threads
from .device import course_device, resolve_device
from .engine import HParam, UpdateRule
from .sweep import _parts, batch_mismatch, check_grid, configs, stacked
from .train import DTYPES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

    from data_gen.sparse import SparseRegression

AXES = ("lr", "l1")
# The fewest configurations worth a part of their own. A step of the linear model is a few dozen
# tiny tensor operations, so a part's time is mostly Python holding the GIL: 64 configurations in
# two parts measured 1.5-3x slower than in one, 1024 in two 1.2-2.5x faster (2 busy cores).
MIN_PART = 512
# metric -> True when higher is better (None: no better direction, drawn without a star or slope)
METRICS = {"precision": True, "recall": True, "f1": True, "rel_error": False, "val_loss": False,
           "nonzeros": None}
LABELS = {"precision": "precision of the non-zeros", "recall": "recall of the support",
          "f1": "F1 of the support", "rel_error": "||w - w*|| / ||w*||",
          "val_loss": "validation loss", "nonzeros": "non-zero weights"}


@dataclass
class L1Sweep:
    """Results over an (lr, l1) grid: every array is shaped [len(lr), len(l1)] (plus a trailing
    axis for ``weights`` [.., d] and ``train_loss`` [.., steps]).

    precision, recall, f1: of the final weights' non-zeros (|w| > ``threshold``) against the true
    support; rel_error: ||w - w*|| / ||w*||; nonzeros: how many weights are non-zero; val_loss:
    f(w) on the validation set; train_loss: f(w) on the training set before each step (the
    minibatch's, with minibatches); last_step: max |w_T - w_{T-1}|, how far from a fixed point
    the run ended; mode: "batched" or "loop" (with ``note`` saying why the rule could not be
    batched); workers: how many parts of the grid trained side by side.
    """
    grid: dict[str, list[float]]
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    rel_error: np.ndarray
    nonzeros: np.ndarray
    val_loss: np.ndarray
    train_loss: np.ndarray
    weights: np.ndarray
    last_step: np.ndarray
    threshold: float
    seconds: float
    mode: str = "batched"
    note: str = ""
    fixed: dict[str, HParam] = field(default_factory=dict)
    workers: int = 1

    @property
    def shape(self) -> tuple[int, int]:
        """(len(lr), len(l1))."""
        return self.f1.shape

    def best(self, metric: str = "f1") -> dict[str, float]:
        """The (lr, l1) of the best cell for ``metric`` (the first of equally good cells, lr
        varying slowest). "f1" ties are broken by the lower rel_error."""
        higher = _check_metric(metric, ranked=True)
        score = _score(getattr(self, metric), higher)
        if metric == "f1":  # many cells recover the support exactly: prefer the most accurate one
            score = np.where(score == score.max(), -np.nan_to_num(self.rel_error, nan=np.inf), -np.inf)
        i, j = np.unravel_index(np.argmax(score), score.shape)
        return {"lr": self.grid["lr"][i], "l1": self.grid["l1"][j]}

    def at(self, lr: float, l1: float) -> dict[str, float]:
        """Every metric at the grid cell (lr, l1), as plain floats."""
        try:
            i, j = self.grid["lr"].index(lr), self.grid["l1"].index(l1)
        except ValueError:
            raise ValueError(f"({lr}, {l1}) is not a cell of the grid lr {self.grid['lr']}, "
                             f"l1 {self.grid['l1']}") from None
        cell = {m: float(getattr(self, m)[i, j]) for m in METRICS}
        return cell | {"last_step": float(self.last_step[i, j])}


def _score(values: np.ndarray, higher: bool) -> np.ndarray:
    """Values turned into "higher is better", NaN (a diverged run) worst."""
    return np.where(np.isfinite(values), values if higher else -values, -np.inf)


def _check_metric(metric: str, ranked: bool = False) -> bool | None:
    if metric not in METRICS or (ranked and METRICS[metric] is None):
        allowed = [m for m, h in METRICS.items() if h is not None or not ranked]
        raise ValueError(f"metric must be one of {allowed}, got {metric!r}")
    return METRICS[metric]


def support_metrics(w: torch.Tensor | np.ndarray, support: torch.Tensor | np.ndarray,
                    threshold: float = 0.0) -> tuple[np.ndarray | float, np.ndarray | float]:
    """(precision, recall) of the non-zeros of ``w`` [..., d] against the true ``support`` [d].

    A weight is non-zero when |w| > ``threshold`` (0: exact zeros only). precision = true
    non-zeros / non-zeros, recall = true non-zeros / len(support). Weights with no non-zero at
    all have precision 1 (they claim nothing false; their recall is 0, so F1 is 0). Floats for a
    single w [d], arrays shaped [...] otherwise.
    """
    w, mask = _as_numpy(w), _as_numpy(support)
    if mask.dtype != bool or mask.ndim != 1:
        raise ValueError(f"support must be a 1-D boolean mask, got dtype {mask.dtype} and shape {mask.shape}")
    if w.shape[-1:] != mask.shape:
        raise ValueError(f"w must be shaped [..., {mask.shape[0]}] like the support, got {w.shape}")
    if not mask.any():
        raise ValueError("support is empty: recall is undefined without a true non-zero")
    if not (isinstance(threshold, (int, float)) and threshold >= 0):
        raise ValueError(f"threshold must be a number >= 0 (|w| > threshold counts as non-zero), "
                         f"got {threshold!r}")
    nonzero = np.abs(w) > threshold
    hits = (nonzero & mask).sum(-1)
    count = nonzero.sum(-1)
    precision = np.where(count > 0, hits / np.maximum(count, 1), 1.0)
    recall = hits / mask.sum()
    return (float(precision), float(recall)) if w.ndim == 1 else (precision, recall)


def f1_score(precision: np.ndarray | float, recall: np.ndarray | float) -> np.ndarray | float:
    """2 P R / (P + R), 0 where both are 0."""
    p, r = np.asarray(precision, float), np.asarray(recall, float)
    f1 = np.where(p + r > 0, 2 * p * r / np.where(p + r > 0, p + r, 1.0), 0.0)
    return float(f1) if f1.ndim == 0 else f1


def relative_error(w: torch.Tensor | np.ndarray, w_star: torch.Tensor | np.ndarray) -> np.ndarray | float:
    """||w - w*|| / ||w*|| for w [..., d]: a float for one w, an array shaped [...] otherwise."""
    w, ref = _as_numpy(w), _as_numpy(w_star)
    if ref.ndim != 1 or w.shape[-1:] != ref.shape:
        raise ValueError(f"w must be shaped [..., d] and w_star [d], got {w.shape} and {ref.shape}")
    norm = np.linalg.norm(ref)
    if norm == 0:
        raise ValueError("w_star is all zeros: the relative error is undefined")
    err = np.linalg.norm(w - ref, axis=-1) / norm
    return float(err) if w.ndim == 1 else err


def _as_numpy(a: torch.Tensor | np.ndarray) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def _check_data(data: SparseRegression) -> None:
    for name in ("x_train", "y_train", "x_val", "y_val", "w_star", "support"):
        if not hasattr(data, name):
            raise ValueError(f"data must be a data_gen.make_sparse_regression(...) problem; it has no {name}")
    n, d = data.x_train.shape
    if data.y_train.shape != (n,) or data.x_val.shape[1:] != (d,) or data.w_star.shape != (d,):
        raise ValueError(f"data shapes do not match: x_train {tuple(data.x_train.shape)}, y_train "
                         f"{tuple(data.y_train.shape)}, x_val {tuple(data.x_val.shape)}, "
                         f"w_star {tuple(data.w_star.shape)}")


def sweep_l1(rule: UpdateRule, data: SparseRegression, *, grid: Mapping[str, Iterable[float]],
             steps: int = 2000, batch_size: int | None = None, seed: int = 0, threshold: float = 0.0,
             device: torch.device | str | None = None, dtype: torch.dtype = torch.float64,
             state_keys: tuple[str, ...] | list[str] | None = None, workers: int | None = None,
             **fixed: HParam) -> L1Sweep:
    """Train ``rule`` on ``data``'s least-squares loss for every (lr, l1) in ``grid``.

    Any course rule ``rule(theta, grad, state, t, lr, l1, ...)`` works: decoupled L1 (a proximal
    step) or L1 in the gradient. ``fixed`` hyperparameters (e.g. eps=1e-2) go unchanged to every
    configuration. ``batch_size``: None for full-batch gradients, else minibatches in reshuffled
    epochs drawn from ``seed`` (the only use of the seed: every run starts from w = 0).
    ``threshold``: |w| above it counts as non-zero. ``workers``: parts of the grid trained side
    by side on CPU (None: one per idle core, each with at least MIN_PART configurations). A rule
    that does not broadcast over [G, 1] hyperparameters is trained one configuration at a time.
    """
    _check_data(data)
    grid = check_grid(dict(grid) if isinstance(grid, Mapping) else grid, fixed)
    if set(grid) != set(AXES):
        raise ValueError(f"grid must have exactly the axes {list(AXES)} (pass other hyperparameters "
                         f"as fixed arguments, e.g. eps=1e-2), got {list(grid)}")
    grid = {name: [float(v) for v in grid[name]] for name in AXES}
    n_train = data.x_train.shape[0]
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool)
                                   or not 1 <= batch_size <= n_train):
        raise ValueError(f"batch_size must be None (full batch) or an integer in [1, {n_train}], "
                         f"got {batch_size!r}")
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or threshold < 0:
        raise ValueError(f"threshold must be a number >= 0, got {threshold!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer or None (one per idle core), got {workers!r}")
    engine.check_signature(rule, {**{k: 1.0 for k in AXES}, **fixed})
    start = time.perf_counter()
    dev = resolve_device(device) if device is not None else course_device()
    x, y = data.x_train.to(dev, dtype), data.y_train.to(dev, dtype)
    combos = configs(grid)
    hp, _ = stacked(grid, dtype, dev)
    theta0 = torch.zeros(len(combos), x.shape[1], dtype=dtype, device=dev)
    order = None if batch_size is None else engine.batch_order(n_train, batch_size, steps, seed).to(dev)
    _, grad0 = least_squares(theta0, x, y)
    note = batch_mismatch(rule, theta0.clone(), grad0, hp, combos, fixed)
    if dev.type != "cpu":
        workers = 1
    elif workers is None:
        workers = threads.workers_for(len(combos), MIN_PART)
    else:
        workers = min(workers, len(combos))
    common = dict(x=x, y=y, steps=steps, order=order, state_keys=state_keys)
    if not note:
        tasks = [functools.partial(_train, rule, theta0[a:b].clone(),
                                   {**{k: v[a:b] for k, v in hp.items()}, **fixed}, **common)
                 for a, b in _parts(len(combos), workers)]
    else:
        print(f"sweep_l1: training the {len(combos)} configurations one at a time, because the rule "
              f"does not broadcast over tensor hyperparameters ({note})")
        tasks = [functools.partial(_train, rule, theta0[i:i + 1].clone(), {**combo, **fixed}, **common)
                 for i, combo in enumerate(combos)]
    runs = threads.side_by_side(tasks, workers)
    theta = torch.cat([r[0] for r in runs])
    return _result(data, grid, theta, torch.cat([r[1] for r in runs]), torch.cat([r[2] for r in runs]),
                   threshold, time.perf_counter() - start, "loop" if note else "batched", note,
                   dict(fixed), workers)


def _train(rule: UpdateRule, theta: torch.Tensor, hparams: Mapping[str, HParam], *, x: torch.Tensor,
           y: torch.Tensor, steps: int, order: torch.Tensor | None,
           state_keys: tuple[str, ...] | list[str] | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """G configurations from ``theta`` [G, d]: (final theta, train loss [G, steps], last step [G])."""
    torch.set_flush_denormal(True)  # Adam's tiny v values otherwise slow CPUs down many times
    curve = torch.empty(steps, theta.shape[0], dtype=theta.dtype, device=theta.device)
    state = engine.initial_state(rule, theta, state_keys)
    lazy = isinstance(state, engine.ZeroState)  # undeclared state: keep reading missing keys as zeros
    previous = theta
    with threads.intra_op_threads(1) if theta.device.type == "cpu" else contextlib.nullcontext():
        for t in range(1, steps + 1):
            xb, yb = (x, y) if order is None else (x[order[t - 1]], y[order[t - 1]])
            loss, grad = least_squares(theta, xb, yb)  # a fresh grad each step: a rule may keep it
            curve[t - 1] = loss
            out = rule(theta, grad, state, t, **hparams)
            if t == 1:
                engine.check_output(out, theta)
            previous, (theta, state) = theta, out
            if lazy and not isinstance(state, engine.ZeroState):
                state = engine.ZeroState(theta, state)
    last = (theta - previous).abs().amax(1)
    return theta.detach(), curve.T.contiguous(), last


def _result(data: SparseRegression, grid: dict[str, list[float]], theta: torch.Tensor, curve: torch.Tensor,
            last: torch.Tensor, threshold: float, seconds: float, mode: str, note: str,
            fixed: dict[str, HParam], workers: int) -> L1Sweep:
    shape = (len(grid["lr"]), len(grid["l1"]))
    w = theta.cpu().to(torch.float64)
    precision, recall = support_metrics(w, data.support.cpu(), threshold)
    val = data.loss(w.to(data.x_val.device, data.x_val.dtype), "val").cpu().double().numpy()
    as_grid = lambda a: np.asarray(a, dtype=float).reshape(shape)  # noqa: E731
    return L1Sweep(grid, as_grid(precision), as_grid(recall), as_grid(f1_score(precision, recall)),
                   as_grid(relative_error(w, data.w_star.cpu().double())),
                   as_grid((w.abs() > threshold).sum(1).numpy()), as_grid(val),
                   curve.cpu().double().numpy().reshape(*shape, -1), w.numpy().reshape(*shape, -1),
                   as_grid(last.cpu().double().numpy()), float(threshold), seconds, mode, note, fixed,
                   workers)


@dataclass
class _DecayView:
    """An L1Sweep metric seen as the (lr, decay) sweep ``plots.coupling_slope`` reads: the l1
    axis takes the decay's place, a higher-is-better metric the accuracy's, a lower one the loss's."""
    grid: dict[str, list[float]]
    val_acc: np.ndarray
    val_loss: np.ndarray


def ridge_slope(result: L1Sweep, metric: str = "f1", soft: bool = False) -> float:
    """Slope of log10(best l1) against log10(lr): ``plots.coupling_slope`` on the (lr, l1) plane.

    Higher-is-better metrics (precision, recall, f1) use its accuracy tolerances (cells within
    0.005 of a column's best, or soft weights at 0.01), lower-is-better ones (rel_error,
    val_loss) its loss tolerances (within 1%, or soft weights of the log ratio at 0.05). NaN
    when fewer than two learning rates reach halfway from the worst to the best score, and when
    the metric is the same in every cell (e.g. the F1 of a rule that makes no exact zero): a flat
    plane has no ridge.
    """
    higher = _check_metric(metric, ranked=True)
    values = np.asarray(getattr(result, metric), float)
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.ptp(finite) <= 1e-12 * max(1.0, np.abs(finite).max()):
        return float("nan")
    view = _DecayView({"lr": result.grid["lr"], "wd": result.grid["l1"]}, values, values)
    return plots.coupling_slope(view, "val_acc" if higher else "val_loss", soft=soft)


def heatmaps(results: Mapping[str, L1Sweep], metrics: str | Sequence[str] = ("f1", "rel_error"),
             ax: Axes | Sequence[Axes] | np.ndarray | None = None, soft: bool = False) -> Figure | SubFigure:
    """One heatmap per sweep (label -> L1Sweep) and metric (a row each, shared colour scale).

    In the style of ``plots.heatmaps``: log axes, a colorbar per row, the best cell starred and
    the ridge slope in each title (``soft``: its soft weighting). The dashed line is l1 = lr,
    where decoupled L1's threshold matches the largest step Adam can take.
    """
    if not isinstance(results, Mapping) or not results or \
            not all(isinstance(r, L1Sweep) for r in results.values()):
        raise ValueError("results must be a non-empty dict label -> L1Sweep (from sweep_l1)")
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for m in metrics:
        _check_metric(m)
    fig, axes = plots.panel_grid(len(metrics), len(results), ax)
    for row, m in zip(axes, metrics):
        values = np.concatenate([np.ravel(getattr(r, m)) for r in results.values()])
        finite = values[np.isfinite(values)]
        norm = plt.Normalize(*(finite.min(), finite.max()) if finite.size else (0.0, 1.0))
        cmap = "viridis_r" if METRICS[m] is False else "viridis"
        for panel, (label, result) in zip(row, results.items()):
            mesh = _panel(panel, result, label, m, norm, cmap, soft)
        fig.colorbar(mesh, ax=list(row), label=LABELS[m])
    return fig


def _panel(ax: Axes, result: L1Sweep, label: str, metric: str, norm: plt.Normalize, cmap: str,
           soft: bool) -> object:
    lrs, l1s = np.asarray(result.grid["lr"]), np.asarray(result.grid["l1"])
    z = np.asarray(getattr(result, metric), float).T  # [l1, lr]: l1 on the vertical axis
    mesh = ax.pcolormesh(plots._edges(lrs), plots._edges(l1s), np.ma.masked_invalid(z), norm=norm, cmap=cmap)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.minorticks_off()
    ax.set_xlabel("learning rate (lr)")
    ax.set_ylabel("l1 (L1 strength)")
    low, high = max(lrs.min(), l1s.min()), min(lrs.max(), l1s.max())
    if low < high:
        ax.plot([low, high], [low, high], color="white", linestyle="--", linewidth=1)
    title = label
    if METRICS[metric] is not None:
        best = result.best(metric)
        ax.plot(best["lr"], best["l1"], marker="*", color="white", markeredgecolor="black", markersize=15)
        best_value = result.at(best["lr"], best["l1"])[metric]
        slope = ridge_slope(result, metric, soft)
        ridge = "no ridge (flat)" if math.isnan(slope) else f"ridge slope {slope:+.2f}"
        title += f"\nbest {best_value:.3f}, {ridge}"
    ax.set_title(title, fontsize=9)
    return mesh
