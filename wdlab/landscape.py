"""The (learning rate x decay) landscape of Loshchilov & Hutter's Figure 2, on the course's data.

``paper_landscape("adam")`` sweeps Adam + L2 and AdamW (paper convention) over the grids in
``LandscapeSettings`` and returns a ``Landscape``: the two SweepResults over (lr, decay), and in
``unregularized`` the same learning rates trained with decay 0, the reference row. ``"adamw"``
compares the paper's AdamW with PyTorch's, ``"sgd"`` SGD + L2 with SGDW. ``basins`` measures a
landscape: the best setting, whether it lies inside the grid on both axes, what it gains over
the unregularized row, and the coupling slope. Every setting that shapes the picture lives in
``LandscapeSettings``; why each has its value:

* Scale invariance. The paper's networks use batch normalization, so the weights only set an
  effective (angular) step size through their norm. The MLP here gets the same property from
  ``layer_norm=True`` (each hidden layer's weights and bias together) and from a **fixed random
  readout** (``fixed_readout=True``: the output layer keeps its initial weights). A trained
  readout is not scale-invariant, and its decay then acts as an ordinary penalty on the size of
  the logits: it turns the picture round (measured on this workload: Adam + L2's slope +0.2 to
  +0.7, AdamW's +0.95, the shapes of an ordinary penalty). A fixed
  random classifier costs the MLP little (Hoffer et al., 2018). For scale-invariant weights the
  balance of Adam's steps (~lr per coordinate) against the decay gives an angular step of
  ~sqrt(2 w) for paper AdamW (no lr: slope 0), ~sqrt(2 lr wd) for PyTorch's AdamW (slope -1)
  and a function of lr^2 l2 for Adam + L2 (slope -2); SGD + L2 behaves as lr x l2 and SGDW as w.
* Where decay helps. With every trained weight scale-invariant, decay does not shrink the
  function; it keeps the weight norm small, so the angular step stays large while the norm of an
  undecayed run grows and its steps die out (~1/sqrt(t)). That keeps training exploring instead
  of settling early on the training set's noisy labels, and it only pays off when the run ends
  with small steps: hence a cosine annealing schedule (``schedule="cosine"``: eta_t falls from
  1 to 0 over the run) and fewer training points than data_gen's default (``n_train=1000``,
  30 epochs in 300 steps), so that overfitting is what the decay cures. With a constant
  schedule the last steps of a decayed run are as large as its first ones: the best decay
  gained at most 0.024 in validation loss over decay 0, and nothing on one seed of three (1000
  training points, 400 steps); with 2000 points it sat at the grid's smallest decay.
* What sets the learning rate. For scale-invariant weights Adam's learning rate acts like the
  inverse of the initial weights' size: the run with step lr from weights theta_0 follows the
  run with step 1 from theta_0 / lr (with decay w for AdamW, l2 lr^2 for Adam + L2). So the
  learning rate matters far less than in the paper's ResNets, whose classifier and batch-norm
  scales are not scale-invariant. Measured (3 seeds, averaged): with its decay tuned, AdamW's
  validation loss is within 0.01 of its best at every learning rate from 1e-3 to 1 (a plateau:
  separable, with no preferred lr); Adam + L2 needs lr >= 3e-3 (at 1e-3 its best loss is 0.45
  against 0.37) and then has the same floor all along its diagonal. The best learning rate of a
  single map is therefore chosen by noise among many near-equal ones; the decay axis is where
  the optimum is sharp (decay 0 and too little decay: ~0.39-0.42; too much: up to 0.6-0.7).
* Grids. Both decay axes span 5 decades with 8 values, plus the reference row of decay 0, and
  the learning rates 3 decades. Adam + L2's good region moves ~lr^-2 (measured ridge slope about
  -1.4), so its axis needs the span; AdamW's gets the same span for a fair picture, which also
  shows where too little decay stops mattering. The decoupled decays are rates per step, given
  for ``REFERENCE_STEPS`` and scaled as 1 / steps (normalized weight decay keeps w x steps
  fixed). The L2 axis is not AdamW's mapped through Proposition 1 (lambda = lr lambda'): Adam
  divides the penalty's gradient by sqrt(v_hat) (Proposition 2), so an l2 shrinks the weights
  far more than lr x l2 per step (AdamW's best w ~0.04-0.2 would map to l2 = w / lr ~4-20 at
  lr 1e-2, where Adam + L2's best is ~0.003-0.07), and each axis is placed on its own rule's
  good region.
* The slope is measured on validation loss (``slope_metric``) with soft weights
  (``plots.coupling_slope(soft=True)``): on 1000 validation points the accuracy is noisy
  (~0.008), the loss is smooth. ``basins`` adds the ridge slope, fitted only over the learning
  rates whose best decay lies inside the grid (a column whose optimum is off the grid says
  nothing about where it is). ``python -m autograder.tools.landscape`` measures all of this
  over seeds.

The defaults cost about 1.7x the former ones (two 8 x 9 sweeps instead of 8 x 8, the decay-0 row
trained in the same sweep; 300 steps instead of 200; batch 100 through a 64-64 MLP).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import torch

import data_gen

from . import plots
from .engine import HParam, Schedule, UpdateRule, fused_update, wraps_rule
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
# Ranges in each rule's own units (see the module docstring). Adam + L2 and paper AdamW: 5
# decades each around their good regions for 300 steps of the default workload (AdamW's w x
# steps from 0.003 to 300). PyTorch's AdamW decays lr x wd per step: the same band of lr x wd
# crosses its grid diagonally. SGD's grids start at lr 3e-3: below, 300 steps hardly move it.
DEFAULT_AXES = {
    "adam_l2": Axis("Adam + L2", "l2", (1e-3, 1.0), (1e-4, 10.0)),
    "adamw_paper": Axis("AdamW (paper)", "wd", (1e-3, 1.0), (1.5e-5, 1.5), per_step=True),
    "adamw_torch": Axis("AdamW (PyTorch)", "wd", (1e-3, 1e-1), (3e-2, 3e2), per_step=True),
    "sgd_l2_momentum": Axis("SGD + L2", "l2", (3e-3, 3e-1), (1e-6, 1.0)),
    "sgdw_momentum": Axis("SGDW", "wd", (3e-3, 3e-1), (3e-3, 3e-1), per_step=True),
}

PAIRS = {
    "adam": ("adam_l2", "adamw_paper"),
    "adamw": ("adamw_paper", "adamw_torch"),
    "sgd": ("sgd_l2_momentum", "sgdw_momentum"),
}

SCHEDULES = ("cosine", "constant")


class CosineAnnealing:
    """eta_t = (1 + cos(pi t / steps)) / 2 for the 0-based step t: from 1 down to ~0 at the end."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def __call__(self, t: int) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * t / self.steps))

    def __repr__(self) -> str:
        return f"CosineAnnealing(steps={self.steps})"


@dataclass(frozen=True)
class LandscapeSettings:
    """Everything that shapes the landscape, in one place (see the module docstring for why).

    n_train: training points drawn for the landscape (the validation set keeps its 1000);
    schedule: "cosine" (one cosine annealing over the run) or "constant", for step and decay;
    unregularized: also train every learning rate with decay 0 (``Landscape.unregularized``).
    """
    steps: int = 300
    batch_size: int = 100
    hidden: tuple[int, ...] = (64, 64)
    layer_norm: bool = True
    fixed_readout: bool = True
    grid_size: int = 8
    difficulty: str = "medium"
    n_train: int = 1000
    schedule: str = "cosine"
    unregularized: bool = True
    slope_metric: str = "val_loss"
    axes: dict[str, Axis] = field(default_factory=lambda: dict(DEFAULT_AXES))

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}; pass "
                             "any other schedule function to paper_landscape(schedule=...)")
        for name in ("steps", "n_train", "grid_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    def grid(self, name: str) -> dict[str, list[float]]:
        """The {"lr": [...], decay: [...]} grid of sweep ``name`` (a key of ``axes``)."""
        axis = self.axes[name]
        scale = REFERENCE_STEPS / self.steps if axis.per_step else 1.0
        decays = (axis.decays[0] * scale, axis.decays[1] * scale)
        return {"lr": _logspace(axis.lr, self.grid_size), axis.decay: _logspace(decays, self.grid_size)}

    def data(self, difficulty: str | None = None, seed: int = 0) -> data_gen.Split:
        """The landscape's dataset: ``difficulty`` (default ``self.difficulty``) with
        ``n_train`` training points, drawn from ``seed``."""
        return data_gen.make_classification(n_train=self.n_train, difficulty=difficulty or self.difficulty,
                                            seed=seed)

    def eta(self) -> Schedule | None:
        """The schedule function of ``schedule`` for this run length (None: constant)."""
        return CosineAnnealing(self.steps) if self.schedule == "cosine" else None

    def with_(self, **changes: object) -> LandscapeSettings:
        """A copy with some settings changed (``settings.with_(steps=100, grid_size=4)``)."""
        return replace(self, **changes)


def _logspace(bounds: tuple[float, float], n: int) -> list[float]:
    low, high = bounds
    return np.logspace(np.log10(low), np.log10(high), n).tolist()


class Landscape(dict[str, SweepResult]):
    """{label: SweepResult over lr and decay}, as ``plots.heatmaps`` takes it, plus
    ``unregularized``: {label: SweepResult over lr alone, trained with decay 0} (empty when the
    settings asked for no reference row)."""

    def __init__(self, results: Mapping[str, SweepResult],
                 unregularized: Mapping[str, SweepResult] | None = None) -> None:
        super().__init__(results)
        self.unregularized = dict(unregularized or {})


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


class ZeroStandIn:
    """``rule`` with one value of its decay argument read as 0: the grid of a sweep holds only
    positive values, so the reference row (decay 0) trains in the same sweep under a positive
    stand-in, ``stand_in``, which this wrapper turns into 0 before the rule sees it."""

    def __init__(self, rule: UpdateRule, decay: str, stand_in: float) -> None:
        self.rule, self.decay, self.stand_in = rule, decay, stand_in
        wraps_rule(self, rule)

    def _zeroed(self, hparams: dict[str, HParam]) -> dict[str, HParam]:
        value = hparams.get(self.decay)
        if isinstance(value, torch.Tensor):
            stand_in = torch.tensor(self.stand_in, dtype=value.dtype, device=value.device)
            value = torch.where(value == stand_in, torch.zeros_like(value), value)
        elif isinstance(value, (int, float)) and value == self.stand_in:
            value = 0.0
        return {**hparams, self.decay: value}

    def __call__(self, theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int,
                 **hparams: HParam) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.rule(theta, grad, state, t, **self._zeroed(hparams))


class _ZeroStandInPlace(ZeroStandIn):
    def fused(self, theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int,
              **hparams: HParam) -> None:
        """The rule's in-place update, with the stand-in read as 0 (see ``wdlab.engine``)."""
        fused_update(self.rule)(theta, grad, state, t, **self._zeroed(hparams))


def zero_stand_in(rule: UpdateRule, decay: str, stand_in: float) -> ZeroStandIn:
    """A ``ZeroStandIn`` that keeps the rule's in-place update, if it has one."""
    return (_ZeroStandInPlace if fused_update(rule) is not None else ZeroStandIn)(rule, decay, stand_in)


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


def _split_reference(result: SweepResult, decay: str) -> tuple[SweepResult, SweepResult]:
    """(the sweep without its first decay column, that column alone as a sweep over lr with
    decay 0): the reference row trained under a stand-in value (see ``ZeroStandIn``)."""
    def cut(a: np.ndarray, keep: slice | int) -> np.ndarray:
        return np.asarray(a)[:, keep]

    main = replace(result, grid={"lr": result.grid["lr"], decay: result.grid[decay][1:]},
                   val_acc=cut(result.val_acc, slice(1, None)), val_loss=cut(result.val_loss, slice(1, None)),
                   train_loss=cut(result.train_loss, slice(1, None)),
                   curves={k: cut(v, slice(1, None)) for k, v in result.curves.items()})
    reference = replace(result, grid={"lr": result.grid["lr"]}, val_acc=cut(result.val_acc, 0),
                        val_loss=cut(result.val_loss, 0), train_loss=cut(result.train_loss, 0),
                        curves={k: cut(v, 0) for k, v in result.curves.items()},
                        fixed={**result.fixed, decay: 0.0})
    return main, reference


def paper_landscape(pair: str = "adam", difficulty: str | None = None, seed: int = 0,
                    device: torch.device | str | None = None, *,
                    rules: tuple[UpdateRule, ...] | list[UpdateRule] | dict[str, UpdateRule] | None = None,
                    progress: bool = False, settings: LandscapeSettings | None = None,
                    schedule: Schedule | str | None = "settings") -> Landscape:
    """Sweep both rules of ``pair`` over their (lr, decay) grids; return a Landscape
    ({label: SweepResult}, with the decay-0 reference rows in ``.unregularized``).

    pair: "adam" (Adam + L2 vs AdamW, paper convention), "adamw" (AdamW paper vs PyTorch
    convention) or "sgd" (SGD + L2 vs SGDW, both with momentum). difficulty: a data_gen preset
    (default: ``settings.difficulty``); ``seed`` draws the data, the initial weights and the
    minibatch order. rules: the update rules to sweep, as a tuple in the pair's order or a dict
    by name (names in ``PAIRS``): a student's own functions, or the reference ``RULES`` on the
    instructor's side (this student-visible module never imports them). settings: a LandscapeSettings.
    schedule: "settings" (the default: ``settings.schedule``), a multiplier eta_t for both step
    and decay (t counts steps from 0), or None for a constant schedule.
    """
    if pair not in PAIRS:
        raise ValueError(f"pair must be one of {sorted(PAIRS)}, got {pair!r}")
    settings = settings if settings is not None else LandscapeSettings()
    if not isinstance(settings, LandscapeSettings):
        raise ValueError(f"settings must be a LandscapeSettings, got {type(settings).__name__}")
    if not (schedule is None or callable(schedule) or schedule == "settings"):
        raise ValueError(f"schedule must be 'settings', a function t -> eta_t or None (constant), "
                         f"got {schedule!r}")
    eta = settings.eta() if schedule == "settings" else schedule
    names = PAIRS[pair]
    chosen = _check_rules(rules, names)
    data = settings.data(difficulty, seed)
    n_readout = settings.hidden[-1] * data.n_classes + data.n_classes
    results, reference = {}, {}
    for name in names:
        axis = settings.axes[name]
        rule = train_hidden_only(chosen[name], n_readout) if settings.fixed_readout else chosen[name]
        grid = settings.grid(name)
        if settings.unregularized:
            decays = grid[axis.decay]
            # one grid step below the smallest decay: a positive value the sweep accepts
            stand_in = decays[0] * decays[0] / decays[1] if len(decays) > 1 else decays[0] / 10
            rule = zero_stand_in(rule, axis.decay, stand_in)
            grid = {"lr": grid["lr"], axis.decay: [stand_in, *decays]}
        result = sweep(rule, data, grid=grid, steps=settings.steps, batch_size=settings.batch_size,
                       hidden=tuple(settings.hidden), seed=seed, device=device,
                       layer_norm=settings.layer_norm, progress=progress, schedule=eta)
        if settings.unregularized:
            result, reference[axis.label] = _split_reference(result, axis.decay)
        results[axis.label] = result
    return Landscape(results, reference)


def slopes(results: dict[str, SweepResult], metric: str | None = None,
           settings: LandscapeSettings | None = None) -> dict[str, float]:
    """{label: coupling slope} of each sweep on ``metric`` (default ``settings.slope_metric``),
    with soft weights (plots.coupling_slope(soft=True)): steadier than a hard cut on 8 x 8 grids."""
    metric = metric or (settings or LandscapeSettings()).slope_metric
    return {label: plots.coupling_slope(result, metric, soft=True) for label, result in results.items()}


@dataclass(frozen=True)
class Basin:
    """Where one sweep's best setting lies and what regularization gains there.

    best_lr, best_decay: the best setting by ``metric`` (validation loss by default);
    lr_interior, decay_interior: whether it lies strictly inside that axis of the grid (not on
    its first or last value; decay 0 is a row of its own below the grid); val_loss, val_acc: at
    the best setting; reference_loss, reference_acc: at the best learning rate of the
    unregularized row (NaN without one); slope: the soft coupling slope (``slopes``);
    ridge_slope: log10 best decay against log10 lr, fitted over the ``ridge_columns`` learning
    rates whose best decay is inside the grid (NaN with fewer than 2).
    """
    label: str
    decay: str
    best_lr: float
    best_decay: float
    lr_interior: bool
    decay_interior: bool
    val_loss: float
    val_acc: float
    reference_loss: float
    reference_acc: float
    slope: float
    ridge_slope: float
    ridge_columns: int

    @property
    def interior(self) -> bool:
        """The best setting lies inside the grid on both axes."""
        return self.lr_interior and self.decay_interior

    @property
    def loss_gain(self) -> float:
        """How much lower the best validation loss is than the unregularized row's best."""
        return self.reference_loss - self.val_loss

    @property
    def acc_gain(self) -> float:
        """Validation accuracy at the best setting minus that of the unregularized row's best."""
        return self.val_acc - self.reference_acc

    def as_dict(self) -> dict[str, float | int | bool | str]:
        """The fields and the derived values (interior, loss_gain, acc_gain) as a plain dict."""
        return {**{k: getattr(self, k) for k in self.__dataclass_fields__},
                "interior": self.interior, "loss_gain": self.loss_gain, "acc_gain": self.acc_gain}


def _score(values: np.ndarray, metric: str) -> np.ndarray:
    """Higher is better, non-finite (diverged) as the worst."""
    values = np.asarray(values, float)
    return np.where(np.isfinite(values), values if metric == "val_acc" else -values, -np.inf)


def ridge_slope(result: SweepResult, metric: str = "val_loss") -> tuple[float, int]:
    """(slope of log10 best decay against log10 lr, number of learning rates used), over the
    learning rates whose best decay is strictly inside the decay grid; each best decay is refined
    by a parabola through its cell and the two neighbours (in log10 decay). NaN below 2 columns."""
    if metric not in plots.METRICS:
        raise ValueError(f"metric must be one of {plots.METRICS}, got {metric!r}")
    lrs, decay, decays = _lr_decay(result)
    score = _score(getattr(result, metric), metric)  # [lr, decay]
    logs = np.log10(decays)
    xs, ys = [], []
    for i, lr in enumerate(lrs):
        j = int(np.argmax(score[i]))
        if not 0 < j < len(decays) - 1 or not np.isfinite(score[i, j - 1:j + 2]).all():
            continue
        left, mid, right = score[i, j - 1:j + 2]
        curvature = left - 2 * mid + right
        shift = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
        step = (logs[j + 1] - logs[j - 1]) / 2
        xs.append(math.log10(lr))
        ys.append(logs[j] + float(np.clip(shift, -0.5, 0.5)) * step)
    if len(xs) < 2:
        return float("nan"), len(xs)
    return float(np.polyfit(xs, ys, 1)[0]), len(xs)


def _lr_decay(result: SweepResult) -> tuple[np.ndarray, str, np.ndarray]:
    names = list(result.grid)
    if len(names) != 2 or names[0] != "lr" or names[1] not in plots.DECAY_AXES:
        raise ValueError(f"result must be a sweep over 'lr' then one of {plots.DECAY_AXES}, got "
                         f"axes {names}")
    return np.asarray(result.grid["lr"], float), names[1], np.asarray(result.grid[names[1]], float)


def basin(result: SweepResult, unregularized: SweepResult | None = None, label: str = "",
          metric: str = "val_loss") -> Basin:
    """The Basin of one sweep over (lr, decay), against its decay-0 row ``unregularized``."""
    if metric not in plots.METRICS:
        raise ValueError(f"metric must be one of {plots.METRICS}, got {metric!r}")
    lrs, decay, decays = _lr_decay(result)
    score = _score(getattr(result, metric), metric)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    ref_loss = ref_acc = float("nan")
    if unregularized is not None:
        if list(unregularized.grid) != ["lr"] or not np.allclose(unregularized.grid["lr"], lrs):
            raise ValueError(f"unregularized must be a sweep over the same learning rates {list(lrs)}, "
                             f"got the grid {unregularized.grid}")
        k = int(np.argmax(_score(getattr(unregularized, metric), metric)))
        ref_loss, ref_acc = float(unregularized.val_loss[k]), float(unregularized.val_acc[k])
    ridge, columns = ridge_slope(result, metric)
    return Basin(label, decay, float(lrs[i]), float(decays[j]), bool(0 < i < len(lrs) - 1),
                 bool(0 < j < len(decays) - 1), float(result.val_loss[i, j]), float(result.val_acc[i, j]),
                 ref_loss, ref_acc, plots.coupling_slope(result, metric, soft=True), ridge, columns)


def basins(landscape: Mapping[str, SweepResult], metric: str | None = None) -> dict[str, Basin]:
    """{label: Basin} of every sweep of ``landscape`` (a Landscape: its unregularized rows are
    the reference), on ``metric`` (default: the settings' slope metric, validation loss)."""
    metric = metric or LandscapeSettings.slope_metric
    reference = getattr(landscape, "unregularized", {})
    return {label: basin(result, reference.get(label), label, metric) for label, result in landscape.items()}
