"""The optimizer race under sliders, for lectures (``wdlab.race`` does the racing and drawing).

``race_demo()`` in a live notebook kernel with ipywidgets shows a ``RaceWidget``: a problem
menu, a multi-select of optimizers, a learning-rate multiplier (log scale, applied to every
contender's suggested lr), beta1 / beta2 sliders, and a step slider with a Play button that
replays the paths up to step k. A change of problem, selection or hyperparameter reruns the race
(a fraction of a second; results are cached); a change of step only moves the existing lines and
re-renders the image. Anywhere else -- a script, a kernel without ipywidgets, or ``static=True``
-- it draws one static figure per problem and says so once.

beta1 sets the first beta of the Adam family (torch's ``betas[0]``, a course rule's ``beta1``)
and the momentum of SGD with momentum and Nesterov; beta2 sets the second beta (``betas[1]``,
``beta2``). Other optimizers keep their suggested values.
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from .interactive import _live_kernel
from .plots import render_png
from .race import FEATURED, PROBLEMS, SUGGESTED, Contender, Drawing, RaceResult, Replacement, contenders, run

BETA2_CHOICES = (0.9, 0.99, 0.999, 0.9999)


def with_hparams(racers: Mapping[str, Contender], lr_scale: float = 1.0, beta1: float | None = None,
                 beta2: float | None = None) -> dict[str, Contender]:
    """``racers`` with every ``lr`` multiplied by ``lr_scale`` and the betas set where a
    contender has them (``betas`` for torch.optim, ``beta1`` / ``beta2`` for a course rule;
    ``momentum`` > 0 takes beta1). None leaves a beta as it is."""
    if not lr_scale > 0:
        raise ValueError(f"lr_scale must be a positive multiplier, got {lr_scale!r}")
    out: dict[str, Contender] = {}
    for name, (fn, hp) in racers.items():
        hp = dict(hp)
        if "lr" in hp:
            hp["lr"] = hp["lr"] * lr_scale
        if "betas" in hp:
            b1, b2 = hp["betas"]
            hp["betas"] = (b1 if beta1 is None else beta1, b2 if beta2 is None else beta2)
        if beta1 is not None and "beta1" in hp:
            hp["beta1"] = beta1
        if beta2 is not None and "beta2" in hp:
            hp["beta2"] = beta2
        if beta1 is not None and hp.get("momentum", 0) > 0:
            hp["momentum"] = beta1
        out[name] = (fn, hp)
    return out


class RaceWidget:
    """The controls, the race's figure (an Image widget, rendered by Agg) and a status line.
    ``replace``: {optimizer name: (rule, hparams or a function of the suggested kwargs)}, raced
    in place of that optimizer on every problem (see ``wdlab.race.contenders``)."""

    def __init__(self, problems: Sequence[str] | None = None,
                 replace: Mapping[str, Replacement] | None = None, steps: int | None = None) -> None:
        import ipywidgets as widgets

        self.problems = list(problems) if problems is not None else list(PROBLEMS)
        unknown = [p for p in self.problems if p not in PROBLEMS]
        if unknown or not self.problems:
            raise ValueError(f"problems must name some of {list(PROBLEMS)}, got {self.problems}")
        self.replace, self.steps = dict(replace or {}), steps
        first = self.problems[0]
        self.controls = {
            "problem": widgets.Dropdown(options=self.problems, value=first, description="problem"),
            "optimizers": widgets.SelectMultiple(options=list(SUGGESTED[first]), value=FEATURED[first],
                                                 rows=6, description="optimizers"),
            "lr_scale": widgets.FloatLogSlider(value=1.0, base=10, min=-1.5, max=1.5, step=0.125,
                                               description="lr ×", continuous_update=False),
            "beta1": widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="beta1",
                                         continuous_update=False),
            "beta2": widgets.SelectionSlider(options=BETA2_CHOICES, value=0.999, description="beta2",
                                             continuous_update=False),
        }
        self.step = widgets.IntSlider(value=0, min=0, max=1, description="step")
        self.play = widgets.Play(value=0, min=0, max=1, step=3, interval=200, description="play")
        widgets.jslink((self.play, "value"), (self.step, "value"))
        self.image = widgets.Image(format="png")
        self.status = widgets.HTML()
        self.cache: dict[tuple[Any, ...], RaceResult] = {}
        self.result: RaceResult | None = None
        self.drawing: Drawing | None = None
        self._switching = False
        self.controls["problem"].observe(self._new_problem, names="value")
        for key in ("optimizers", "lr_scale", "beta1", "beta2"):
            self.controls[key].observe(lambda _change: self.recompute(), names="value")
        self.step.observe(lambda change: self.show_step(change["new"]), names="value")
        c = list(self.controls.values())
        self.widget = widgets.VBox([widgets.HBox([widgets.VBox(c[:1] + c[2:]), c[1]]),
                                    widgets.HBox([self.play, self.step]), self.image, self.status])
        self.recompute()

    def _new_problem(self, change: dict[str, Any]) -> None:
        """A new problem: its featured optimizers selected, then one race."""
        box = self.controls["optimizers"]
        self._switching = True   # the selection changes too: race once, below
        try:
            box.options = list(SUGGESTED[change["new"]])
            box.value = FEATURED[change["new"]]
        finally:
            self._switching = False
        self.recompute()

    def racers(self) -> dict[str, Contender]:
        """The contenders the controls select, with the sliders' hyperparameters."""
        c = {k: w.value for k, w in self.controls.items()}
        names = list(c["optimizers"]) or list(FEATURED[c["problem"]])
        replace = {k: v for k, v in self.replace.items() if k in names}
        return with_hparams(contenders(c["problem"], names, replace), c["lr_scale"], c["beta1"], c["beta2"])

    def recompute(self) -> RaceResult | None:
        """Race the selection (or take it from the cache) and draw it at the last step."""
        if self._switching:
            return None
        c = self.controls
        key = (c["problem"].value, tuple(c["optimizers"].value), c["lr_scale"].value,
               c["beta1"].value, c["beta2"].value)
        try:
            if key not in self.cache:
                self.cache[key] = run(c["problem"].value, self.racers(), self.steps)
            self.result = self.cache[key]
            self.drawing = Drawing(self.result)
        except Exception as err:  # noqa: BLE001 - a widget callback has no caller to raise to
            self.status.value = f"<b>race failed:</b> {html.escape(f'{type(err).__name__}: {err}')}"
            return None
        steps = self.result.steps
        for w in (self.step, self.play):
            w.max = steps
        if self.step.value != steps:
            self.step.value = steps   # redraws through show_step
        else:
            self.show_step(steps)
        lrs = ", ".join(f"{n} {hp['lr']:.2g}" for n, (_, hp) in self.racers().items() if "lr" in hp)
        self.status.value = html.escape(f"raced {steps} steps in {self.result.seconds:.2f} s; lr: {lrs}")
        return self.result

    def show_step(self, k: int) -> None:
        """Redraw the current race up to step ``k`` (no new race)."""
        if self.drawing is not None:
            self.drawing.show_until(k)
            self.image.value = render_png(self.drawing.fig, dpi=80)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.widget._repr_mimebundle_(**kwargs)


def _show(fig: Any) -> None:
    """Show a figure as a PNG in IPython (any front end); elsewhere there is nothing to show on."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        return
    if get_ipython() is not None:
        display(Image(render_png(fig)))


def race_demo(problems: Sequence[str] | None = None, replace: Mapping[str, Replacement] | None = None,
              steps: int | None = None, static: bool | None = None) -> RaceWidget | list[RaceResult]:
    """Show the race: a RaceWidget in a live kernel with ipywidgets (returned), else (or with
    ``static=True``) one line saying why the figures are static and a figure per problem: all
    suggested optimizers race, its featured ones are drawn; returns the races then."""
    if static is None:
        static = not _live_kernel()
    if not static:
        from IPython.display import display

        widget = RaceWidget(problems, replace, steps)
        display(widget)
        return widget
    reason = "asked for" if static is True and _live_kernel() else "no notebook kernel with ipywidgets"
    names = list(problems) if problems is not None else list(PROBLEMS)
    print(f"static figures, one per problem ({reason}): {', '.join(names)}")
    results = []
    for name in names:
        results.append(run(name, contenders(name, replace=replace), steps))
        _show(Drawing(results[-1], FEATURED[name]).fig)
    return results
