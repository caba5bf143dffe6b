"""Benchmark (instructors; uses the hidden reference): wdlab's batched sweep engine against a
loop of separate trainings.

Workload W: Adam + L2 and AdamW (paper convention), an 8 x 8 grid each (lr 1e-4..1e-1,
decay 1e-5..1e-1), MLP 20-64-64-4, batch 100, 2000 training points, 200 steps. The loop trains
each configuration as an nn.Module with torch.optim (AdamW's decay given as wd / lr, PyTorch's
convention for the same update). The last line printed is JSON:
loop_s, batched_s, speedup, gflops (W / batched_s), peak_gflops (a large sgemm on this
machine), fraction_of_peak; the same by CPU time (*_cpu: what other programs on a shared
machine do not inflate); matmul_ceiling (the fraction of the peak the step's matrix products
reach alone, the most the engine could reach); threads and the load average it ran under.

    python -m autograder.tools.bench_sweeps [--device cpu|cuda] [--grid 8] [--steps 200] [--threads N] [--skip-loop]
"""  # noqa: E501
from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

import data_gen
from wdlab.device import resolve_device
from wdlab.model import MLP
from wdlab.sweep import sweep
from wdlab.train import train_torch

if TYPE_CHECKING:
    from data_gen import Split
    from wdlab.engine import UpdateRule


def pick_threads(requested: int, load: float | None = None, cores: int | None = None) -> int:
    """CPU threads to use: ``requested`` if positive, else torch's default unless other programs
    already keep every core busy (load average >= cores); then 1, because each parallel region
    would wait for a second time slice (measured about 30x slower on a loaded 2-core machine)."""
    if requested > 0:
        return requested
    cores = cores or os.cpu_count() or 1
    if load is None:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return 1 if load >= cores else torch.get_num_threads()


def _timed(fn: Callable[[], object], device: torch.device) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of ``fn()``. CPU seconds are what a loaded machine
    does not inflate: with other programs running, wall time also counts waiting for a core."""
    _sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    _sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def peak_gflops(device: torch.device, n: int = 2048, repeats: int = 5) -> tuple[float, float]:
    """Best fp32 GEMM rate of an n x n x n product on ``device``: (by wall time, by CPU time),
    in GFLOP/s."""
    a, b = (torch.randn(n, n, device=device) for _ in range(2))
    a @ b  # warm-up
    times = [_timed(lambda: a @ b, device) for _ in range(repeats)]
    return tuple(2 * n ** 3 / min(t[k] for t in times) / 1e9 for k in (0, 1))


def matmul_ceiling(model: MLP, grid_size: int, batch_size: int, device: torch.device,
                   repeats: int = 5) -> float:
    """GFLOP/s of one step's matrix products alone at the workload's shapes (best of
    ``repeats``, wall time, like the peak it is compared with): no elementwise work, no Python.
    Divided by the GEMM peak, it is the most the engine could reach with products this small."""
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


def _sig(x: float, digits: int = 4) -> float:
    """``x`` to ``digits`` significant figures: ratios of reported figures stay exact to ~1e-4
    whether a run takes hours or (in tests) milliseconds."""
    return float(f"{x:.{digits}g}")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def workload(grid_size: int) -> list[tuple[UpdateRule, str, list[float], list[float]]]:
    """(rule, decay name, lrs, decays) per sweep. The rules are the course's hidden reference,
    imported here only: the benchmark is an instructor tool, students never get the rules."""
    from autograder.reference import RULES
    lrs = np.logspace(-4, -1, grid_size).tolist()
    decays = np.logspace(-5, -1, grid_size).tolist()
    return [(RULES["adam_l2"], "l2", lrs, decays), (RULES["adamw_paper"], "wd", lrs, decays)]


def run_batched(data: Split, grid_size: int, steps: int,
                device: torch.device) -> tuple[float, float, list[np.ndarray]]:
    """(wall s, CPU s) for both sweeps, and their final validation accuracies."""
    accs = []
    wall, cpu = _timed(lambda: accs.extend(
        sweep(rule, data, grid={"lr": lrs, key: decays}, steps=steps, device=device).val_acc
        for rule, key, lrs, decays in workload(grid_size)), device)
    return wall, cpu, accs


def run_loop(data: Split, grid_size: int, steps: int,
             device: torch.device) -> tuple[float, float, list[np.ndarray]]:
    """(wall s, CPU s) for one nn.Module + torch.optim training per configuration, and the
    accuracies."""
    makers = {
        "l2": lambda lr, d: lambda p: torch.optim.Adam(p, lr=lr, weight_decay=d),
        "wd": lambda lr, d: lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=d / lr),
    }
    accs = []
    wall, cpu = _timed(lambda: accs.extend(
        np.array([[train_torch(makers[key](lr, d), data, steps=steps, device=device,
                               eval_every=None).val_acc[-1] for d in decays] for lr in lrs])
        for _, key, lrs, decays in workload(grid_size)), device)
    return wall, cpu, accs


def main(argv: Sequence[str] | None = None) -> dict[str, float | int | str]:
    """Run the benchmark, print its report (JSON, the last line) and return it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--grid", type=int, default=8, help="grid points per axis")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads (0: torch's default, or 1 when the machine is loaded)")
    parser.add_argument("--skip-loop", action="store_true", help="time only the batched engine")
    args = parser.parse_args(argv)
    if args.grid < 1 or args.steps < 1 or args.threads < 0:
        parser.error("--grid and --steps must be positive, --threads >= 0")
    device = resolve_device(args.device)
    torch.set_num_threads(pick_threads(args.threads))
    torch.set_flush_denormal(True)
    data = data_gen.make_classification(n_train=2000, n_informative=20, n_classes=4, seed=0,
                                        device=device)
    model = MLP(20, (64, 64), 4)
    flop = 2 * args.grid ** 2 * args.steps * model.flops_per_step(100)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    peak, peak_cpu = peak_gflops(device)
    ceiling = matmul_ceiling(model, args.grid, 100, device)
    print(f"device {device}, {torch.get_num_threads()} CPU threads, load average {load:.1f}; "
          f"W = {flop / 1e9:.1f} GFLOP; fp32 GEMM peak {peak:.1f} GFLOP/s by wall time, "
          f"{peak_cpu:.1f} by CPU time; the step's matmuls alone {ceiling:.1f}")
    run_batched(data, 2, 5, device)  # warm-up: allocator, MKL / cuBLAS handles
    batched_s, batched_cpu, batched_acc = run_batched(data, args.grid, args.steps, device)
    print(f"batched: {batched_s:.2f} s wall, {batched_cpu:.2f} s CPU")
    report = {"batched_s": _sig(batched_s)}
    if not args.skip_loop:
        loop_s, loop_cpu, loop_acc = run_loop(data, args.grid, args.steps, device)
        # float32 rounding (hand-written vs autograd backward) grows chaotically at large lr:
        # the median difference is the like-for-like check, the largest one shows the chaos
        diffs = np.concatenate([np.abs(a - b).ravel() for a, b in zip(batched_acc, loop_acc)])
        print(f"loop: {loop_s:.2f} s wall, {loop_cpu:.2f} s CPU; val_acc difference batched vs "
              f"loop: median {np.median(diffs):.4f}, largest {diffs.max():.4f}")
        report = {"loop_s": _sig(loop_s), **report, "speedup": _sig(loop_s / batched_s),
                  "loop_cpu_s": _sig(loop_cpu), "speedup_cpu": _sig(loop_cpu / batched_cpu),
                  "median_val_acc_diff": round(float(np.median(diffs)), 4),
                  "max_val_acc_diff": round(float(diffs.max()), 4)}
    gflops, gflops_cpu = flop / batched_s / 1e9, flop / batched_cpu / 1e9
    # the *_cpu figures divide by CPU time, which other programs on the machine do not inflate
    report.update(gflops=_sig(gflops), peak_gflops=_sig(peak),
                  fraction_of_peak=_sig(gflops / peak), batched_cpu_s=_sig(batched_cpu),
                  gflops_cpu=_sig(gflops_cpu), peak_gflops_cpu=_sig(peak_cpu),
                  fraction_of_peak_cpu=_sig(gflops_cpu / peak_cpu),
                  matmul_ceiling=_sig(ceiling / peak),
                  workload_gflop=_sig(flop / 1e9),
                  device=str(device), threads=torch.get_num_threads(), load_avg=_sig(load))
    print(json.dumps(report))
    return report

if __name__ == "__main__":
    main()
