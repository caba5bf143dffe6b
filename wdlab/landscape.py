"""The (learning rate x decay) landscape of Loshchilov & Hutter's Figure 2, on the course's data.

``paper_landscape("adam")`` sweeps Adam + L2 and AdamW (paper convention) over the grids in
``LandscapeSettings`` and returns the two SweepResults; ``"adamw"`` compares the paper's AdamW
with PyTorch's, ``"sgd"`` SGD + L2 with SGDW. Every setting that shapes the picture lives in
``LandscapeSettings``; why each has its value:

* Scale invariance. The paper's networks use batch normalization, so the weights only set an
  effective (angular) step size through their norm. The MLP here gets the same property from
  ``layer_norm=True`` (each hidden layer's weights and bias together) and from a **fixed random
  readout** (``fixed_readout=True``: the output layer keeps its initial weights). With the
  readout trained too, its weights are not scale-invariant and its decay blurs the picture (the
  Adam + L2 slope was about 0 instead of diagonal); a fixed random classifier costs the MLP
  almost nothing (Hoffer et al., 2018) and leaves only scale-invariant weights. For those, with
  a step of size ~lr per coordinate (Adam) the weight norm settles where growth and decay
  balance, and the angular step there is ~sqrt(2 w) for paper AdamW (decay w: no lr, so the
  best w does not move with lr: slope 0), ~sqrt(2 lr wd) for PyTorch's AdamW (lr x wd is what
  matters: slope -1) and ~lr sqrt(l2) for Adam + L2 (a diagonal, slope about -2); SGD + L2
  behaves as lr x l2 (diagonal) and SGDW as w alone.
* Time scales. The norm only settles once the run is longer than the decay time ~1/w (paper)
  or ~1/(lr wd) (PyTorch), so the decay grids are chosen for the run length: the paper's w
  grid puts w x steps between ~0.6 and ~60 (that is what normalized weight decay,
  w = w_norm sqrt(b / (B T)), is about). The learning rates start at 1e-3: below that, 200
  steps of size lr cannot move weights whose initial size is ~0.1 per coordinate, so those runs
  are unfinished rather than badly tuned (SGD's grid starts at 3e-3 for the same reason).
* The slope is measured on validation loss (``slope_metric``) with soft weights
  (``plots.coupling_slope(soft=True)``): on 1000 validation points the accuracy is noisy
  (~0.008), the loss is smooth, and soft weights keep one noisy cell from moving a column's
  centre. On this data decay mostly limits how far training gets rather than curing
  overfitting, so each column's good region is a plateau ending where decay starts to hurt:
  the slope says whether that end moves with lr. Measured over 3 seeds (medium and hard data):
  Adam + L2 -1.5 to -2.0, AdamW (paper) -0.02 to -0.11, AdamW (PyTorch) -0.85 to -1.02,
  SGD + L2 -2.2 to -2.6, SGDW -0.18 to -0.33.

The defaults cost what the engine's benchmark costs (two 8 x 8 sweeps, 200 steps of batch 100
through a 64-64 MLP).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import numpy as np
import torch

import data_gen

from . import plots
from .engine import HParam, Schedule, UpdateRule
from .sweep import SweepResult, sweep


@dataclass(frozen=True)
class Axis:
    """One sweep of a landscape: its label, the rule's decay argument and the (low, high) ends
    of the log-spaced learning-rate and decay grids. ``per_step``: the decay is a rate per step
    (decoupled decay), so its range is given for ``REFERENCE_STEPS`` and scales as 1 / steps."""
    label: str
    decay: str
    lr: tuple[float, float]
    decays: tuple[float, float]
    per_step: bool = False


REFERENCE_STEPS = 200
# Ranges for 200 steps (see the module docstring), in each rule's own units. Paper AdamW / SGDW:
# w x steps from 0.6 to 60. PyTorch's AdamW decays lr x wd per step: the same band of
# lr x wd crosses its grid diagonally. L2 grids are wide: their good region moves ~lr^-2.
DEFAULT_AXES = {
    "adam_l2": Axis("Adam + L2", "l2", (1e-3, 1e-1), (1e-6, 1.0)),
    "adamw_paper": Axis("AdamW (paper)", "wd", (1e-3, 1e-1), (3e-3, 3e-1), per_step=True),
    "adamw_torch": Axis("AdamW (PyTorch)", "wd", (1e-3, 1e-1), (3e-2, 3e2), per_step=True),
    "sgd_l2_momentum": Axis("SGD + L2", "l2", (3e-3, 3e-1), (1e-6, 1.0)),
    "sgdw_momentum": Axis("SGDW", "wd", (3e-3, 3e-1), (3e-3, 3e-1), per_step=True),
}

PAIRS = {
    "adam": ("adam_l2", "adamw_paper"),
    "adamw": ("adamw_paper", "adamw_torch"),
    "sgd": ("sgd_l2_momentum", "sgdw_momentum"),
}


@dataclass(frozen=True)
class LandscapeSettings:
    """Everything that shapes the landscape, in one place (see the module docstring for why)."""
    steps: int = 200
    batch_size: int = 100
    hidden: tuple[int, ...] = (64, 64)
    layer_norm: bool = True
    fixed_readout: bool = True
    grid_size: int = 8
    difficulty: str = "medium"
    slope_metric: str = "val_loss"
    axes: dict[str, Axis] = field(default_factory=lambda: dict(DEFAULT_AXES))

    def grid(self, name: str) -> dict[str, list[float]]:
        """The {"lr": [...], decay: [...]} grid of sweep ``name`` (a key of ``axes``)."""
        axis = self.axes[name]
        scale = REFERENCE_STEPS / self.steps if axis.per_step else 1.0
        decays = (axis.decays[0] * scale, axis.decays[1] * scale)
        return {"lr": _logspace(axis.lr, self.grid_size), axis.decay: _logspace(decays, self.grid_size)}

    def with_(self, **changes: object) -> LandscapeSettings:
        """A copy with some settings changed (``settings.with_(steps=100, grid_size=4)``)."""
        return replace(self, **changes)


def _logspace(bounds: tuple[float, float], n: int) -> list[float]:
    low, high = bounds
    return np.logspace(np.log10(low), np.log10(high), n).tolist()


def train_hidden_only(rule: UpdateRule, n_readout: int) -> UpdateRule:
    """``rule`` applied to every parameter except the last ``n_readout`` of the flat vector (the
    output layer's weights and bias), which keep their initial values: a fixed random readout."""
    @functools.wraps(rule)
    def hidden_only(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int,
                    **hparams: HParam) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        new_theta, new_state = rule(theta, grad, state, t, **hparams)
        if isinstance(new_theta, torch.Tensor) and new_theta.shape == theta.shape:
            new_theta = torch.cat([new_theta[..., :-n_readout], theta[..., -n_readout:]], -1)
        return new_theta, new_state
    return hidden_only


def _check_rules(rules: tuple[UpdateRule, ...] | list[UpdateRule] | dict[str, UpdateRule] | None,
                 names: tuple[str, ...]) -> dict[str, UpdateRule]:
    """The rules to sweep, by name. ``rules`` is a tuple in the pair's order, or a dict that
    holds every name (a larger table, such as the reference RULES, is fine)."""
    if rules is None:
        raise ValueError(f"rules is required: your own update rules for {list(names)}, as a tuple "
                         "in this order or a dict by name")
    if isinstance(rules, (tuple, list)):
        if len(rules) != len(names):
            raise ValueError(f"rules must hold {len(names)} functions, for {list(names)} in this "
                             f"order, got {len(rules)}")
        return dict(zip(names, rules))
    missing = [n for n in names if n not in rules] if isinstance(rules, dict) else list(names)
    if missing:
        raise ValueError(f"rules must be a dict with the keys {list(names)} (or a tuple in that "
                         f"order); missing {missing}")
    return {name: rules[name] for name in names}


def paper_landscape(pair: str = "adam", difficulty: str | None = None, seed: int = 0,
                    device: torch.device | str | None = None, *,
                    rules: tuple[UpdateRule, ...] | list[UpdateRule] | dict[str, UpdateRule] | None = None,
                    progress: bool = False, settings: LandscapeSettings | None = None,
                    schedule: Schedule | None = None) -> dict[str, SweepResult]:
    """Sweep both rules of ``pair`` over their (lr, decay) grids; return {label: SweepResult}.

    pair: "adam" (Adam + L2 vs AdamW, paper convention), "adamw" (AdamW paper vs PyTorch
    convention) or "sgd" (SGD + L2 vs SGDW, both with momentum). difficulty: a data_gen preset
    (default: ``settings.difficulty``); ``seed`` draws the data, the initial weights and the
    minibatch order. rules: the update rules to sweep, as a tuple in the pair's order or a dict
    by name (names in ``PAIRS``): a student's own functions, or the reference ``RULES`` on the
    instructor's side (this student-visible module never imports them). settings: a LandscapeSettings.
    schedule: a multiplier eta_t for both step and decay (t counts steps from 0), or None.
    """
    if pair not in PAIRS:
        raise ValueError(f"pair must be one of {sorted(PAIRS)}, got {pair!r}")
    settings = settings if settings is not None else LandscapeSettings()
    if not isinstance(settings, LandscapeSettings):
        raise ValueError(f"settings must be a LandscapeSettings, got {type(settings).__name__}")
    names = PAIRS[pair]
    chosen = _check_rules(rules, names)
    data = data_gen.make_classification(difficulty=difficulty or settings.difficulty, seed=seed)
    n_classes = int(torch.cat([data.y_train, data.y_val]).max()) + 1
    n_readout = settings.hidden[-1] * n_classes + n_classes
    results = {}
    for name in names:
        rule = train_hidden_only(chosen[name], n_readout) if settings.fixed_readout else chosen[name]
        results[settings.axes[name].label] = sweep(
            rule, data, grid=settings.grid(name), steps=settings.steps,
            batch_size=settings.batch_size, hidden=tuple(settings.hidden), seed=seed, device=device,
            layer_norm=settings.layer_norm, progress=progress, schedule=schedule)
    return results


def slopes(results: dict[str, SweepResult], metric: str | None = None,
           settings: LandscapeSettings | None = None) -> dict[str, float]:
    """{label: coupling slope} of each sweep on ``metric`` (default ``settings.slope_metric``),
    with soft weights (plots.coupling_slope(soft=True)): steadier than a hard cut on 8 x 8 grids."""
    metric = metric or (settings or LandscapeSettings()).slope_metric
    return {label: plots.coupling_slope(result, metric, soft=True) for label, result in results.items()}
