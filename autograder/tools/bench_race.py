"""`make bench-race`: the whole optimizer race (every problem x every suggested optimizer) and
the lecture demo notebook, timed.

Each problem is raced once to warm up (torch.optim's first step imports its machinery), then
``--repeats`` times; the median is reported. The notebook runs top to bottom in a fresh kernel.
Wall time depends on the machine's load, so it is measured here, never asserted in a test. The
last line printed is JSON: {"race_s": {problem: s}, "race_total_s", "steps": {problem: n},
"optimizers", "us_per_step", "notebook_s", "notebook_failing_cells", "steps_to_tol", "load_avg"}.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

from autograder.tools.bench_notebooks import run_notebook
from wdlab import race

DEMO = Path(__file__).resolve().parents[2] / "notebooks" / "demos" / "optimizer_race.ipynb"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.tools.bench_race",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed races per problem (median)")
    parser.add_argument("--no-notebook", action="store_true", help="time the race only")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    torch.set_num_threads(1)  # [2] tensors: one core, as the notebook runs it
    seconds, results = {}, []
    for name in race.PROBLEMS:
        race.run(name, race.contenders(name), steps=2)  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = race.run(name, race.contenders(name))
            times.append(time.perf_counter() - start)
        seconds[name] = statistics.median(times)
        results.append(result)
    total = sum(seconds.values())
    steps = {r.problem.name: r.steps for r in results}
    n_opt = len(race.contenders(next(iter(race.PROBLEMS))))
    us_per_step = 1e6 * total / (n_opt * sum(steps.values()))
    print(race.table(results))
    print(f"\nrace: {n_opt} optimizers x {len(steps)} problems ({sum(steps.values())} steps each) in "
          f"{total:.2f} s, {us_per_step:.0f} us per optimizer step", flush=True)
    notebook_s, failed = None, None
    if not args.no_notebook:
        notebook_s, failed = run_notebook(DEMO, timeout=300)
        print(f"demo notebook: {notebook_s:.1f} s top to bottom, {failed} failing cells", flush=True)
    print(json.dumps({
        "race_s": {k: round(v, 3) for k, v in seconds.items()}, "race_total_s": round(total, 3),
        "steps": steps, "optimizers": n_opt, "us_per_step": round(us_per_step, 1),
        "notebook_s": None if notebook_s is None else round(notebook_s, 2),
        "notebook_failing_cells": failed,
        "steps_to_tol": {r.problem.name: {n: r.cell(n) for n in r.paths} for r in results},
        "load_avg": [round(x, 2) for x in os.getloadavg()]}, ensure_ascii=False))


if __name__ == "__main__":
    main()
