"""The ONE definition of the trusted worker's job folder: its files, array keys, phases, replies.

The grader (``runner``, ``compare``) imports this module; a copy of it sits beside ``worker.py``
in every job folder, where the worker imports it. It therefore imports only the standard
library.

Job folder::

    request.json            {"sys_path": [...], "device": "cpu", "notebooks": [
                               {"name", "cells": [[index, source]], "items": [
                                 {"key", "function", "kind", "cases": [descriptor]}]}]}
    in/<key>.npz            the item's input arrays (ARRAY KEYS below)
    out/<key>.json          the reply: {"cases": [case reply], "error"?, "error_type"?, "defined"?}
    out/<key>.npz           the arrays the student's function returned
    out/<notebook>.cells.json  {"errors": [{"cell", "error", "error_type"}], "patched": [...]}
    progress.txt            one PHASE line as each phase starts

A case reply holds what happened, never a verdict: ``steps_done``, ``error`` (text the student
reads), ``error_type`` (the exception's class name: what flags are decided from),
``error_step``/``error_call``, ``mutated``, ``dtype``, ``device``, ``types``,
``blocked_calls`` and ``seconds``.
"""
from __future__ import annotations

import os

REQUEST = "request.json"
INPUTS = "in"
OUTPUTS = "out"
PROGRESS = "progress.txt"
VISIBLE = "visible"
FILES = ("worker.py", "protocol.py")  # copied into every job folder

# -- phases (lines of progress.txt) ----------------------------------------------------------
START_UP = "start-up"
FINISHED = "finished"
EXEC = "exec:"


def exec_phase(notebook: str) -> str:
    """The phase in which a notebook's definitions run."""
    return f"{EXEC}{notebook}"


def start_line(phase: str) -> str:
    return f"start {phase}\n"


def done_line(phase: str) -> str:
    return f"done {phase}\n"


def current_phase(text: str) -> str:
    """The phase named by the last line of progress.txt: START_UP, FINISHED, ``exec:<nb>``, an
    item key, or ``done ...`` between phases."""
    lines = text.splitlines()
    if not lines:
        return START_UP
    last = lines[-1]
    return last.removeprefix("start ") if last.startswith("start ") else last


# -- item keys and array keys ----------------------------------------------------------------
def item_key(item_id: str) -> str:
    """File-name form of an item id ("<notebook>:<function>" -> "<notebook>__<function>")."""
    return item_id.replace(":", "__")


def case_prefix(i: int) -> str:
    return f"c{i}"


def call_prefix(prefix: str, j: int) -> str:
    """Arrays of call ``j`` of a call case; also the key of that call's returned value."""
    return f"{prefix}_{j}"


def input_key(prefix: str, name: str) -> str:
    """An input array of a case (theta0, h, c, noise, or a tensor hyperparameter)."""
    return f"{prefix}_{name}"


def theta_key(prefix: str) -> str:
    """Reply: the student's iterates of a step case, shape [steps, *theta.shape]."""
    return f"{prefix}_theta"


def state_key(prefix: str, name: str) -> str:
    """Reply: the student's state[name] after each step of a step case."""
    return f"{prefix}_state_{name}"


# -- paths -----------------------------------------------------------------------------------
def inputs_path(job: str, key: str) -> str:
    return os.path.join(job, INPUTS, f"{key}.npz")


def reply_paths(job: str, key: str) -> tuple[str, str]:
    """(meta JSON, arrays .npz) of an item's reply."""
    return os.path.join(job, OUTPUTS, f"{key}.json"), os.path.join(job, OUTPUTS, f"{key}.npz")


def cells_report_path(job: str, notebook: str) -> str:
    return os.path.join(job, OUTPUTS, f"{notebook}.cells.json")


# -- structured errors -----------------------------------------------------------------------
# Exception types whose presence in a reply sets a flag (by type name, never by message text).
MEMORY_ERRORS = ("MemoryError", "OutOfMemoryError")
EXIT_ERRORS = ("SystemExit", "KeyboardInterrupt", "ExitAttempt")


def error_flag(error_type: str | None) -> str | None:
    """The flag a structured error sets: "memory", "crashed" (the code tried to end the
    process) or None."""
    if error_type in MEMORY_ERRORS:
        return "memory"
    if error_type in EXIT_ERRORS:
        return "crashed"
    return None
