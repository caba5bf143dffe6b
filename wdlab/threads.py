"""How much CPU parallelism to use, chosen from the cores that are actually free.

torch's intra-op threads meet at a barrier after every parallel operation. When the machine has
fewer free cores than threads (a shared JupyterHub, tests running beside a notebook), a thread
that loses its core holds up the others at each barrier: two threads on a loaded 2-core machine
measured 3-8x slower than one. Independent pieces of work (halves of a grid, separate sweeps)
never wait for each other, so the engine runs one intra-op thread per worker and as many workers
side by side as there are idle cores; a busy machine gets one worker, which is never slower than
one thread.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import torch

T = TypeVar("T")
_lock = threading.Lock()
_depth = 0        # how many intra_op_threads blocks are open, over all Python threads
_saved = 1        # torch's thread count before the outermost block


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers restrict)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _cpu_times() -> tuple[float, float] | None:
    """(idle, total) jiffies of all CPUs from /proc/stat, or None where there is no such file."""
    try:
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(fields) < 5:
        return None
    return fields[3] + fields[4], sum(fields[:8])  # idle + iowait; user..steal


def idle_cores(sample_s: float = 0.05) -> float:
    """Cores left idle by every program on the machine, sampled over ``sample_s`` seconds
    (Linux), else the usable cores minus the 1-minute load average. Call it while this process
    is idle: its own earlier work does not count, unlike in a load average."""
    cores = usable_cores()
    before = _cpu_times()
    if before is not None:
        time.sleep(sample_s)
        after = _cpu_times()
        if after is not None and after[1] > before[1]:
            share = (after[0] - before[0]) / (after[1] - before[1])
            return max(0.0, min(1.0, share)) * (os.cpu_count() or cores)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(0.0, cores - load)


def workers_for(items: int, min_items: int = 1, free: float | None = None) -> int:
    """How many workers to run side by side over ``items`` independent pieces: one per idle core
    (at least one, at most the usable cores), each with at least ``min_items`` pieces."""
    if items < 1 or min_items < 1:
        raise ValueError(f"items and min_items must be positive, got {items} and {min_items}")
    free = idle_cores() if free is None else free
    cores = min(usable_cores(), int(free + 0.5))
    return max(1, min(cores, items // min_items))


@contextmanager
def intra_op_threads(n: int = 1) -> Iterator[None]:
    """torch runs with ``n`` intra-op threads inside the block; the count it had before is
    restored when the last open block (from any Python thread) closes."""
    global _depth, _saved
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of threads, got {n!r}")
    with _lock:
        if _depth == 0:
            _saved = torch.get_num_threads()
        _depth += 1
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and torch.get_num_threads() != _saved:
                torch.set_num_threads(_saved)


def side_by_side(tasks: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """Run ``tasks`` on ``workers`` Python threads (torch releases the GIL inside its operations)
    and return their results in order; the first exception is raised after all have finished."""
    if workers <= 1 or len(tasks) <= 1:
        return [task() for task in tasks]
    with ThreadPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
        futures = [pool.submit(task) for task in tasks]
        return [f.result() for f in futures]
