"""Benchmark (instructors; uses the hidden reference): wdlab's sweep engine against the idiomatic
PyTorch ways of training a hyperparameter grid, on one CPU thread each, in one run.

Workload W: Adam + L2 and AdamW (paper convention), an 8 x 8 grid each (lr 1e-4..1e-1,
decay 1e-5..1e-1), MLP 20-64-64-4, batch 100, 2000 training points, 200 steps (a 32 x 32 grid
on CUDA). Approaches, every one on the same data, initial weights and minibatches:

  engine          wdlab.sweep with the in-place reference rules (autograder.reference.fused), one part
  engine_generic  wdlab.sweep with the plain reference rules (the path a student's own rule takes)
  vmap            torch.func.stack_module_state + functional_call + vmap forward, autograd backward,
                  the reference rule broadcast over the stacked parameters
  param_groups    one nn.Module per configuration, stacked for a vmap forward, autograd backward,
                  torch.optim.Adam / AdamW (fused=True) with one param group per configuration
  loop            one nn.Module + torch.optim training per configuration (AdamW's decay as wd / lr)

Each is timed by wall and CPU time (CPU time is what other programs on a shared machine do not
inflate); speedups and the fraction of the GEMM peak are by CPU time, one intra-op thread
everywhere. Agreement: every approach's training loss at step 50 against the loop's, next to the
float32 noise (the engine in float32 against the engine in float64). Then, under a background
load this benchmark starts and stops itself (2 busy processes per core), the engine with its
default parallelism against one thread (and torch's own default threads on the engine's step,
the collapse this default avoids), and the lecture demo's full redraw (wdlab.explorer), idle and
loaded. The last line printed is JSON; the keys are explained in ``KEYS``.

    python -m autograder.tools.bench_sweeps [--device cpu|cuda|auto] [--grid N] [--steps N]
        [--repeats N] [--loop-configs K] [--skip-loop] [--skip-load]
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import torch

import data_gen
from wdlab import engine, threads
from wdlab.device import course_device, resolve_device
from wdlab.model import MLP
from wdlab.sweep import sweep
from wdlab.train import train_torch

if TYPE_CHECKING:
    from data_gen import Split
    from wdlab.engine import UpdateRule

KEYS = {
    "speedup_vs_vmap": "CPU time of the vmap ensemble / the engine's (1 thread each)",
    "speedup_vs_loop": "CPU time of the loop of torch.optim trainings / the engine's",
    "speedup_vs_param_groups": "CPU time of torch.optim with a param group per configuration / the engine's",
    "fraction_of_peak": "the engine's GFLOP per CPU second / the GEMM peak per CPU second (1 thread)",
    "threads_under_load_ratio": "wall time of the engine's default parallelism / one thread, under "
                                "the background load (<= 1: the default is never slower)",
    "threads_idle_ratio": "the same ratio without the background load",
    "collapse_ratio": "the engine's step on torch's default intra-op threads / on one, under the load",
    "redraw_s / redraw_loaded_s": "the lecture demo's full redraw (2 sweeps, train + draw), idle / loaded",
    "loss50_*": "median relative difference of the training loss at step 50 from the loop's",
}
BUSY = "while True:\n    pass\n"
LOSS_STEP = 50


def _sig(x: float, digits: int = 4) -> float:
    """``x`` to ``digits`` significant figures: ratios of reported figures stay exact to ~1e-4
    whether a run takes hours or (in tests) milliseconds."""
    return float(f"{x:.{digits}g}")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: torch.device) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of ``fn()``."""
    _sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    _sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def peak_gflops(device: torch.device, n: int = 2048, repeats: int = 5) -> tuple[float, float]:
    """Best fp32 GEMM rate of an n x n x n product on ``device``: (by wall time, by CPU time)."""
    n = 8192 if device.type == "cuda" else n
    a, b = (torch.randn(n, n, device=device) for _ in range(2))
    a @ b  # warm-up
    times = [_timed(lambda: a @ b, device) for _ in range(repeats)]
    return tuple(2 * n ** 3 / min(t[k] for t in times) / 1e9 for k in (0, 1))


def matmul_ceiling(model: MLP, grid_size: int, batch_size: int, device: torch.device,
                   repeats: int = 5) -> float:
    """GFLOP/s (wall) of one step's matrix products alone at the workload's shapes: no
    elementwise work, no Python. Divided by the peak, the most the engine could reach."""
    g, n = grid_size ** 2, batch_size
    w = model.unflatten(model.init(0, device=device).expand(g, -1).contiguous())
    x = torch.randn(model.sizes[0], n, device=device)
    acts = [torch.randn(g, h, n, device=device) for h in model.sizes[1:]]

    def products() -> None:
        for i in range(1, model.n_layers + 1):
            w_i, out = w[f"w{i}"], acts[i - 1]
            h_in = x if i == 1 else acts[i - 2]
            if i == 1:
                torch.mm(w_i.reshape(-1, w_i.shape[-1]), x)
                torch.mm(out.reshape(-1, n), x.T)
            else:
                torch.bmm(w_i, h_in)
                torch.bmm(out, h_in.transpose(1, 2))
                torch.bmm(w_i.transpose(1, 2), out)

    products()
    best = min(_timed(products, device)[0] for _ in range(repeats))
    return model.flops_per_step(n) * g / best / 1e9


def workload(grid_size: int) -> list[tuple[str, str, list[float], list[float]]]:
    """(reference rule name, decay name, lrs, decays) per sweep."""
    lrs = np.logspace(-4, -1, grid_size).tolist()
    decays = np.logspace(-5, -1, grid_size).tolist()
    return [("adam_l2", "l2", lrs, decays), ("adamw_paper", "wd", lrs, decays)]


def _pairs(lrs: Sequence[float], decays: Sequence[float]) -> list[tuple[float, float]]:
    return [(lr, d) for lr in lrs for d in decays]  # the sweep's order: the last axis fastest


@contextmanager
def background_load(processes: int) -> Iterator[None]:
    """``processes`` busy Python processes for the duration of the block (stopped by their ids)."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(processes)]
    try:
        time.sleep(0.3)  # let them reach the scheduler
        yield
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


class Measured:
    """One approach's times, its step-50 losses [configs] and final validation accuracies;
    ``workers``: the parts of each grid trained side by side (the engine)."""

    def __init__(self, wall: float, cpu: float, loss50: np.ndarray, acc: np.ndarray,
                 workers: int = 1) -> None:
        self.wall, self.cpu, self.loss50, self.acc, self.workers = wall, cpu, loss50, acc, workers

    def best(self, other: Measured) -> Measured:
        """The faster of two runs of the same approach (wall and CPU time each at their least)."""
        return Measured(min(self.wall, other.wall), min(self.cpu, other.cpu), self.loss50, self.acc,
                        self.workers)


def run_engine(data: Split, grid_size: int, steps: int, device: torch.device, rules: dict[str, UpdateRule],
               workers: int | None = 1, dtype: torch.dtype = torch.float32) -> Measured:
    """Both sweeps through wdlab.sweep."""
    results = []
    wall, cpu = _timed(lambda: results.extend(
        sweep(rules[name], data, grid={"lr": lrs, key: decays}, steps=steps, device=device,
              workers=workers, dtype=dtype) for name, key, lrs, decays in workload(grid_size)), device)
    k = min(LOSS_STEP, steps) - 1
    return Measured(wall, cpu, np.concatenate([r.train_loss[..., k].ravel() for r in results]),
                    np.concatenate([r.val_acc.ravel() for r in results]), max(r.workers for r in results))


def _ensemble_inputs(data: Split, steps: int, device: torch.device) -> tuple[
        MLP, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    model = MLP(data.x_train.shape[1], (64, 64), int(data.y_train.max()) + 1)
    order = engine.batch_order(data.x_train.shape[0], 100, steps, 0).to(device)
    return (model, model.init(0, device=device), order, data.x_train.to(device), data.y_train.to(device),
            data.x_val.to(device), data.y_val.to(device))


def _per_config_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    g_count, batch, classes = logits.shape
    return torch.nn.functional.cross_entropy(logits.reshape(-1, classes), y.repeat(g_count),
                                             reduction="none").view(g_count, batch).mean(1)


def run_vmap(data: Split, grid_size: int, steps: int, device: torch.device,
             rules: dict[str, UpdateRule]) -> Measured:
    """The idiomatic PyTorch ensemble: stacked module state, a vmapped functional forward,
    autograd's backward, and the reference rule broadcast over [G, ...] parameters."""
    from torch.func import functional_call, stack_module_state, vmap
    model, theta0, order, x_train, y_train, x_val, y_val = _ensemble_inputs(data, steps, device)
    losses, accs = [], []

    def one(name: str, key: str, lrs: list[float], decays: list[float]) -> None:
        pairs = _pairs(lrs, decays)
        params, _ = stack_module_state([model.to_modules(theta0) for _ in pairs])
        base = copy.deepcopy(model.to_modules(theta0)).to("meta")
        forward = vmap(lambda p, x: functional_call(base, p, (x,)), in_dims=(0, None))
        lr = torch.tensor([p[0] for p in pairs], device=device)
        decay = torch.tensor([p[1] for p in pairs], device=device)
        rule, state = rules[name], {k: rules[name].init_state(v) for k, v in params.items()}
        shape = lambda v: (-1,) + (1,) * (v.dim() - 1)  # noqa: E731 - broadcast over a parameter
        for t in range(1, steps + 1):
            idx = order[t - 1]
            loss = _per_config_loss(forward(params, x_train[idx]), y_train[idx])
            grads = torch.autograd.grad(loss.sum(), list(params.values()))
            if t == min(LOSS_STEP, steps):
                losses.append(loss.detach().cpu().numpy())
            with torch.no_grad():
                for (k, p), g in zip(params.items(), grads):
                    new, state[k] = rule(p.detach(), g, state[k], t, lr=lr.view(shape(p)),
                                         **{key: decay.view(shape(p))})
                    params[k] = new.requires_grad_()
        with torch.no_grad():
            accs.append((forward(params, x_val).argmax(-1) == y_val).float().mean(1).cpu().numpy())

    wall, cpu = _timed(lambda: [one(*w) for w in workload(grid_size)], device)
    return Measured(wall, cpu, np.concatenate(losses), np.concatenate(accs))


def run_param_groups(data: Split, grid_size: int, steps: int, device: torch.device) -> Measured:
    """torch.optim's fused Adam / AdamW with one param group (one nn.Module) per configuration;
    the modules' parameters are stacked every step for a vmapped forward."""
    from torch.func import functional_call, vmap
    model, theta0, order, x_train, y_train, x_val, y_val = _ensemble_inputs(data, steps, device)
    losses, accs = [], []

    def one(name: str, key: str, lrs: list[float], decays: list[float]) -> None:
        pairs = _pairs(lrs, decays)
        nets = [model.to_modules(theta0) for _ in pairs]
        names = [n for n, _ in nets[0].named_parameters()]
        per_net = [dict(net.named_parameters()) for net in nets]
        base = copy.deepcopy(nets[0]).to("meta")
        forward = vmap(lambda p, x: functional_call(base, p, (x,)), in_dims=(0, None))
        fused = dict(fused=True) if device.type in ("cpu", "cuda") else {}
        if key == "l2":
            opt = torch.optim.Adam([{"params": list(net.parameters()), "lr": lr, "weight_decay": d}
                                    for net, (lr, d) in zip(nets, pairs)], **fused)
        else:  # the paper's decay wd per step is PyTorch's lr x (wd / lr)
            opt = torch.optim.AdamW([{"params": list(net.parameters()), "lr": lr, "weight_decay": d / lr}
                                     for net, (lr, d) in zip(nets, pairs)], **fused)
        stacked = lambda: {n: torch.stack([p[n] for p in per_net]) for n in names}  # noqa: E731
        for t in range(1, steps + 1):
            idx = order[t - 1]
            loss = _per_config_loss(forward(stacked(), x_train[idx]), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
            if t == min(LOSS_STEP, steps):
                losses.append(loss.detach().cpu().numpy())
        with torch.no_grad():
            accs.append((forward(stacked(), x_val).argmax(-1) == y_val).float().mean(1).cpu().numpy())

    wall, cpu = _timed(lambda: [one(*w) for w in workload(grid_size)], device)
    return Measured(wall, cpu, np.concatenate(losses), np.concatenate(accs))


def run_loop(data: Split, grid_size: int, steps: int, device: torch.device,
             configs: int | None = None) -> tuple[Measured, float]:
    """One nn.Module + torch.optim training per configuration (the first ``configs`` of each
    sweep when given); returns the measurement and the fraction of the grid it covered."""
    makers = {
        "l2": lambda lr, d: lambda p: torch.optim.Adam(p, lr=lr, weight_decay=d),
        "wd": lambda lr, d: lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=d / lr),
    }
    k = min(LOSS_STEP, steps) - 1
    histories = []
    chosen = [(key, _pairs(lrs, decays)[:configs]) for _, key, lrs, decays in workload(grid_size)]
    wall, cpu = _timed(lambda: histories.extend(
        train_torch(makers[key](lr, d), data, steps=steps, device=device, eval_every=None)
        for key, pairs in chosen for lr, d in pairs), device)
    covered = sum(len(p) for _, p in chosen) / (2 * grid_size ** 2)
    return Measured(wall, cpu, np.array([h.train_loss[k] for h in histories]),
                    np.array([h.val_acc[-1] for h in histories])), covered


def engine_step_seconds(data: Split, grid_size: int, steps: int, n_threads: int, rules: dict[str, UpdateRule],
                        device: torch.device) -> float:
    """Wall seconds of ``steps`` engine steps (forward, backward, in-place AdamW) with torch set to
    ``n_threads`` intra-op threads: what the engine did before it chose its own parallelism."""
    model = MLP(data.x_train.shape[1], (64, 64), int(data.y_train.max()) + 1)
    g_count = grid_size ** 2
    theta = model.init(0, device=device).expand(g_count, -1).clone()
    order = engine.batch_order(data.x_train.shape[0], 100, steps, 0).to(device)
    xs, onehots = engine.minibatches(data, order, model.sizes[-1], theta.dtype)
    rule = rules["adamw_paper"]
    state, grad, step = rule.init_state(theta), torch.empty_like(theta), engine.Step(model)
    lr = torch.logspace(-4, -1, g_count, device=device).unsqueeze(1)
    before = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        start = time.perf_counter()
        for t in range(1, steps + 1):
            step(theta, xs[t - 1], onehots[t - 1], grad)
            rule.fused(theta, grad, state, t, lr=lr, wd=1e-3)
        return time.perf_counter() - start
    finally:
        torch.set_num_threads(before)


def redraw_seconds(rules: dict[str, UpdateRule]) -> tuple[float, str]:
    """(wall seconds, what was drawn) of one full redraw of the lecture demo's explorer at its
    default settings (both sweeps of the Adam pair trained, their heatmaps rendered), after a
    small warm-up redraw (data, imports, fonts)."""
    from wdlab.explorer import LandscapeExplorer
    from wdlab.landscape import LandscapeSettings
    full = LandscapeSettings()
    explorer = LandscapeExplorer(rules, full)
    explorer.controls["grid_size"].value, explorer.controls["steps"].value = 3, 50
    explorer.redraw()
    explorer.controls["grid_size"].value, explorer.controls["steps"].value = full.grid_size, full.steps
    start = time.perf_counter()
    results = explorer.redraw()
    shapes = " + ".join(f"{r.shape[0]} x {r.shape[1]}" for r in results.values())
    return time.perf_counter() - start, f"{shapes} (+ decay-0 rows), {full.steps} steps"


def _median_rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.median(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def main(argv: Sequence[str] | None = None) -> dict[str, float | int | str | None]:
    """Run the benchmark, print its report (JSON, the last line) and return it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda or auto (default: course_config's device)")
    parser.add_argument("--grid", type=int, default=None, help="grid points per axis (8; 32 on CUDA)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--loop-configs", type=int, default=None,
                        help="train only this many configurations per sweep in the loop and scale its "
                             "time to the grid (default: all on CPU, 16 on CUDA)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of the engine and the vmap ensemble, keeping the least time of each")
    parser.add_argument("--skip-loop", action="store_true", help="leave out the loop of trainings")
    parser.add_argument("--skip-load", action="store_true",
                        help="leave out the measurements under background load and the redraw")
    args = parser.parse_args(argv)
    device = resolve_device(args.device) if args.device else course_device()
    grid = args.grid or (32 if device.type == "cuda" else 8)
    loop_configs = args.loop_configs or (16 if device.type == "cuda" else None)
    if grid < 2 or args.steps < 1 or args.repeats < 1 or (loop_configs is not None and loop_configs < 1):
        parser.error("--grid must be >= 2, --steps, --repeats and --loop-configs positive")
    from autograder.reference import RULES
    from autograder.reference.fused import with_fused
    fast = with_fused(RULES)
    torch.set_flush_denormal(True)
    engine.keep_freed_memory()
    default_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the comparison: one intra-op thread for every approach
    data = data_gen.make_classification(n_train=2000, n_informative=20, n_classes=4, seed=0, device=device)
    model = MLP(20, (64, 64), 4)
    flop = 2 * grid ** 2 * args.steps * model.flops_per_step(100)
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    peak, peak_cpu = peak_gflops(device)
    ceiling = matmul_ceiling(model, grid, 100, device)
    print(f"device {device}, 1 intra-op thread (torch default {default_threads}), {threads.usable_cores()} "
          f"cores, load average {load0:.1f}; W = {flop / 1e9:.2f} GFLOP ({2} sweeps of {grid} x {grid}, "
          f"{args.steps} steps); fp32 GEMM peak {peak:.1f} GFLOP/s by wall time, {peak_cpu:.1f} by CPU "
          f"time; the step's matmuls alone {ceiling:.1f} by wall time")
    # warm-ups: allocator, MKL / cuBLAS handles, torch.optim's and torch.func's first-use imports
    run_engine(data, 2, 5, device, fast)
    run_vmap(data, 2, 2, device, RULES)
    run_param_groups(data, 2, 2, device)
    run_loop(data, 2, 2, device, 1)
    # the cheaper approaches run --repeats times, interleaved, each keeping its least time: on a
    # shared machine a single run can land in a burst of someone else's work
    runs = {"engine": lambda: run_engine(data, grid, args.steps, device, fast),
            "engine_generic": lambda: run_engine(data, grid, args.steps, device, RULES),
            "vmap": lambda: run_vmap(data, grid, args.steps, device, RULES)}
    measured = {name: fn() for name, fn in runs.items()}
    for _ in range(args.repeats - 1):
        measured = {name: measured[name].best(fn()) for name, fn in runs.items()}
    measured["param_groups"] = run_param_groups(data, grid, args.steps, device)
    covered = 1.0
    if not args.skip_loop:
        measured["loop"], covered = run_loop(data, grid, args.steps, device, loop_configs)
    noise = _median_rel(measured["engine"].loss50,
                        run_engine(data, grid, args.steps, device, fast, dtype=torch.float64).loss50)
    eng = measured["engine"]
    per_sweep = min(loop_configs or grid ** 2, grid ** 2)  # the configurations the loop trained
    looped = np.concatenate([np.arange(per_sweep) + i * grid ** 2 for i in range(2)])
    print(f"\n{'approach':<16}{'wall s':>9}{'CPU s':>9}{'x engine (wall)':>17}{'x engine (CPU)':>16}"
          f"{'GFLOP/CPU s':>13}{'loss@50 vs loop':>17}")
    report: dict[str, float | int | str | None] = {}
    for name, m in measured.items():
        scale = 1 / covered if name == "loop" else 1.0  # a partial loop, scaled to the whole grid
        wall, cpu = m.wall * scale, m.cpu * scale
        diff = _median_rel(m.loss50[looped], measured["loop"].loss50) \
            if "loop" in measured and name != "loop" else float("nan")
        print(f"{name:<16}{wall:>9.2f}{cpu:>9.2f}{wall / eng.wall:>17.2f}{cpu / eng.cpu:>16.2f}"
              f"{flop / cpu / 1e9:>13.2f}{diff:>17.2e}")
        report[f"{name}_s"], report[f"{name}_cpu_s"] = _sig(wall), _sig(cpu)
        if name != "engine":
            report[f"speedup_vs_{name}"] = _sig(cpu / eng.cpu)
            report[f"speedup_vs_{name}_wall"] = _sig(wall / eng.wall)
        if "loop" in measured and name != "loop":
            report[f"loss50_{name}"] = _sig(diff)
    print(f"float32 noise at step {min(LOSS_STEP, args.steps)}: the engine in float32 against float64, "
          f"median relative difference {noise:.2e}" + ("" if covered == 1 else
                                                        f"; the loop trained {covered:.0%} of the grid"))
    report.update(loss50_float32_noise=_sig(noise), gflops=_sig(flop / eng.wall / 1e9),
                  gflops_cpu=_sig(flop / eng.cpu / 1e9), peak_gflops=_sig(peak),
                  peak_gflops_cpu=_sig(peak_cpu), fraction_of_peak=_sig(flop / eng.cpu / 1e9 / peak_cpu),
                  fraction_of_peak_wall=_sig(flop / eng.wall / 1e9 / peak),
                  matmul_ceiling=_sig(ceiling / peak),
                  workload_gflop=_sig(flop / 1e9), grid=grid, steps=args.steps, device=str(device),
                  cores=threads.usable_cores(), load_avg=_sig(load0))
    if device.type == "cpu" and not args.skip_load:
        report.update(_under_load(data, grid, args.steps, device, fast, default_threads))
    print(json.dumps(report))
    return report


def _under_load(data: Split, grid: int, steps: int, device: torch.device, rules: dict[str, UpdateRule],
                default_threads: int) -> dict[str, float | int]:
    """The engine's default parallelism and the demo's redraw, idle and under background load."""
    busy = 2 * threads.usable_cores()
    idle_one = run_engine(data, grid, steps, device, rules, workers=1).wall
    chosen = run_engine(data, grid, steps, device, rules, workers=None)
    idle_default, idle_workers = chosen.wall, chosen.workers
    redraw, drawn = redraw_seconds(rules)
    probe_steps = max(1, steps // 4)
    with background_load(busy):
        one = run_engine(data, grid, steps, device, rules, workers=1).wall
        chosen = run_engine(data, grid, steps, device, rules, workers=None)
        default, loaded_workers = chosen.wall, chosen.workers
        step_one = engine_step_seconds(data, grid, probe_steps, 1, rules, device)
        step_default = engine_step_seconds(data, grid, probe_steps, default_threads, rules, device)
        redraw_loaded, _ = redraw_seconds(rules)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nidle: the engine {idle_default:.2f} s with its default parallelism ({idle_workers} parts side "
          f"by side), {idle_one:.2f} s on one thread; the demo's full redraw ({drawn}) {redraw:.2f} s")
    print(f"{busy} busy processes (load average {load:.1f}): the engine {default:.2f} s default "
          f"({loaded_workers} parts), "
          f"{one:.2f} s one thread (ratio {default / one:.2f}); its step on torch's {default_threads} "
          f"threads {step_default:.2f} s vs {step_one:.2f} s on one (x{step_default / step_one:.1f}); "
          f"the demo's full redraw {redraw_loaded:.2f} s")
    return {"threads_under_load_ratio": _sig(default / one),
            "threads_idle_ratio": _sig(idle_default / idle_one),
            "collapse_ratio": _sig(step_default / step_one), "redraw_s": _sig(redraw),
            "redraw_loaded_s": _sig(redraw_loaded), "background_processes": busy,
            "load_avg_under_load": _sig(load), "workers_idle": idle_workers,
            "workers_under_load": loaded_workers}


if __name__ == "__main__":
    main()
