"""The trusted verdict: each autograded item's points, decided outside the student's process.

Pipeline (one small step each): extract (extract.py) -> isolated run (sandbox.py + worker.py,
one worker process per submission) -> compare (compare.py) -> diagnose (misconceptions.py).
A fault in one item (timeout, crash, memory, bad reply) costs that item its points, with a
message; the worker is restarted for the items still to grade, and nothing raises.

    trusted_verdict(notebook_path, notebook_name)        -> [ItemVerdict]
    grade_submission({notebook_name: path}, student=...) -> SubmissionVerdict (items + flags)
    grade_batch({student: {notebook_name: path}})        -> {student: SubmissionVerdict}
"""
import ast
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from difflib import get_close_matches
from pathlib import Path

import numpy as np

from course_config import CONFIG, ROOT

from . import compare, extract, misconceptions, sandbox
from .items import graded_items, item_cases

MEMORY_WORDS = ("MemoryError", "out of memory", "can't allocate memory", "bad_alloc")
MAX_REPLY_BYTES = 32 << 20  # a reply file larger than this is not read
FLAGS = ("timeout", "crashed", "memory", "output_too_large", "tamper_suspected", "unreadable")
SHADOWED = {"numpy", "torch", "math", "random", "sys", "os", "json", "sympy", "builtins",
            "wdlab", "data_gen", "nbgrader", "course_config", "autograder", "pytest", "unittest"}


@dataclass
class ItemVerdict:
    item: str
    score: float
    max_score: float
    decided_by: str = "trusted"
    message: str = ""
    misconception: str | None = None
    first_divergent_step: int | None = None
    cases_passed: int = 0
    cases_total: int = 0


@dataclass
class SubmissionVerdict:
    student: str | None
    items: list
    flags: dict = field(default_factory=lambda: dict.fromkeys(FLAGS, False))
    reasons: list = field(default_factory=list)   # why each flag is set, one line each
    messages: list = field(default_factory=list)  # notes for the student (cell errors, ...)
    isolation: str = ""
    seconds: float = 0.0

    @property
    def score(self):
        return round(sum(v.score for v in self.items), 6)

    @property
    def max_score(self):
        return sum(v.max_score for v in self.items)

    def flag(self, name, reason):
        self.flags[name] = True
        if reason not in self.reasons:
            self.reasons.append(reason)

    def to_dict(self):
        return {"student": self.student, "score": self.score, "max_score": self.max_score,
                "items": [asdict(v) for v in self.items], "flags": dict(self.flags),
                "reasons": list(self.reasons), "messages": list(self.messages),
                "isolation": self.isolation, "seconds": round(self.seconds, 3)}


def trusted_verdict(notebook_path, notebook_name, config=CONFIG):
    """The trusted verdict of every graded item of one notebook."""
    return grade_submission({notebook_name: notebook_path}, config=config).items


def grade_batch(submissions, config=CONFIG, workers=None, mode="auto", on_done=None):
    """{student: {notebook: path}} -> {student: SubmissionVerdict}, several workers at once.

    on_done(student, verdict) is called as each submission finishes (for a progress bar).
    """
    workers = workers or config.workers or os.cpu_count() or 1

    def one(student):
        verdict = grade_submission(submissions[student], config, student=student, mode=mode)
        if on_done:
            on_done(student, verdict)
        return student, verdict
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, list(submissions)))


def grade_submission(notebooks, config=CONFIG, student=None, mode="auto"):
    """Grade one student's notebooks ({notebook name: path}) in one sandboxed worker."""
    start = time.monotonic()
    table = [(item, pts) for item, pts in graded_items(config) if item.notebook in notebooks]
    unknown = [nb for nb in notebooks if nb not in config.notebooks]
    if unknown:
        raise ValueError(f"notebook_name must be one of {config.notebooks}, got {unknown}")
    verdict = SubmissionVerdict(student, [])
    plan, results = [], {}
    for name, path in notebooks.items():
        cells = _extract(name, path, verdict)
        if cells is not None:
            plan.append((name, cells, [i for i, _ in table if i.notebook == name]))
    if any(items for _, _, items in plan):
        results = _run_worker(plan, config, verdict, mode)
    for item, pts in table:
        verdict.items.append(_item_verdict(item, pts, results.get(item.id), config))
        message = verdict.items[-1].message
        if any(word in message for word in MEMORY_WORDS):
            verdict.flag("memory", f"{item.id}: ran out of memory")
        if "SystemExit" in message or "os._exit" in message:
            verdict.flag("crashed", f"{item.id}: the code tried to end the process")
    for v in verdict.items:
        if "torch.optim" in v.message and v.misconception == misconceptions.DELEGATION[0]:
            verdict.messages.append(f"{v.item}: {misconceptions.DELEGATION[1]}")
    verdict.seconds = time.monotonic() - start
    return verdict


def reconcile(verdict, in_kernel_scores):
    """Flag the submission where nbgrader's in-kernel score beats the trusted one.

    in_kernel_scores: {item id: points nbgrader's own run gave}; the trusted score counts.
    """
    for v in verdict.items:
        got = in_kernel_scores.get(v.item)
        if got is not None and got > v.score + 1e-9:
            verdict.flag("tamper_suspected", f"{v.item}: the notebook's own tests gave {got:g} "
                         f"points, the trusted grader {v.score:g} (the trusted score counts)")
    return verdict


# -- extract ---------------------------------------------------------------------------------
# grade_batch grades submissions on threads; CPython 3.11 tracks the AST's recursion depth per
# interpreter, not per thread, so concurrent ast.parse can fail with a spurious SystemError
# ("AST constructor recursion depth mismatch"). Parsing takes milliseconds: do it one at a time.
_PARSE_LOCK = threading.Lock()


def _extract(name, path, verdict):
    try:
        nb = extract.load_notebook(path)
    except extract.SubmissionError as exc:
        verdict.flag("unreadable", f"{name}: {exc}")
        verdict.messages.append(f"{name}: {exc}; its items get 0 points")
        return None
    try:
        with _PARSE_LOCK:
            for reason in tamper_reasons(nb, Path(path)):
                verdict.flag("tamper_suspected", f"{name}: {reason}")
            return extract.student_cells(nb)
    except Exception as exc:  # a notebook nbformat accepted but whose cells make no sense
        verdict.flag("unreadable", f"{name}: its code cells cannot be read ({type(exc).__name__})")
        return None


def tamper_reasons(nb, path=None):
    """Static signs of an attempt to fake a grade, read from the notebook's code (never run)."""
    reasons = []
    for index, source in extract.code_cells(nb):
        try:
            tree = ast.parse(extract.strip_magics(source))
        except (SyntaxError, ValueError, RecursionError):
            continue
        for node in ast.walk(tree):
            reasons += [f"cell {index}: {r}" for r in _suspicious(node)]
    if path is not None and path.parent.is_dir():
        for py in sorted(path.parent.glob("*.py")):
            if py.stem in SHADOWED:
                reasons.append(f"{py.name} beside the notebook would shadow the {py.stem} module")
    return list(dict.fromkeys(reasons))


_PATCHABLE = ("torch", "np", "numpy", "builtins", "sys", "math", "unittest", "pytest", "nbgrader")
_NEAR_GRADER = ("gradebook", "solutions", "autograder", ".course_state", "nbgrader", ".db",
                "reference", "submitted", "autograded")


def _suspicious(node):
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            name = extract._dotted(target.value if isinstance(target, ast.Subscript) else target)
            if name and name.split(".")[0] in _PATCHABLE and "." in name:
                yield f"replaces {name}"
            elif name in ("sys.modules",):
                yield "edits sys.modules"
    if isinstance(node, ast.Call):
        name = extract._dotted(node.func) or ""
        if name.endswith(("setattr",)) and node.args and extract._dotted(node.args[0]) in _PATCHABLE:
            yield f"setattr on {extract._dotted(node.args[0])}"
        if name.startswith("sys.modules.") or name in ("sys.modules.update", "sys.modules.pop"):
            yield "edits sys.modules"
    if isinstance(node, ast.Attribute) and node.attr in (
            "input_transformers_cleanup", "input_transformers_post", "ast_transformers",
            "input_transformer_manager", "register_magic_function"):
        yield f"installs an IPython transformer ({node.attr})"
    if isinstance(node, ast.FunctionDef) and node.name == "__eq__" and any(
            isinstance(n, ast.Return) and isinstance(n.value, ast.Constant) and n.value.value is True
            for n in ast.walk(node)):
        yield "defines __eq__ that always returns True"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        low = node.value.lower()
        # Prose (docstrings, formulas such as "(l2 / 2) ||theta||^2") has spaces; paths do not.
        pathlike = not any(ch.isspace() for ch in low) and (
            "/" in low or "*" in low or low.endswith((".db", ".py", ".ipynb")))
        named = "gradebook" in low or ".course_state" in low or (
            pathlike and any(word in low for word in _NEAR_GRADER))
        if named and len(low) < 300:
            yield f"names a grader file or folder ({node.value[:60]!r})"
        if pathlike and (low == ".." or "../" in low or "/.." in low):
            yield f"looks in parent folders ({node.value[:60]!r})"


# -- isolated run ----------------------------------------------------------------------------
def _sys_path():
    prefixes = tuple(sandbox.python_paths())
    return [p for p in sys.path if p and os.path.isdir(p)
            and os.path.realpath(p).startswith(prefixes)]


def _write_job(job, plan, pending, seed):
    """request.json + one .npz of inputs per pending item; returns {key: (item, cases)}."""
    notebooks, keys = [], {}
    for name, cells, items in plan:
        entries = []
        for item in items:
            if item.id not in pending:
                continue
            key = item.id.replace(":", "__")
            cases, (descriptors, blob) = item_cases(item.id, seed)
            (job / "in" / f"{key}.npz").write_bytes(blob)
            entries.append({"key": key, "function": item.function, "kind": item.kind,
                            "cases": descriptors})
            keys[key] = (item, cases)
        if entries:
            notebooks.append({"name": name, "cells": [[c.index, c.source] for c in cells],
                              "items": entries})
    request = {"sys_path": [*_sys_path(), str(job / "visible")], "notebooks": notebooks}
    (job / "request.json").write_text(json.dumps(request))
    return keys


def _new_job():
    job = Path(tempfile.mkdtemp(prefix="wdgrade-"))
    os.chmod(job, 0o755)
    (job / "in").mkdir()
    (job / "visible").mkdir()
    for name in sandbox.VISIBLE:
        if (ROOT / name).exists():
            (job / "visible" / name).symlink_to(ROOT / name)
    shutil.copy(Path(__file__).with_name("worker.py"), job / "worker.py")
    return job


class _Deadline:
    """Watches progress.txt: a phase (start-up, a notebook's cells, one item) gets ``seconds``."""

    SETUP_S = 30  # start-up and a notebook's imports/definitions: at least this long

    def __init__(self, path, seconds):
        self.path, self.seconds = path, seconds
        self.phase, self.since = "start-up", time.monotonic()

    def __call__(self):
        try:
            lines = self.path.read_text().splitlines()
        except OSError:
            lines = []
        phase = lines[-1] if lines else "start-up"
        if phase != self.phase:
            self.phase, self.since = phase, time.monotonic()
            return None
        setup = phase == "start-up" or phase.startswith("start exec:")
        limit = max(self.seconds, self.SETUP_S) if setup else self.seconds
        if time.monotonic() - self.since > limit:
            return f"ran longer than the {limit:g} s time limit and was stopped"
        return None


def _run_worker(plan, config, verdict, mode):
    """{item id: (meta, arrays, cases) or failure text}; the worker restarts after a fault."""
    pending = {i.id for _, _, items in plan for i in items}
    results, job = {}, _new_job()
    try:
        for _ in range(len(pending) + len(plan) + 1):
            if not pending:
                break
            keys = _write_job(job, plan, pending, config.seed)
            progress = job / "progress.txt"
            progress.write_text("")
            phases = len(keys) + len(plan) + 2
            limits = sandbox.Limits(wall_s=max(config.cell_timeout_s, _Deadline.SETUP_S) * phases,
                                    memory_mb=config.memory_cap_mb)
            run = sandbox.run([sys.executable, "-I", "-S", str(job / "worker.py"), str(job)],
                              cwd=job, limits=limits, mode=mode,
                              watch=_Deadline(progress, config.cell_timeout_s))
            verdict.isolation = run.isolation
            for warning in run.warnings:
                if warning not in verdict.messages:
                    verdict.messages.append(f"sandbox: {warning}")
            _read_cells_reports(job, plan, verdict)
            for key, (item, cases) in keys.items():
                reply = _read_reply(job, key)
                if reply is not None:
                    results[item.id] = (*reply, cases)
                    pending.discard(item.id)
            if run.output_truncated or run.output_bytes > sandbox.Limits().output_bytes:
                verdict.flag("output_too_large", f"the code printed {run.output_bytes} bytes; "
                             "output beyond 1 MiB was discarded")
            if not pending:
                break
            _blame(run, progress, keys, plan, pending, results, verdict)
    finally:
        shutil.rmtree(job, ignore_errors=True)
    return results


def _blame(run, progress, keys, plan, pending, results, verdict):
    """Charge the fault to the phase the worker was in; those items get 0 with the reason."""
    lines = progress.read_text().splitlines() if progress.exists() else []
    phase = lines[-1].removeprefix("start ") if lines else None
    what = _fault(run)
    if phase is None or phase == "finished":
        culprits = set(pending)
        tail = run.stderr.decode(errors="replace").strip().splitlines()[-3:]
        what = f"The grading worker {what} before grading started" + (
            f" ({' | '.join(tail)})" if tail else "")
    elif phase.startswith("exec:"):
        nb = phase[len("exec:"):]
        culprits = {i.id for name, _, items in plan if name == nb for i in items} & pending
        what = f"Running the notebook's definitions {what}"
    else:
        item = keys.get(phase, (None,))[0]
        culprits = {item.id} if item else set(pending)
        what = f"This function {what}"
    for item_id in culprits:
        results[item_id] = what
        pending.discard(item_id)
    flag = "timeout" if run.timed_out else "memory" if "out of memory" in what else "crashed"
    verdict.flag(flag, f"{', '.join(sorted(culprits)) or 'worker'}: {what[0].lower()}{what[1:]}")


def _fault(run):
    """How the worker ended, as the end of a sentence."""
    text = (run.stderr or b"").decode(errors="replace")
    if run.timed_out:
        return run.killed_reason
    if any(word in text for word in MEMORY_WORDS):
        return "ran out of memory"
    if run.signal:
        try:
            name = signal.Signals(run.signal).name
        except ValueError:
            name = str(run.signal)
        return f"crashed the process ({name})"
    return f"ended the process (exit code {run.returncode})"


def _read_cells_reports(job, plan, verdict):
    for name, _, _ in plan:
        path = job / "out" / f"{name}.cells.json"
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for err in report.get("errors", [])[:5]:
            line = compare._last_line(err.get("error", ""))
            if line.startswith("NameError"):  # a value the grader does not compute (not run)
                continue
            msg = f"{name}: cell {err.get('cell')} raised {line}"
            if msg not in verdict.messages:
                verdict.messages.append(msg)
        for patched in report.get("patched", []):
            verdict.flag("tamper_suspected", f"{name}: the code replaced {patched}")
        path.unlink(missing_ok=True)


def _read_reply(job, key):
    """(meta, arrays) of one item, or None when missing, too large or malformed."""
    meta_path, npz_path = job / "out" / f"{key}.json", job / "out" / f"{key}.npz"
    try:
        if npz_path.stat().st_size > MAX_REPLY_BYTES or meta_path.stat().st_size > MAX_REPLY_BYTES:
            return {"error": "reply too large"}, {}
        meta = json.loads(meta_path.read_text())
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {name: np.asarray(data[name]) for name in data.files}
    except Exception as exc:  # bad zip, bad JSON, truncated file: all the student's 0
        if meta_path.exists():
            return {"error": f"malformed reply ({type(exc).__name__})"}, {}
        return None
    if not isinstance(meta, dict) or any(a.dtype.kind not in "fiub" for a in arrays.values()):
        return {"error": "malformed reply"}, {}
    return meta, arrays


# -- compare and diagnose --------------------------------------------------------------------
def _item_verdict(item, pts, result, config):
    try:
        return _checked_item(item, pts, result, config)
    except Exception as exc:  # a reply of the wrong shape: that item's 0, never a lost batch
        return ItemVerdict(item.id, 0.0, pts, message=f"malformed reply from the worker "
                           f"({type(exc).__name__})")


def _checked_item(item, pts, result, config):
    verdict = ItemVerdict(item.id, 0.0, pts)
    if result is None:
        verdict.message = "not graded: the notebook could not be read or run"
        return verdict
    if isinstance(result, str):
        verdict.message = result
        return verdict
    meta, arrays, cases = result
    verdict.cases_total = len(cases)
    if meta.get("error") and not meta.get("cases"):
        verdict.message = _missing_message(item, meta["error"], meta)
        return verdict
    if len(meta.get("cases", [])) != len(cases):
        verdict.message = "malformed reply from the worker"
        return verdict
    checked = []
    for i, (case, case_meta) in enumerate(zip(cases, meta["cases"])):
        try:
            checked.append(compare.check_case(item, case, case_meta, arrays, f"c{i}", config))
        except Exception as exc:  # a reply that does not fit the case is the student's 0
            checked.append(compare.CaseResult(case.name, False, f"unusable result ({exc})", 1))
    return _summarize(verdict, item, pts, checked)


def _summarize(verdict, item, pts, checked):
    passed = sum(c.passed for c in checked)
    verdict.cases_passed = passed
    verdict.score = round(pts * passed / len(checked), 4) if checked else 0.0
    failing = [c for c in checked if not c.passed]
    if not failing:
        verdict.message = f"correct on all {len(checked)} cases"
        return verdict
    first = failing[0]
    verdict.first_divergent_step = first.step
    parts = [f"{passed} of {len(checked)} cases correct. First problem, case '{first.name}': "
             f"{first.message}."]
    found = next((c.misconception for c in failing if c.misconception), None)
    if found:
        verdict.misconception = found[0]
        parts.append(f"Most likely: {found[1]}.")
    else:
        best = misconceptions.diagnose(compare.explain(item, failing))
        if best:
            variant, count = best
            verdict.misconception = variant.name
            parts.append(f"Most likely: {variant.message} (matches {count} of {len(failing)} "
                         "failing cases).")
    verdict.message = " ".join(parts)
    return verdict


def _missing_message(item, error, meta):
    close = get_close_matches(item.function, meta.get("defined", []), n=2, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"{error}{hint}"
