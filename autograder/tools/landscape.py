"""Measure the landscape of notebook 03 (instructors; uses the hidden reference): `make landscape`.

Trains ``wdlab.landscape.paper_landscape`` with the notebook's settings (``LandscapeSettings()``:
the workload, grids and schedule the notebook shows) for several seeds, each seed drawing its own
data, initial weights and minibatch order, and measures each method's basin: where the best
setting lies and whether it is inside the grid on both axes, how much it gains over the
unregularized row (decay 0), the coupling slope and the ridge slope. One line per seed and
method, then a summary; the last line printed is JSON:

    {"pair", "difficulty", "seeds", "settings": {...}, "seconds",
     "methods": {label: {"decay", "best_lr", "best_decay", "interior", "interior_seeds",
                         "loss_gain_mean", "loss_gain_std", "acc_gain_mean", "acc_gain_std",
                         "slope_mean", "slope_std", "slope_ci95", "ridge_slope_mean",
                         "ridge_slope_std", "per_seed": [...]}}}

best_lr, best_decay and interior describe the landscape averaged over the seeds (validation
loss and accuracy averaged cell by cell); interior_seeds counts the seeds whose own best is
inside the grid on both axes; the gains are the best regularized setting against the best
learning rate of the decay-0 row, per seed (loss: lower by; accuracy: higher by); slope_ci95 is
a Student-t interval for the mean over the seeds.

    python -m autograder.tools.landscape [--seeds 0 1 2] [--pair adam] [--difficulty medium]
                                         [--device cpu] [--grid N] [--steps N]

--grid and --steps change the notebook's settings for a quick look; the measurement of record
uses neither.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from collections.abc import Sequence

import numpy as np
import torch
from scipy import stats

from autograder.reference import RULES
from wdlab.landscape import PAIRS, Basin, Landscape, LandscapeSettings, basin, basins, paper_landscape

MIN_SEEDS = 3


def mean_landscape(landscapes: Sequence[Landscape]) -> Landscape:
    """The landscapes' validation loss and accuracy averaged cell by cell (same grids)."""
    def average(results: list) -> object:
        return dataclasses.replace(results[0], val_loss=np.mean([r.val_loss for r in results], 0),
                                   val_acc=np.mean([r.val_acc for r in results], 0))

    first = landscapes[0]
    return Landscape({label: average([ls[label] for ls in landscapes]) for label in first},
                     {label: average([ls.unregularized[label] for ls in landscapes])
                      for label in first.unregularized})


def spread(values: Sequence[float]) -> tuple[float, float, list[float]]:
    """(mean, sample standard deviation, 95% Student-t interval of the mean) of ``values``,
    NaNs left out; NaN where fewer than 2 values remain."""
    clean = np.array([v for v in values if math.isfinite(v)], float)
    if clean.size < 2:
        mean = float(clean.mean()) if clean.size else float("nan")
        return mean, float("nan"), [float("nan"), float("nan")]
    mean, std = float(clean.mean()), float(clean.std(ddof=1))
    half = float(stats.t.ppf(0.975, clean.size - 1)) * std / math.sqrt(clean.size)
    return mean, std, [mean - half, mean + half]


def summarize(per_seed: Sequence[dict[str, Basin]], averaged: dict[str, Basin]) -> dict[str, dict]:
    """The JSON summary per method (see the module docstring)."""
    out = {}
    for label, best in averaged.items():
        runs = [seed[label] for seed in per_seed]
        slope_mean, slope_std, slope_ci = spread([b.slope for b in runs])
        ridge_mean, ridge_std, _ = spread([b.ridge_slope for b in runs])
        loss_mean, loss_std, _ = spread([b.loss_gain for b in runs])
        acc_mean, acc_std, _ = spread([b.acc_gain for b in runs])
        out[label] = {
            "decay": best.decay, "best_lr": best.best_lr, "best_decay": best.best_decay,
            "interior": best.interior, "interior_seeds": sum(b.interior for b in runs),
            "loss_gain_mean": loss_mean, "loss_gain_std": loss_std,
            "acc_gain_mean": acc_mean, "acc_gain_std": acc_std,
            "slope_mean": slope_mean, "slope_std": slope_std, "slope_ci95": slope_ci,
            "ridge_slope_mean": ridge_mean, "ridge_slope_std": ridge_std,
            "per_seed": [b.as_dict() for b in runs]}
    return out


def line(seed: int | str, b: Basin) -> str:
    """One readable line of a basin."""
    return (f"seed {seed}: {b.label:14s} best lr {b.best_lr:.2g}, {b.decay} {b.best_decay:.2g} "
            f"(inside the grid: lr {'yes' if b.lr_interior else 'no'}, decay "
            f"{'yes' if b.decay_interior else 'no'}); val loss {b.val_loss:.4f} vs {b.reference_loss:.4f} "
            f"unregularized (gain {b.loss_gain:+.4f}), acc {b.val_acc:.3f} vs {b.reference_acc:.3f} "
            f"({b.acc_gain:+.3f}); slope {b.slope:+.2f}, ridge {b.ridge_slope:+.2f} over "
            f"{b.ridge_columns} lrs")


def measure(seeds: Sequence[int], pair: str = "adam", difficulty: str | None = None,
            settings: LandscapeSettings | None = None,
            device: torch.device | str | None = None) -> dict[str, object]:
    """Train the landscape for every seed with the reference rules and return the summary."""
    settings = settings if settings is not None else LandscapeSettings()
    if not settings.unregularized:
        raise ValueError("settings.unregularized must be True: the gains are measured against "
                         "the decay-0 row")
    start = time.perf_counter()
    landscapes, per_seed = [], []
    for seed in seeds:
        landscape = paper_landscape(pair, difficulty, seed, device, rules=RULES, settings=settings)
        landscapes.append(landscape)
        per_seed.append(basins(landscape, settings.slope_metric))
        for b in per_seed[-1].values():
            print(line(seed, b), flush=True)
    averaged_landscape = mean_landscape(landscapes)
    averaged = {label: basin(result, averaged_landscape.unregularized.get(label), label,
                             settings.slope_metric)
                for label, result in averaged_landscape.items()}
    for b in averaged.values():
        print(line("mean", b))
    return {"pair": pair, "difficulty": difficulty or settings.difficulty, "seeds": list(seeds),
            "settings": {"steps": settings.steps, "batch_size": settings.batch_size,
                         "hidden": list(settings.hidden), "n_train": settings.n_train,
                         "schedule": settings.schedule, "grid_size": settings.grid_size,
                         "fixed_readout": settings.fixed_readout, "layer_norm": settings.layer_norm,
                         "grids": {name: settings.grid(name) for name in PAIRS[pair]}},
            "seconds": round(time.perf_counter() - start, 1),
            "methods": summarize(per_seed, averaged)}


def plain(value: object) -> object:
    """``value`` with every NaN or infinity (a slope over too few columns) as None, so that the
    report is standard JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    """Run the measurement, print its report (JSON, the last line; NaN written as null) and
    return it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help=f"seeds to train (at least {MIN_SEEDS} for a spread)")
    parser.add_argument("--pair", default="adam", choices=sorted(PAIRS))
    parser.add_argument("--difficulty", default=None, help="a data_gen preset (default: the settings')")
    parser.add_argument("--device", default=None, help="cpu, cuda or auto (default: course_config's device)")
    parser.add_argument("--grid", type=int, default=None, help="grid points per axis (default: notebook's)")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the notebook's)")
    args = parser.parse_args(argv)
    if len(set(args.seeds)) < MIN_SEEDS:
        parser.error(f"--seeds needs at least {MIN_SEEDS} different seeds, got {args.seeds}")
    torch.set_num_threads(1)  # small tensors: on a shared machine threads only wait for each other
    settings = LandscapeSettings()
    changes = {k: v for k, v in (("grid_size", args.grid), ("steps", args.steps)) if v is not None}
    try:
        settings = settings.with_(**changes)
    except ValueError as err:
        parser.error(str(err))
    report = plain(measure(args.seeds, args.pair, args.difficulty, settings, args.device))
    print(json.dumps(report, allow_nan=False))
    return report


if __name__ == "__main__":
    main()
