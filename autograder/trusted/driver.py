"""The driver: runs every graded item of a submission from the grader's side of the sandbox.

The student's code runs in the executor (``executor.py``, sandboxed); every decision stays
here. For each case the driver sends the inputs, times the call on its own clock (a per-item
limit and a per-submission budget, neither of which the student can touch), reads the returned
arrays from a size-checked frame, and finds in-place changes by reading the shared arena it
wrote the inputs to. A timeout, crash, out-of-memory kill or broken reply costs the item being
run; the executor is restarted for the items still to grade.

``run_items`` returns, per item, ``(meta, arrays, cases)`` in the shape the compare step reads
(``meta["cases"]``: one dict per case; ``arrays``: keys from ``protocol``), or a failure text.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from autograder.isolation import sandbox
from autograder.isolation.limits import Limits
from autograder.reports import Verdict
from autograder.trusted import protocol as P
from autograder.trusted.cases import CallCase, StepCase
from autograder.trusted.extract import Cell
from autograder.trusted.items import Item, item_cases
from course_config import CourseConfig

SETUP_S = 30  # start-up and a notebook's definitions get at least this long
ALIGN = 64
# What a malformed reply raises when its fields are used (a forged frame, a broken executor).
MALFORMED = (AttributeError, IndexError, KeyError, TypeError, ValueError, RuntimeError)


@dataclass
class Plan:
    """One notebook to run: its sanitized cells and the graded items it defines."""

    notebook: str
    cells: list[Cell]
    items: list[Item]


# What came back for one item: (reply meta, reply arrays, the cases sent), or a failure text.
Outcome = tuple[dict[str, Any], dict[str, np.ndarray], list] | str


class Fault(Exception):
    """The executor stopped answering the current request; ``flag`` says how."""

    def __init__(self, what: str, flag: str) -> None:
        super().__init__(what)
        self.what, self.flag = what, flag


# -- the channel to the executor -------------------------------------------------------------
class Executor:
    """The sandboxed executor process of one job, and the arena shared with it."""

    def __init__(self, job: Path, config: CourseConfig, mode: str, visible: Sequence[Path],
                 device: str) -> None:
        self.job = job
        limits = Limits(wall_s=float(config.submission_budget_s) + SETUP_S,
                        memory_mb=config.memory_cap_mb, disk_mb=config.disk_cap_mb)
        self.process = sandbox.spawn(
            [sys.executable, "-I", "-S", str(job / "executor.py"), str(job / P.ARENA)],
            cwd=job / "work", limits=limits, mode=mode, writable=[job / P.ARENA],
            readable=[job / "executor.py", job / "protocol.py", job / "visible", *visible],
            scratch=[job / "work"],
            devices=device != "cpu")
        self.send({"op": "init", "sys_path": [*python_path(), str(job / "visible")],
                   "device": device})

    def send(self, header: dict[str, Any], arrays: dict[str, np.ndarray] | None = None,
             deadline: float | None = None) -> None:
        try:
            P.write_frame(self.process.stdin, P.encode(header, arrays),
                          deadline if deadline is not None else time.monotonic() + 5)
        except P.Timeout:
            raise Fault("", "timeout") from None  # it stopped reading its requests
        except OSError:
            pass  # the executor is gone: the next read reports how it ended

    def request(self, header: dict[str, Any], deadline: float,
                arrays: dict[str, np.ndarray] | None = None) -> tuple[dict[str, Any], dict]:
        self.send(header, arrays, deadline)
        try:
            reply, blobs = P.read_frame(self.process.stdout, deadline)
        except P.Timeout:
            raise Fault("", "timeout") from None
        except (EOFError, OSError):
            raise Fault("", "ended") from None
        except P.ProtocolError as exc:
            raise Fault(f"sent a malformed reply ({exc})", "crashed") from None
        return reply, {name: np.frombuffer(data, dtype=spec["dtype"]).reshape(spec["shape"]).copy()
                       for name, (spec, data) in blobs.items()}

    def close(self, reason: str = "") -> sandbox.RunResult:
        if reason:
            self.process.kill(reason)
        else:
            try:
                self.send({"op": "bye"})
            except Fault:
                self.process.kill("it stopped reading")
        return self.process.finish()

    def oom_kills(self) -> int:
        return self.process.oom_kills()


def python_path() -> list[str]:
    """The grader's import path restricted to the Python installation (no project folders)."""
    prefixes = tuple(sandbox.python_paths())
    return [p for p in sys.path if p and os.path.isdir(p)
            and os.path.realpath(p).startswith(prefixes)]


def new_job(visible: Sequence[Path]) -> Path:
    """A fresh job folder (the grader's, read-only to the executor) with the executor's files,
    an arena, links to the student-visible code and the executor's working folder."""
    job = Path(tempfile.mkdtemp(prefix="wdgrade-"))
    os.chmod(job, 0o755)
    here = Path(__file__).parent
    for name in P.JOB_FILES:
        shutil.copy(here / name, job / name)
    with open(job / P.ARENA, "wb") as f:
        f.truncate(P.ARENA_BYTES)
    (job / "visible").mkdir()
    (job / "work").mkdir()
    for path in visible:
        (job / "visible" / Path(path).name).symlink_to(path)
    return job


# -- running the items -----------------------------------------------------------------------
class Driver:
    def __init__(self, plans: list[Plan], config: CourseConfig, verdict: Verdict, mode: str,
                 visible: Sequence[Path], device: str,
                 start: Callable[[Path], Any] | None = None) -> None:
        """start(job) -> an executor (default: the sandboxed ``Executor``); tests pass one that
        runs the executor's code in their own process."""
        self.plans, self.config, self.verdict = plans, config, verdict
        self.start = start or (lambda job: Executor(job, config, mode, self.visible, device))
        self.mode, self.visible, self.device = mode, list(visible), device
        self.budget_end = time.monotonic() + config.submission_budget_s
        self.results: dict[str, Outcome] = {}
        self.job = new_job(self.visible)
        # Read and written with pread/pwrite, never mapped: the executor may truncate the file,
        # which would kill a process that maps it (SIGBUS).
        self.arena = os.open(self.job / P.ARENA, os.O_RDWR | os.O_NOFOLLOW)
        self.executor: Executor | None = None
        self.ready: set[str] = set()  # notebooks whose cells the running executor has run

    def run(self) -> dict[str, Outcome]:
        try:
            for plan in self.plans:
                for item in plan.items:
                    if item.id not in self.results:  # a failed notebook charged all its items
                        self.results[item.id] = self.run_item(plan, item)
        finally:
            self.stop()
            os.close(self.arena)
            sandbox.remove_tree(self.job)
        return self.results

    def deadline(self, seconds: float) -> float:
        return min(time.monotonic() + seconds, self.budget_end)

    def over_budget(self) -> bool:
        return time.monotonic() >= self.budget_end

    def stop(self, reason: str = "") -> sandbox.RunResult | None:
        if self.executor is None:
            return None
        run = self.executor.close(reason)
        self.executor, self.ready = None, set()
        if run is None:  # an executor without a process (tests)
            return None
        self.verdict.isolation = run.isolation
        for warning in run.warnings:
            if f"sandbox: {warning}" not in self.verdict.messages:
                self.verdict.messages.append(f"sandbox: {warning}")
        if run.output_truncated or run.output_bytes > Limits().output_bytes:
            self.verdict.flag("output_too_large", f"the code printed {run.output_bytes} bytes; "
                              "output beyond 1 MiB was discarded")
        return run

    def budget_text(self) -> str:
        return (f"not graded: the submission's time budget of {self.config.submission_budget_s} s "
                "was used up")

    def run_item(self, plan: Plan, item: Item) -> Outcome:
        if self.over_budget():
            self.verdict.flag("timeout", f"{item.id}: {self.budget_text()}")
            return self.budget_text()
        kills = self.oom_kills()
        try:
            self.prepare(plan)
        except (Fault, *MALFORMED) as exc:
            fault = exc if isinstance(exc, Fault) else \
                Fault(f"sent a malformed reply ({type(exc).__name__})", "crashed")
            if fault.flag == "timeout" and not fault.what:
                fault.what = (self.budget_text() if self.over_budget() else "ran longer than the "
                              f"{max(float(self.config.cell_timeout_s), SETUP_S):g} s time limit")
            return self.fail(plan, None, fault, "Running the notebook's definitions", kills)
        cases = item_cases(item.id, self.config.seed)
        limit = float(self.config.cell_timeout_s)
        end = self.deadline(limit)
        kills = self.oom_kills()
        try:
            meta, arrays = self.drive(plan.notebook, item, cases, end)
        except Fault as fault:
            if fault.flag == "timeout" and not fault.what:
                fault.what = (self.budget_text() if self.over_budget() else
                              f"ran longer than the {limit:g} s time limit and was stopped")
            return self.fail(plan, item, fault, "This function", kills)
        except MALFORMED as exc:  # a reply whose fields have the wrong types: forged or broken
            fault = Fault(f"sent a malformed reply ({type(exc).__name__})", "crashed")
            return self.fail(plan, item, fault, "This function", kills)
        if self.oom_kills() > kills:  # a process it started was killed at the memory cap
            text = (f"This function ran out of memory: a process it started was killed at the "
                    f"submission's cap of {self.config.memory_cap_mb} MiB")
            self.verdict.flag("memory", f"{item.id}: {text[0].lower()}{text[1:]}")
            return text
        return meta, arrays, cases

    def oom_kills(self) -> int:
        counter = getattr(self.executor, "oom_kills", None)
        return counter() if counter is not None else 0

    def prepare(self, plan: Plan) -> None:
        """Start the executor if needed and run the notebook's cells in it."""
        if self.executor is None:
            os.ftruncate(self.arena, P.ARENA_BYTES)  # whatever the last executor did to it
            self.executor = self.start(self.job)
        if plan.notebook in self.ready:
            return
        reply, _ = self.executor.request(
            {"op": "exec", "notebook": plan.notebook,
             "cells": [[c.index, c.source] for c in plan.cells]},
            self.deadline(max(float(self.config.cell_timeout_s), SETUP_S)))
        self.ready.add(plan.notebook)
        self.read_cells_report(plan.notebook, reply)

    def fail(self, plan: Plan, item: Item | None, fault: Fault, who: str, kills: int = 0) -> str:
        """Stop the executor and charge the fault to ``item`` (or, during the definitions, to
        every item of the notebook not graded yet); returns the item's failure text. ``kills``:
        the tree's out-of-memory kills when the item started (a later one is this item's)."""
        run = self.stop(fault.what or "stopped")
        what, flag = fault.what, fault.flag
        if run is not None and (flag == "ended" or run.oom_kills > kills):
            what, flag = ended(run, kills)  # killed at the memory cap, or it ended on its own
        text = f"{who} {what}"
        culprits = [item] if item is not None else [i for i in plan.items if i.id not in self.results]
        for other in culprits:
            self.results[other.id] = text
        self.verdict.flag(flag, f"{', '.join(i.id for i in culprits)}: {text[0].lower()}{text[1:]}")
        return text

    def read_cells_report(self, notebook: str, reply: dict[str, Any]) -> None:
        """Cell errors become messages for the student; replaced test helpers set the tamper flag."""
        from autograder.trusted.compare import last_line

        for err in (reply.get("errors") or [])[:5]:
            if not isinstance(err, dict) or err.get("error_type") == "NameError":
                continue  # a value the grader does not compute (training cells are not run)
            msg = f"{notebook}: cell {err.get('cell')} raised {last_line(str(err.get('error', '')))}"
            if msg not in self.verdict.messages:
                self.verdict.messages.append(msg)
        for patched in reply.get("patched") or []:
            self.verdict.flag("tamper_suspected", f"{notebook}: the code replaced {patched}")

    # -- one item: its cases ---------------------------------------------------------------
    def drive(self, notebook: str, item: Item, cases: list, end: float
              ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta: dict[str, Any] = {"cases": []}
        arrays: dict[str, np.ndarray] = {}
        for i, case in enumerate(cases):
            prefix = P.case_prefix(i)
            if any(P.error_flag(c.get("error_type")) == "memory" for c in meta["cases"]):
                meta["cases"].append({"error": "MemoryError: skipped after an earlier case ran "
                                      "out of memory", "error_type": "MemoryError",
                                      "steps_done": 0, "types": []})
                continue
            start = time.monotonic()
            if isinstance(case, StepCase):
                case_meta = self.steps(notebook, item, case, prefix, arrays, end)
            else:
                case_meta = self.calls(notebook, item, case, prefix, arrays, end)
            if case_meta.get("missing"):
                return {"error": case_meta["error"], "defined": case_meta.get("defined", [])}, {}
            case_meta["seconds"] = time.monotonic() - start
            meta["cases"].append(case_meta)
        return meta, arrays

    def put(self, tensors: dict[str, torch.Tensor]) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
        """Write the inputs to the arena: (their specs for the executor, their bytes)."""
        specs, written, offset = [], {}, 0
        for name, tensor in tensors.items():
            data = np.array(tensor.detach().cpu().numpy(), order="C")
            raw = data.tobytes()
            if offset + len(raw) > P.ARENA_BYTES:
                raise Fault("has inputs larger than the grading arena", "crashed")
            os.pwrite(self.arena, raw, offset)
            specs.append({"name": name, "dtype": str(data.dtype), "shape": list(data.shape),
                          "offset": offset})
            written[name] = raw
            offset += -(-len(raw) // ALIGN) * ALIGN
        return specs, written

    def changed(self, specs: list[dict[str, Any]], written: dict[str, bytes]) -> list[str]:
        """Inputs whose arena bytes differ from what was written: changed in place."""
        out = []
        for spec in specs:
            raw = written[spec["name"]]
            if os.pread(self.arena, len(raw), spec["offset"]) != raw:  # short after a truncate
                name = spec["name"]
                out.append(f"state[{name[6:]!r}]" if name.startswith("state.") else name)
        return out

    @staticmethod
    def split_kwargs(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON numbers stay in the header; tensors travel as fresh arrays."""
        plain = {k: v for k, v in kwargs.items() if not torch.is_tensor(v)}
        tensors = {k: np.array(v.numpy(), order="C") for k, v in kwargs.items() if torch.is_tensor(v)}
        return plain, tensors

    def steps(self, notebook: str, item: Item, case: StepCase, prefix: str,
              arrays: dict[str, np.ndarray], end: float) -> dict[str, Any]:
        """Free trajectory: theta_t, state_t = fn(theta_{t-1}, grad(theta_{t-1}), state, t)."""
        theta = case.theta0.clone()
        state = {k: torch.zeros_like(theta) for k in case.state_keys}
        thetas: list[np.ndarray] = []
        states: dict[str, list[np.ndarray]] = {k: [] for k in case.state_keys}
        meta: dict[str, Any] = {"mutated": [], "blocked_calls": []}
        blocked: set[str] = set()
        for t in range(1, case.steps + 1):
            grad = case.grad(theta, t)
            specs, written = self.put({"theta": theta, "grad": grad,
                                       **{f"state.{k}": v for k, v in state.items()}})
            plain, tensors = self.split_kwargs(case.kwargs(t))
            reply, out = self.executor.request(
                {"op": "call", "notebook": notebook, "function": item.function, "t": t,
                 "kwargs": plain, "inputs": specs, "state_keys": list(case.state_keys)},
                end, tensors)
            blocked |= set(reply.get("blocked_calls") or [])
            if reply.get("missing"):
                return reply
            changed = self.changed(specs, written)
            if changed:
                meta["mutated"].append([t, changed])
            if reply.get("error") is not None:
                meta |= {"error": str(reply["error"]), "error_type": reply.get("error_type"),
                         "error_step": t}
                break
            if "theta" not in out or any(f"state.{k}" not in out for k in case.state_keys):
                raise Fault("sent a reply without the returned tensors", "crashed")
            wrong = next((name for name in out if out[name].shape != tuple(theta.shape)), None)
            if wrong is not None:
                meta |= {"error": f"ValueError: returned {wrong.replace('state.', 'state ')} of "
                         f"shape {out[wrong].shape} for theta of shape {tuple(theta.shape)}",
                         "error_type": "ValueError", "error_step": t}
                break
            meta.setdefault("dtype", str(reply.get("dtype", f"torch.{out['theta'].dtype}")))
            meta.setdefault("device", str(reply.get("device", "cpu")))
            thetas.append(out["theta"])
            for k in case.state_keys:
                states[k].append(out[f"state.{k}"])
            theta = torch.from_numpy(out["theta"].copy())
            state = {k: torch.from_numpy(out[f"state.{k}"].copy()) for k in case.state_keys}
        meta["steps_done"] = len(thetas)
        meta["blocked_calls"] = sorted(blocked)
        if thetas and all(a.shape == thetas[0].shape for a in thetas):
            arrays[P.theta_key(prefix)] = np.stack(thetas)
            for k, values in states.items():
                if all(a.shape == values[0].shape for a in values):
                    arrays[P.state_key(prefix, k)] = np.stack(values)
        elif thetas:
            meta["shape_changed"] = True
        return meta

    def calls(self, notebook: str, item: Item, case: CallCase, prefix: str,
              arrays: dict[str, np.ndarray], end: float) -> dict[str, Any]:
        """Plain functions: each call's return value as an array, plus its type."""
        if case.symbolic:
            reply, _ = self.executor.request(
                {"op": "symbolic", "notebook": notebook, "function": item.function,
                 "symbols": list(case.symbolic), "points": case.points}, end)
            if reply.get("error") is not None:
                return {"error": str(reply["error"]), "error_type": reply.get("error_type"),
                        "error_call": 0, "types": []}
            arrays[P.call_prefix(prefix, 0)] = np.asarray(reply.get("values", []), dtype="float64")
            return {"types": ["sympy"]}
        meta: dict[str, Any] = {"types": []}
        blocked: set[str] = set()
        for j, kwargs in enumerate(case.calls):
            plain, tensors = self.split_kwargs(kwargs)
            reply, out = self.executor.request(
                {"op": "call", "notebook": notebook, "function": item.function, "kwargs": plain},
                end, tensors)
            blocked |= set(reply.get("blocked_calls") or [])
            if reply.get("missing"):
                return reply
            if reply.get("error") is not None:
                meta |= {"error": str(reply["error"]), "error_type": reply.get("error_type"),
                         "error_call": j}
                break
            if "value" not in out:
                raise Fault("sent a reply without the returned value", "crashed")
            if out["value"].size > P.MAX_VALUES:
                meta |= {"error": f"returned {out['value'].size} values", "error_call": j}
                break
            meta["types"].append(str(reply.get("type", "")))
            arrays[P.call_prefix(prefix, j)] = out["value"]
        meta["blocked_calls"] = sorted(blocked)
        return meta


# How the operating system words an out-of-memory death (the process can no longer reply).
MEMORY_WORDS = ("MemoryError", "out of memory", "can't allocate memory", "bad_alloc")


def ended(run: sandbox.RunResult, kills: int = 0) -> tuple[str, str]:
    """(how the executor ended, as the end of a sentence; the flag it sets). With a cgroup the
    kernel's kill counter decides "memory"; without one, only the dead process's own last words
    can tell (student output can fake those: it then only changes which flag is set)."""
    text = (run.stderr or b"").decode(errors="replace")
    if run.oom_kills > kills or (not run.capped and any(word in text for word in MEMORY_WORDS)):
        return "ran out of memory", "memory"
    if run.signal:
        import signal
        try:
            name = signal.Signals(run.signal).name
        except ValueError:
            name = str(run.signal)
        return f"crashed the process ({name})", "crashed"
    return f"ended the process (exit code {run.returncode})", "crashed"


def run_items(plans: list[Plan], config: CourseConfig, verdict: Verdict, mode: str,
              visible: Sequence[Path], device: str = "cpu") -> dict[str, Outcome]:
    """{item id: outcome} for every item of ``plans``, run in the sandboxed executor."""
    return Driver(plans, config, verdict, mode, visible, device).run()
