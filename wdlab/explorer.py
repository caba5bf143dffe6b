"""A landscape explorer for lectures: controls, a progress bar and the heatmaps as an image.

``LandscapeExplorer(rules)`` shows the controls of ``landscape.paper_landscape`` (optimizer
pair, data difficulty, grid size, run length, schedule, the scale-invariance switches) and a
Redraw button. A redraw trains both sweeps with a progress bar counting their steps, then draws
the accuracy and loss heatmaps into a matplotlib ``Figure`` that belongs to no pyplot backend and
puts it, as PNG bytes, into an ``ipywidgets.Image``: what the lecturer sees is the image that
``plots.render_png`` made, whatever the notebook's matplotlib backend or display hooks do.

Only the rules passed in are trained (a student's own, or the reference rules on the
instructor's side); schedules are passed in the same way, by name.

``landscape`` is ``paper_landscape`` for rules that carry an in-place update (see
``wdlab.engine``): ``paper_landscape`` fixes the readout by wrapping each rule in a plain function,
which hides that update from the engine; ``landscape`` wraps it in ``KeepTail``, which keeps it.
"""
from __future__ import annotations

import html
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from matplotlib.figure import Figure

from . import plots
from .engine import HParam, Schedule, UpdateRule, fused_update, wraps_rule
from .landscape import PAIRS, LandscapeSettings, paper_landscape, slopes
from .progress import report_to

if TYPE_CHECKING:
    from .sweep import SweepResult

# schedule name -> None (the settings' own schedule) or a function of the run length returning a
# schedule (None from it: a constant schedule)
ScheduleChoice = Callable[[int], Schedule | None] | None
DIFFICULTIES = ("medium", "hard", "easy")


class KeepTail:
    """``rule`` with the last ``n`` parameters left at their values (a fixed readout), exactly as
    ``landscape.train_hidden_only``; built with ``keep_tail``, which adds the in-place update."""

    def __init__(self, rule: UpdateRule, n: int) -> None:
        self.rule, self.n = rule, n
        wraps_rule(self, rule)

    def __call__(self, theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int,
                 **hparams: HParam) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        new_theta, new_state = self.rule(theta, grad, state, t, **hparams)
        if isinstance(new_theta, torch.Tensor) and new_theta.shape == theta.shape:
            new_theta = torch.cat([new_theta[..., :-self.n], theta[..., -self.n:]], -1)
        return new_theta, new_state


class _KeepTailInPlace(KeepTail):
    def fused(self, theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int,
              **hparams: HParam) -> None:
        """The rule's in-place update, then the tail put back (its state is updated, as above)."""
        tail = theta[..., -self.n:].clone()
        fused_update(self.rule)(theta, grad, state, t, **hparams)
        theta[..., -self.n:] = tail


def keep_tail(rule: UpdateRule, n: int) -> KeepTail:
    """``rule`` with the last ``n`` (> 0) parameters fixed, keeping its in-place update if it has one."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of parameters, got {n!r}")
    return (_KeepTailInPlace if fused_update(rule) is not None else KeepTail)(rule, n)


def landscape(pair: str = "adam", difficulty: str | None = None, seed: int = 0,
              device: torch.device | str | None = None, *, rules: Mapping[str, UpdateRule],
              progress: bool = False, settings: LandscapeSettings | None = None,
              schedule: Schedule | str | None = "settings") -> dict[str, SweepResult]:
    """``paper_landscape`` (same arguments, same results), with the fixed readout made by
    ``keep_tail``: rules that carry an in-place update train through it."""
    settings = settings if settings is not None else LandscapeSettings()
    if pair in PAIRS and isinstance(rules, Mapping) and isinstance(settings, LandscapeSettings) \
            and settings.fixed_readout and all(name in rules for name in PAIRS[pair]):
        n_classes = settings.data(difficulty, seed).n_classes
        n_readout = settings.hidden[-1] * n_classes + n_classes  # as paper_landscape counts it
        rules = {**rules, **{name: keep_tail(rules[name], n_readout) for name in PAIRS[pair]}}
        settings = settings.with_(fixed_readout=False)  # done above
    return paper_landscape(pair, difficulty, seed, device, rules=rules, progress=progress,
                           settings=settings, schedule=schedule)


def landscape_figure(results: Mapping[str, SweepResult], threshold: float | None = 0.9,
                     soft: bool = True) -> Figure:
    """Accuracy (top) and loss (bottom) heatmaps of ``results`` in a Figure of its own."""
    n_cols = len(results)
    # fixed margins instead of a layout engine: constrained layout measured every tick label's
    # box and took longer than all the rest of the drawing
    fig = Figure(figsize=(3.6 * n_cols + 1, 6.8))
    fig.subplots_adjust(left=0.08, right=0.97, bottom=0.08, top=0.9, wspace=0.32, hspace=0.62)
    axes = fig.subplots(2, n_cols, squeeze=False)
    plots.heatmaps(dict(results), metric=["val_acc", "val_loss"], threshold=threshold, ax=axes, soft=soft)
    return fig


def summary(results: Mapping[str, SweepResult]) -> list[str]:
    """One line per sweep: best accuracy, coupling slopes (loss, accuracy) and training time."""
    by_loss, by_acc = slopes(dict(results)), slopes(dict(results), "val_acc")
    return [f"{label}: best val acc {np.nanmax(r.val_acc):.3f}, coupling slope {by_loss[label]:+.2f} "
            f"(loss), {by_acc[label]:+.2f} (accuracy), {r.seconds:.1f} s" for label, r in results.items()]


class LandscapeExplorer:
    """The controls, a progress bar, the heatmaps (an Image widget) and a status line.

    ``rules``: as for ``paper_landscape`` (a dict by name holding every pair's rules);
    ``schedules``: name -> None (the settings' schedule) or steps -> schedule (None: constant);
    ``settings``: the starting values.
    Display the explorer (the last expression of a cell) and press Redraw, or call ``redraw()``.
    """

    def __init__(self, rules: Mapping[str, UpdateRule], settings: LandscapeSettings | None = None, *,
                 schedules: Mapping[str, ScheduleChoice] | None = None,
                 device: torch.device | str | None = None, threshold: float | None = 0.9) -> None:
        import ipywidgets as widgets

        if not isinstance(rules, Mapping):
            raise ValueError("rules must be a dict name -> update rule holding the rules of every "
                             f"pair in {sorted(PAIRS)}, got {type(rules).__name__}")
        self.rules, self.device, self.threshold = dict(rules), device, threshold
        self.settings = settings if settings is not None else LandscapeSettings()
        self.schedules = dict(schedules) if schedules is not None else {"as in the settings": None}
        if not self.schedules or any(s is not None and not callable(s) for s in self.schedules.values()):
            raise ValueError("schedules must map names to None (the settings' schedule) or a "
                             "function steps -> schedule")
        pairs = [p for p in PAIRS if all(name in self.rules for name in PAIRS[p])]
        if not pairs:
            raise ValueError(f"rules holds no complete pair: give the rules of one of {PAIRS}")
        s = self.settings
        self.controls = {
            "pair": widgets.Dropdown(options=pairs, description="pair"),
            "difficulty": widgets.Dropdown(options=DIFFICULTIES, value=s.difficulty if s.difficulty
                                           in DIFFICULTIES else "medium", description="data"),
            "grid_size": widgets.IntSlider(value=s.grid_size, min=3, max=12, description="grid"),
            "steps": widgets.IntSlider(value=s.steps, min=50, max=800, step=50, description="steps"),
            "schedule": widgets.Dropdown(options=list(self.schedules), description="schedule"),
            "layer_norm": widgets.Checkbox(value=s.layer_norm, description="layer norm"),
            "fixed_readout": widgets.Checkbox(value=s.fixed_readout, description="fixed readout"),
        }
        self.button = widgets.Button(description="Redraw", button_style="primary")
        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="training")
        self.image = widgets.Image(format="png")
        self.status = widgets.HTML()
        self.button.on_click(self.redraw)
        self.widget = widgets.VBox([widgets.HBox(list(self.controls.values())[:4]),
                                    widgets.HBox([*list(self.controls.values())[4:], self.button]),
                                    self.bar, self.image, self.status])
        self.results: dict[str, SweepResult] = {}
        self._sweeps, self._of = 0, 0

    def _progress(self, done: int, total: int) -> None:
        if done == 0:  # a sweep starts: paper_landscape runs one per rule of the pair
            self._sweeps += 1
            self.bar.description = f"sweep {self._sweeps}/{self._of}"
        self.bar.max = max(total, 1)
        self.bar.value = min(done, total)

    def current(self) -> tuple[str, str, LandscapeSettings, Schedule | str | None]:
        """(pair, difficulty, settings, schedule) that the controls select ("settings": the
        settings' own schedule)."""
        c = {k: w.value for k, w in self.controls.items()}
        settings = self.settings.with_(grid_size=c["grid_size"], steps=c["steps"],
                                       layer_norm=c["layer_norm"], fixed_readout=c["fixed_readout"])
        choice = self.schedules[c["schedule"]]
        return c["pair"], c["difficulty"], settings, choice(c["steps"]) if choice is not None else "settings"

    def redraw(self, _button: Any = None) -> dict[str, SweepResult]:
        """Train the selected pair (the bar counts steps) and show its heatmaps; returns the sweeps."""
        pair, difficulty, settings, schedule = self.current()
        self._sweeps, self._of = 0, len(PAIRS[pair])
        self.button.disabled = True
        self.status.value = "training..."
        start = time.perf_counter()
        try:
            with report_to(self._progress):
                self.results = landscape(pair, difficulty=difficulty, device=self.device,
                                         rules=self.rules, settings=settings, schedule=schedule)
            trained = time.perf_counter() - start
            self.image.value = plots.render_png(landscape_figure(self.results, self.threshold))
            lines = summary(self.results) + [
                f"trained in {trained:.1f} s, redrawn in {time.perf_counter() - start:.1f} s"]
            self.status.value = "<br>".join(html.escape(line) for line in lines)
        except Exception as err:
            self.status.value = f"<b>redraw failed:</b> {html.escape(f'{type(err).__name__}: {err}')}"
            raise
        finally:
            self.button.disabled = False
        return self.results

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.widget._repr_mimebundle_(**kwargs)
