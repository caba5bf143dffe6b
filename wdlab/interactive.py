"""A learning-rate slider that retrains a small decay grid with your own update rules.

``decay_curves(rules, data, lrs, ...)`` draws, for each rule, the validation loss after training
against the decay value, one curve per learning rate. In a live Jupyter notebook (an IPython
kernel with ipywidgets) a slider under the figure picks a learning rate: that column of the grid
is retrained with ``wdlab.sweep`` (a few seconds) and drawn in bold over the curves computed so
far. Anywhere else -- a script, nbconvert, a kernel without ipywidgets -- the same figure is
drawn once, statically, for the learning rates given as ``start``. Sweeps computed before
(``known``: the heatmaps' SweepResults) seed the curves, so the static figure costs nothing.

Only the rules passed in are trained (a student's own), through ``wdlab.sweep``; the network is
described by the same keyword arguments ``sweep`` takes, plus ``frozen_tail``, the number of
trailing parameters (a fixed readout) that keep their initial values.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import torch

from .sweep import sweep

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from data_gen import Split

    from .sweep import SweepResult

UpdateRule = Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]
# label -> (rule, name of its decay argument, decay values to sweep)
RuleSpec = tuple[UpdateRule, str, Sequence[float]]


def _key(lr: float) -> float:
    """A learning rate as a cache key: 6 significant digits, so that the same value computed
    twice (np.logspace over different point counts) finds the same curve."""
    return float(f"{float(lr):.6g}")


def keep_tail(rule: UpdateRule, n: int) -> UpdateRule:
    """``rule`` with the last ``n`` entries of theta left at their values (e.g. a fixed readout)."""
    if n <= 0:
        return rule

    def kept(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int,
             **hparams: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        new_theta, new_state = rule(theta, grad, state, t, **hparams)
        return torch.cat([new_theta[..., :-n], theta[..., -n:]], -1), new_state

    kept.__name__ = getattr(rule, "__name__", "rule")
    return kept


class DecayCurves:
    """Validation loss against decay for each rule, one curve per learning rate, cached."""

    def __init__(self, rules: Mapping[str, RuleSpec], data: Split, frozen_tail: int = 0,
                 metric: str = "val_loss", **sweep_kwargs: Any) -> None:
        if not rules:
            raise ValueError("rules must map a label to (rule, decay argument name, decay values)")
        for label, spec in rules.items():
            if len(spec) != 3 or not callable(spec[0]) or not len(spec[2]):
                raise ValueError(f"rules[{label!r}] must be (rule, decay argument name, decay values), "
                                 f"got {spec!r}")
        if metric not in ("val_loss", "val_acc"):
            raise ValueError(f"metric must be 'val_loss' or 'val_acc', got {metric!r}")
        self.rules, self.data, self.metric = dict(rules), data, metric
        self.frozen_tail, self.sweep_kwargs = frozen_tail, sweep_kwargs
        self.curves: dict[float, dict[str, np.ndarray]] = {}
        self.slider: Any = None   # the ipywidgets slider, when one is shown

    def add(self, label: str, result: SweepResult) -> None:
        """Take the curves of rule ``label`` from a 2-D sweep over "lr" and its decay (same
        decay values), e.g. a heatmap already computed."""
        _, decay, values = self.rules[label]
        if list(result.grid) != ["lr", decay] or not np.allclose(result.grid[decay], values):
            raise ValueError(f"result must be a sweep over lr and {decay} = {list(values)}, got the "
                             f"grid {({k: len(v) for k, v in result.grid.items()})}")
        for i, lr in enumerate(result.grid["lr"]):
            self.curves.setdefault(_key(lr), {})[label] = np.asarray(getattr(result, self.metric))[i]

    def complete(self) -> list[float]:
        """The learning rates with a curve for every rule."""
        return sorted(lr for lr, by_rule in self.curves.items() if set(by_rule) == set(self.rules))

    def train(self, lrs: Sequence[float]) -> None:
        """Train the learning rates of ``lrs`` not trained yet (one sweep per rule)."""
        todo = sorted({_key(lr) for lr in lrs} - set(self.complete()))
        if not todo:
            return
        found: dict[float, dict[str, np.ndarray]] = {lr: {} for lr in todo}
        for label, (rule, decay, values) in self.rules.items():
            result = sweep(keep_tail(rule, self.frozen_tail), self.data,
                           grid={"lr": todo, decay: list(values)}, **self.sweep_kwargs)
            for i, lr in enumerate(todo):
                found[lr][label] = np.asarray(getattr(result, self.metric))[i]
        for lr, by_rule in found.items():
            self.curves.setdefault(lr, {}).update(by_rule)

    def figure(self, selected: float | None = None) -> Figure:
        """One panel per rule: every trained learning rate as a thin line, ``selected`` in bold,
        each curve's best decay starred."""
        fig, axes = plt.subplots(1, len(self.rules), figsize=(5.2 * len(self.rules), 3.6),
                                 squeeze=False, constrained_layout=True)
        lrs = self.complete()
        colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, max(len(lrs), 2)))
        for ax, (label, (_, decay, values)) in zip(axes[0], self.rules.items()):
            for lr, color in zip(lrs, colors):
                y = self.curves[lr][label]
                bold = selected is not None and lr == _key(selected)
                ax.plot(values, y, "o-" if bold else ".-", color=color, lw=2.5 if bold else 1,
                        alpha=1 if bold or selected is None else 0.45, label=f"lr = {lr:.2g}")
                finite = np.isfinite(y)
                if finite.any():
                    best = int(np.nanargmin(np.where(finite, y, np.nan)) if self.metric == "val_loss"
                               else np.nanargmax(np.where(finite, y, np.nan)))
                    ax.plot(values[best], y[best], "*", color=color, ms=16 if bold else 11,
                            markeredgecolor="k")
            ax.set(xscale="log", xlabel=f"{decay}", title=label,
                   ylabel="validation loss" if self.metric == "val_loss" else "validation accuracy")
            ax.legend(fontsize=7)
        title = "best decay (star) for each learning rate"
        fig.suptitle(title + (f"; selected lr = {selected:.2g}" if selected is not None else ""))
        return fig


def _live_kernel() -> bool:
    """True inside an IPython kernel that has ipywidgets (a notebook, live or executed)."""
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def decay_curves(rules: Mapping[str, RuleSpec], data: Split, lrs: Sequence[float],
                 start: Sequence[float] | None = None, known: Mapping[str, SweepResult] | None = None,
                 frozen_tail: int = 0, metric: str = "val_loss", **sweep_kwargs: Any) -> DecayCurves:
    """Draw the decay curves for the learning rates ``start`` (default: the first, middle and
    last of ``lrs``) and, in a notebook kernel with ipywidgets, add a slider over ``lrs`` that
    retrains the chosen learning rate and redraws the figure in place. ``known`` (label ->
    SweepResult over lr and the rule's decay values) seeds the curves without training. Returns
    the DecayCurves: its ``curves`` hold every value trained or seeded, its ``slider`` the widget
    (None for a static figure)."""
    lrs = [float(lr) for lr in lrs]
    if not lrs or min(lrs) <= 0:
        raise ValueError(f"lrs must be a non-empty list of positive learning rates, got {lrs}")
    curves = DecayCurves(rules, data, frozen_tail, metric, **sweep_kwargs)
    for label, result in (known or {}).items():
        curves.add(label, result)
    pool = curves.complete() or lrs
    if start is None:
        start = sorted({pool[0], pool[len(pool) // 2], pool[-1]})
    start = [float(x) for x in start]
    curves.train(start)
    fig = curves.figure()
    if not _live_kernel():
        plt.show()
        return curves
    import ipywidgets as widgets
    from IPython.display import display

    handle = display(fig, display_id=True)   # a static figure; the slider updates it in place
    plt.close(fig)
    first = min(lrs, key=lambda lr: abs(np.log(lr / start[0])))
    slider = widgets.SelectionSlider(options=[(f"{lr:.2g}", lr) for lr in lrs], value=first,
                                     description="lr", continuous_update=False,
                                     layout=widgets.Layout(width="60%"))
    status = widgets.Label("move the slider to retrain one learning rate with your rules")

    def redraw(change: dict[str, Any]) -> None:
        status.value = f"training lr = {change['new']:.2g} ..."
        try:
            curves.train([change["new"]])
            new = curves.figure(selected=change["new"])
            handle.update(new)
            plt.close(new)
            status.value = f"lr = {change['new']:.2g}: done"
        except Exception as err:  # noqa: BLE001 - a widget callback has no caller to raise to
            status.value = f"{type(err).__name__}: {err}"

    slider.observe(redraw, names="value")
    curves.slider = slider
    display(widgets.HBox([slider, status]))
    return curves
