"""Heatmaps of (learning rate x weight decay) sweeps and the coupling slope.

The coupling slope summarises how the good region lies in the log-log plane: for each learning
rate, where is the best decay? Fit log10(best decay) against log10(lr): slope ~ 0 means the
two can be tuned one at a time (separable, paper AdamW / SGDW); slope ~ -1 means lr * decay
is what matters (a diagonal basin: L2, or PyTorch's lr-scaled AdamW).
"""
from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import QuadMesh
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure, SubFigure
    from numpy.typing import ArrayLike

    from .sweep import SweepResult

METRICS = ("val_acc", "val_loss")
SOFT_TOL = {"val_acc": 0.01, "val_loss": 0.05}  # coupling_slope(soft=True) temperatures
DECAY_AXES = ("wd", "l2", "weight_decay")


def _axes_of(result: SweepResult) -> tuple[np.ndarray, str, np.ndarray, Callable[[ArrayLike], np.ndarray]]:
    """(lr values, decay name, decay values, metric transposer) for a 2-D lr x decay sweep."""
    names = list(result.grid)
    decay = [n for n in names if n in DECAY_AXES]
    if len(names) != 2 or "lr" not in names or len(decay) != 1:
        raise ValueError(f"need a 2-D sweep over 'lr' and one of {DECAY_AXES}, got axes {names}; "
                         "use result.select(...) to take a 2-D slice")
    lr_first = names[0] == "lr"
    return (np.asarray(result.grid["lr"], float), decay[0], np.asarray(result.grid[decay[0]], float),
            lambda a: np.asarray(a).T if lr_first else np.asarray(a))


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")


def coupling_slope(result: SweepResult, metric: str = "val_acc", tol: float | None = None,
                   soft: bool = False) -> float:
    """Slope of log10(best decay) against log10(lr) over a 2-D sweep.

    For each lr the "best decay" is the geometric centre of the decays scoring within ``tol``
    of that column's best (0.005 accuracy, or 1% of the loss), so a flat plateau does not pick
    its edge. Columns that never reach halfway from the worst to the best score are left out
    (nothing trains there, so their best decay means nothing). NaN if fewer than 2 columns remain.

    ``soft=True`` replaces the hard cut by weights, so that one noisy cell cannot jump in or out:
    each decay counts exp(-gap / tol), the gap to the column's best being an accuracy difference
    (default tol 0.01, about the noise of 1000 validation points) or, for the loss, a log ratio
    (default tol 0.05: losses within ~5% of the best weigh most).
    """
    _check_metric(metric)
    if tol is not None and not (isinstance(tol, (int, float)) and (tol > 0 or tol == 0 and not soft)):
        raise ValueError(f"tol must be a {'positive' if soft else 'non-negative'} number or None, "
                         f"got {tol!r}")
    lrs, _, decays, rows_decay = _axes_of(result)
    z = rows_decay(getattr(result, metric))  # [n_decay, n_lr]
    sign = 1.0 if metric == "val_acc" else -1.0
    score = np.where(np.isfinite(z), sign * z, -np.inf)
    finite = score[np.isfinite(score)]
    if finite.size == 0:
        return float("nan")
    usable = 0.5 * (finite.min() + finite.max())
    xs, ys = [], []
    for j, lr in enumerate(lrs):
        col = score[:, j]
        best = col.max()
        if not np.isfinite(best) or best < usable:
            continue
        xs.append(math.log10(lr))
        if soft:
            ys.append(_soft_centre(col, z[:, j], decays, metric, tol or SOFT_TOL[metric]))
            continue
        margin = tol if tol is not None else (0.005 if metric == "val_acc" else 0.01 * abs(best))
        near = col >= best - margin
        ys.append(np.log10(decays[near]).mean())
    if len(xs) < 2:
        return float("nan")
    return float(np.polyfit(xs, ys, 1)[0])


def _soft_centre(score: np.ndarray, values: np.ndarray, decays: np.ndarray, metric: str,
                 temperature: float) -> float:
    """Mean log10 decay of one lr column, each decay weighted by how close it scores to the best."""
    ok = np.isfinite(score)
    if metric == "val_acc":
        gap = score[ok].max() - score[ok]
    else:  # losses: relative gaps, so the temperature means the same on easy and hard data
        logs = np.log(np.maximum(values[ok], 1e-12))
        gap = logs - logs.min()
    weights = np.exp(-gap / temperature)
    return float((weights * np.log10(decays[ok])).sum() / weights.sum())


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges on a log axis: geometric midpoints, extended by half a step at both ends."""
    logs = np.log10(values)
    step = np.diff(logs).mean() if len(logs) > 1 else 1.0
    mids = (logs[1:] + logs[:-1]) / 2
    return 10 ** np.concatenate([[logs[0] - step / 2], mids, [logs[-1] + step / 2]])


def _panel(ax: Axes, result: SweepResult, label: str, metric: str, threshold: float | None,
           norm: Normalize, cmap: str, soft: bool = False) -> QuadMesh:
    lrs, decay, decays, rows_decay = _axes_of(result)
    z = rows_decay(getattr(result, metric))
    mesh = ax.pcolormesh(_edges(lrs), _edges(decays), np.ma.masked_invalid(z), norm=norm, cmap=cmap)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.minorticks_off()  # cells are discrete; log minor ticks tripled the time to render a figure
    ax.set_xlabel("learning rate (lr)")
    ax.set_ylabel(f"{decay} ({'L2 factor' if decay == 'l2' else 'weight decay'})")
    best = result.best(metric)
    ax.plot(best["lr"], best[decay], marker="*", color="white", markeredgecolor="black", markersize=15)
    title = f"{label}\nbest {_best_value(result, metric):.3f}"
    if threshold is not None and len(lrs) > 1 and len(decays) > 1:
        finite = z[np.isfinite(z)]
        if finite.size and finite.min() < threshold < finite.max():
            ax.contour(lrs, decays,
                       np.nan_to_num(z, nan=finite.min() if metric == "val_acc" else finite.max()),
                       levels=[threshold], colors="white", linewidths=1.5, linestyles="--")
        good = (z >= threshold) if metric == "val_acc" else (z <= threshold)
        title += f", {int(good.sum())}/{z.size} {'>=' if metric == 'val_acc' else '<='} {threshold:g}"
    title += f"\ncoupling slope {coupling_slope(result, metric, soft=soft):+.2f}"
    ax.set_title(title, fontsize=9)
    return mesh


def _best_value(result: SweepResult, metric: str) -> float:
    values = getattr(result, metric)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan")
    return float(finite.max() if metric == "val_acc" else finite.min())


def heatmaps(results: dict[str, SweepResult], metric: str | Sequence[str] = "val_acc",
             threshold: float | None = 0.9, ax: Axes | Sequence[Axes] | np.ndarray | None = None,
             soft: bool = False) -> Figure | SubFigure:
    """One heatmap per sweep in ``results`` (label -> SweepResult) on a shared colour scale.

    ``metric`` is "val_acc" or "val_loss", or a list of both for one row each. Log axes, a
    colorbar per row, the best setting starred, a dashed contour at ``threshold`` (accuracy
    rows only, unless ``metric`` is only "val_loss"; None for none) and the coupling slope in
    each title (``soft``: its soft weighting, see coupling_slope). ``ax``: an array of
    axes to draw into (rows x len(results)), else a new figure.
    """
    if not isinstance(results, dict) or not results:
        raise ValueError("results must be a non-empty dict label -> SweepResult")
    metrics = [metric] if isinstance(metric, str) else list(metric)
    for m in metrics:
        _check_metric(m)
    fig, axes = panel_grid(len(metrics), len(results), ax)
    for row, m in zip(axes, metrics):
        values = np.concatenate([np.ravel(getattr(r, m)) for r in results.values()])
        finite = values[np.isfinite(values)]
        vmin, vmax = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        norm = plt.Normalize(vmin, vmax)
        cmap = "viridis" if m == "val_acc" else "viridis_r"
        thr = threshold if (m == "val_acc" or len(metrics) == 1) else None
        for panel, (label, result) in zip(row, results.items()):
            mesh = _panel(panel, result, label, m, thr, norm, cmap, soft)
        fig.colorbar(mesh, ax=list(row), label="validation accuracy" if m == "val_acc" else "validation loss")
    return fig


def panel_grid(n_rows: int, n_cols: int, ax: Axes | Sequence[Axes] | np.ndarray | None = None,
               ) -> tuple[Figure | SubFigure, np.ndarray]:
    """(figure, axes as an [n_rows, n_cols] array) of a heatmap grid: one row per metric, one
    column per result; ``ax`` (axes to draw into) or a new figure sized for the grid."""
    if ax is None:
        fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.6 * n_cols + 1, 3.4 * n_rows),
                                 squeeze=False, constrained_layout=True)
        return fig, axes
    if np.size(ax) != n_rows * n_cols:
        raise ValueError(f"ax must hold {n_rows} x {n_cols} axes for {n_rows} metric(s) and "
                         f"{n_cols} result(s), got {np.size(ax)}")
    axes = np.asarray(ax, dtype=object).reshape(n_rows, n_cols)
    return axes[0, 0].figure, axes


def render_png(fig: Figure | SubFigure, dpi: int = 100) -> bytes:
    """The (whole) figure as PNG bytes, rendered by Agg directly: no pyplot backend or notebook
    display hook is involved, so the image is the same in a script, a notebook and a widget."""
    buffer = io.BytesIO()
    fig.figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
