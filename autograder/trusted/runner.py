"""Run a submission's code in the isolated worker: job folder, watchdog, restarts, blame.

``run_worker`` writes the job (``protocol``), starts ``worker.py`` in the sandbox and reads what
came back. A fault -- timeout, crash, memory, a broken reply -- is charged to the phase the
worker was in (the notebook's definitions or one item); those items get a failure text, and the
worker restarts for the items still to grade. Nothing here raises for what student code does.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder.isolation import sandbox
from autograder.isolation.limits import Limits
from autograder.reports import Verdict
from autograder.trusted import protocol as P
from autograder.trusted.extract import Cell
from autograder.trusted.items import Item, item_cases
from course_config import CourseConfig

MAX_REPLY_BYTES = 32 << 20  # a reply file larger than this is not read
SETUP_S = 30  # start-up and a notebook's imports/definitions get at least this long
# How the operating system words an out-of-memory death (the process can no longer reply).
MEMORY_WORDS = ("MemoryError", "out of memory", "can't allocate memory", "bad_alloc")


@dataclass
class Plan:
    """One notebook to run: its sanitized cells and the graded items it defines."""

    notebook: str
    cells: list[Cell]
    items: list[Item]


# What came back for one item: (reply meta, reply arrays, the cases sent), or a failure text.
Outcome = tuple[dict[str, Any], dict[str, np.ndarray], list] | str


def python_path() -> list[str]:
    """The grader's import path restricted to the Python installation (no project folders)."""
    prefixes = tuple(sandbox.python_paths())
    return [p for p in sys.path if p and os.path.isdir(p)
            and os.path.realpath(p).startswith(prefixes)]


def new_job(visible: Sequence[Path]) -> Path:
    """A fresh job folder: worker + protocol, empty inputs, links to the student-visible code."""
    job = Path(tempfile.mkdtemp(prefix="wdgrade-"))
    os.chmod(job, 0o755)
    (job / P.INPUTS).mkdir()
    (job / P.VISIBLE).mkdir()
    for path in visible:
        (job / P.VISIBLE / Path(path).name).symlink_to(path)
    here = Path(__file__).parent
    for name in P.FILES:
        shutil.copy(here / name, job / name)
    return job


def write_job(job: Path, plans: list[Plan], pending: set[str], seed: int, device: str
              ) -> dict[str, tuple[Item, list]]:
    """request.json + one .npz of inputs per pending item; returns {key: (item, cases)}."""
    notebooks, keys = [], {}
    for plan in plans:
        entries = []
        for item in plan.items:
            if item.id not in pending:
                continue
            key = P.item_key(item.id)
            cases, (descriptors, blob) = item_cases(item.id, seed)
            Path(P.inputs_path(str(job), key)).write_bytes(blob)
            entries.append({"key": key, "function": item.function, "kind": item.kind,
                            "cases": descriptors})
            keys[key] = (item, cases)
        if entries:
            notebooks.append({"name": plan.notebook, "items": entries,
                              "cells": [[c.index, c.source] for c in plan.cells]})
    request = {"sys_path": [*python_path(), str(job / P.VISIBLE)], "device": device,
               "notebooks": notebooks}
    (job / P.REQUEST).write_text(json.dumps(request))
    return keys


class Deadline:
    """Watches progress.txt: a phase (start-up, a notebook's cells, one item) gets ``seconds``."""

    def __init__(self, path: Path, seconds: float) -> None:
        self.path, self.seconds = path, seconds
        self.phase, self.since = P.START_UP, time.monotonic()

    def __call__(self) -> str | None:
        try:
            phase = P.current_phase(self.path.read_text())
        except OSError:
            phase = P.START_UP
        if phase != self.phase:
            self.phase, self.since = phase, time.monotonic()
            return None
        setup = phase == P.START_UP or phase.startswith(P.EXEC)
        limit = max(self.seconds, SETUP_S) if setup else self.seconds
        if time.monotonic() - self.since > limit:
            return f"ran longer than the {limit:g} s time limit and was stopped"
        return None


def run_worker(plans: list[Plan], config: CourseConfig, verdict: Verdict, mode: str,
               visible: Sequence[Path], device: str = "cpu") -> dict[str, Outcome]:
    """{item id: outcome} for every item of ``plans``; the worker restarts after a fault."""
    pending = {i.id for plan in plans for i in plan.items}
    results: dict[str, Outcome] = {}
    job = new_job(visible)
    try:
        for _ in range(len(pending) + len(plans) + 1):
            if not pending:
                break
            keys = write_job(job, plans, pending, config.seed, device)
            progress = job / P.PROGRESS
            progress.write_text("")
            phases = len(keys) + len(plans) + 2
            limits = Limits(wall_s=max(config.cell_timeout_s, SETUP_S) * phases,
                            memory_mb=config.memory_cap_mb)
            run = sandbox.run([sys.executable, "-I", "-S", str(job / "worker.py"), str(job)],
                              cwd=job, limits=limits, mode=mode, readable=visible,
                              devices=device != "cpu",
                              watch=Deadline(progress, config.cell_timeout_s))
            verdict.isolation = run.isolation
            for warning in run.warnings:
                if f"sandbox: {warning}" not in verdict.messages:
                    verdict.messages.append(f"sandbox: {warning}")
            read_cells_reports(job, plans, verdict)
            for key, (item, cases) in keys.items():
                reply = read_reply(job, key)
                if reply is not None:
                    results[item.id] = (*reply, cases)
                    pending.discard(item.id)
            if run.output_truncated or run.output_bytes > Limits().output_bytes:
                verdict.flag("output_too_large", f"the code printed {run.output_bytes} bytes; "
                             "output beyond 1 MiB was discarded")
            if not pending:
                break
            blame(run, progress, keys, plans, pending, results, verdict)
    finally:
        shutil.rmtree(job, ignore_errors=True)
    return results


def blame(run: sandbox.RunResult, progress: Path, keys: dict[str, tuple[Item, list]],
          plans: list[Plan], pending: set[str], results: dict[str, Outcome],
          verdict: Verdict) -> None:
    """Charge the fault to the phase the worker was in; those items get 0 with the reason."""
    text = progress.read_text() if progress.exists() else ""
    phase = P.current_phase(text) if text else None
    what, flag = fault(run)
    if phase is None or phase == P.FINISHED:
        culprits = set(pending)
        tail = run.stderr.decode(errors="replace").strip().splitlines()[-3:]
        what = f"The grading worker {what} before grading started" + (
            f" ({' | '.join(tail)})" if tail else "")
    elif phase.startswith(P.EXEC):
        notebook = phase[len(P.EXEC):]
        culprits = {i.id for plan in plans if plan.notebook == notebook for i in plan.items} & pending
        what = f"Running the notebook's definitions {what}"
    else:
        item = keys.get(phase, (None,))[0]
        culprits = {item.id} if item else set(pending)
        what = f"This function {what}"
    for item_id in culprits:
        results[item_id] = what
        pending.discard(item_id)
    verdict.flag(flag, f"{', '.join(sorted(culprits)) or 'worker'}: {what[0].lower()}{what[1:]}")


def fault(run: sandbox.RunResult) -> tuple[str, str]:
    """(how the worker ended, as the end of a sentence; the flag it sets)."""
    if run.timed_out:
        return run.killed_reason, "timeout"
    text = (run.stderr or b"").decode(errors="replace")
    if any(word in text for word in MEMORY_WORDS):
        return "ran out of memory", "memory"
    if run.signal:
        try:
            name = signal.Signals(run.signal).name
        except ValueError:
            name = str(run.signal)
        return f"crashed the process ({name})", "crashed"
    return f"ended the process (exit code {run.returncode})", "crashed"


def read_cells_reports(job: Path, plans: list[Plan], verdict: Verdict) -> None:
    """Cell errors become messages for the student; replaced test helpers set the tamper flag."""
    from autograder.trusted.compare import last_line

    for plan in plans:
        path = Path(P.cells_report_path(str(job), plan.notebook))
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for err in report.get("errors", [])[:5]:
            if err.get("error_type") == "NameError":  # a value the grader does not compute
                continue
            msg = f"{plan.notebook}: cell {err.get('cell')} raised {last_line(err.get('error', ''))}"
            if msg not in verdict.messages:
                verdict.messages.append(msg)
        for patched in report.get("patched", []):
            verdict.flag("tamper_suspected", f"{plan.notebook}: the code replaced {patched}")
        path.unlink(missing_ok=True)


def read_reply(job: Path, key: str) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """(meta, arrays) of one item, or None when missing; an error meta when too large or
    malformed."""
    meta_path, npz_path = map(Path, P.reply_paths(str(job), key))
    try:
        if npz_path.stat().st_size > MAX_REPLY_BYTES or meta_path.stat().st_size > MAX_REPLY_BYTES:
            return {"error": "reply too large"}, {}
        meta = json.loads(meta_path.read_text())
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {name: np.asarray(data[name]) for name in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        # a bad zip, bad JSON, a truncated file: all the student's 0
        if meta_path.exists():
            return {"error": f"malformed reply ({type(exc).__name__})"}, {}
        return None
    if not isinstance(meta, dict) or any(a.dtype.kind not in "fiub" for a in arrays.values()):
        return {"error": "malformed reply"}, {}
    return meta, arrays
