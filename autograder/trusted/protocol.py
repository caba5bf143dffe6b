"""The ONE definition of how the trusted driver talks to the sandboxed executor.

The driver (``driver.py``, the grader's process) and the executor (``executor.py``, inside the
sandbox, where the student's code runs) exchange framed messages over the executor's stdin and
stdout. The executor owns no grading logic: it runs cells and calls functions on request, and
the driver times every request on its own clock, keeps its own copy of every input and decides.
A copy of this module sits beside ``executor.py`` in every job folder; it imports only the
standard library.

Frame: 4-byte big-endian length of a JSON header, the header, then the raw bytes of each array
the header lists (``{"arrays": [{"name", "dtype", "shape", "nbytes"}]}``, C order). Sizes are
checked before anything is read: a frame over ``MAX_HEADER`` / ``MAX_FRAME`` bytes is refused.

Requests (``"op"``): ``exec`` {notebook, cells: [[index, source]]} -> {errors, patched, functions};
``call`` {notebook, function, kwargs, inputs, state_keys?} -> {value | theta + state, types,
dtype, device, blocked_calls} or {error, error_type}; ``symbolic`` {notebook, function,
symbols, points} -> {values}; ``bye``. Inputs that the student's function must not modify
travel in the shared arena (``ARENA``) so the driver sees in-place changes without asking.

Replies carry ``error`` (text the student reads) and ``error_type`` (the exception's class
name): flags are decided from types, never from message text.
"""
from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

JOB_FILES = ("executor.py", "protocol.py")  # copied into every job folder
ARENA = "arena"                  # shared input buffer, mapped by both sides
ARENA_BYTES = 8 << 20
# What the driver accepts from the executor: replies are a few small arrays (a case's values are
# at most a few dozen numbers) and short texts; anything larger is refused before it is read.
MAX_HEADER = 256 << 10
MAX_FRAME = 1 << 20
MAX_VALUES = 4096                # elements of one returned array
# What the executor accepts from the driver (a notebook's code travels in one request).
MAX_REQUEST = 64 << 20
DTYPES = ("float32", "float64", "int64", "int32", "bool")
_LEN = struct.Struct("!I")


class ProtocolError(ValueError):
    """A frame that breaks the protocol (too large, malformed, truncated)."""


class Timeout(Exception):
    """No complete reply before the deadline."""


# -- array keys of a reply, as the compare step reads them -----------------------------------
def case_prefix(i: int) -> str:
    return f"c{i}"


def call_prefix(prefix: str, j: int) -> str:
    """The value returned by call ``j`` of a call case."""
    return f"{prefix}_{j}"


def theta_key(prefix: str) -> str:
    """The student's iterates of a step case, shape [steps, *theta.shape]."""
    return f"{prefix}_theta"


def state_key(prefix: str, name: str) -> str:
    """The student's state[name] after each step of a step case."""
    return f"{prefix}_state_{name}"


# -- structured errors -----------------------------------------------------------------------
MEMORY_ERRORS = ("MemoryError", "OutOfMemoryError")
EXIT_ERRORS = ("SystemExit", "KeyboardInterrupt")


def error_flag(error_type: str | None) -> str | None:
    """The flag a structured error sets: "memory", "crashed" (the code tried to end the
    process) or None."""
    if error_type in MEMORY_ERRORS:
        return "memory"
    if error_type in EXIT_ERRORS:
        return "crashed"
    return None


# -- frames ----------------------------------------------------------------------------------
def encode(header: dict[str, Any], arrays: dict[str, Any] | None = None) -> bytes:
    """A frame: ``header`` plus ``arrays`` ({name: numpy array}) as raw bytes."""
    specs, blobs = [], []
    for name, array in (arrays or {}).items():
        data = array.tobytes(order="C")
        specs.append({"name": name, "dtype": str(array.dtype), "shape": list(array.shape),
                      "nbytes": len(data)})
        blobs.append(data)
    head = json.dumps({**header, "arrays": specs}).encode()
    return _LEN.pack(len(head)) + head + b"".join(blobs)


def write_frame(fd: int, frame: bytes, deadline: float | None = None) -> None:
    """Write a whole frame; on a non-blocking fd, wait for room until ``deadline`` (Timeout)."""
    view = memoryview(frame)
    while view:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                raise Timeout()
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            continue


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise Timeout()
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, deadline: float | None = None, max_header: int = MAX_HEADER,
               max_frame: int = MAX_FRAME) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(header, {array name: (spec, raw bytes)}) of the next frame; sizes are checked first."""
    (length,) = _LEN.unpack(_read_exact(fd, _LEN.size, deadline))
    if length > max_header:
        raise ProtocolError(f"header of {length} bytes")
    try:
        header = json.loads(_read_exact(fd, length, deadline))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"header is not JSON ({type(exc).__name__})") from None
    specs = header.get("arrays") if isinstance(header, dict) else None
    if not isinstance(specs, list):
        raise ProtocolError("header without an array list")
    total, blobs = 0, {}
    for spec in specs:
        check_spec(spec)
        total += spec["nbytes"]
        if total > max_frame:
            raise ProtocolError(f"frame of more than {max_frame} bytes")
    for spec in specs:
        blobs[spec["name"]] = (spec, _read_exact(fd, spec["nbytes"], deadline))
    return header, blobs


def check_spec(spec: Any) -> None:
    """An array spec must name a plain numeric dtype whose shape matches its byte count."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ProtocolError("malformed array spec")
    shape, nbytes = spec.get("shape"), spec.get("nbytes")
    if spec.get("dtype") not in DTYPES or not isinstance(shape, list) or \
            not all(isinstance(n, int) and 0 <= n < 1 << 31 for n in shape) or \
            not isinstance(nbytes, int) or nbytes < 0:
        raise ProtocolError(f"array {spec.get('name')!r}: bad dtype, shape or size")
    size = 1
    for n in shape:
        size *= n
    itemsize = {"float32": 4, "float64": 8, "int64": 8, "int32": 4, "bool": 1}[spec["dtype"]]
    if size * itemsize != nbytes:
        raise ProtocolError(f"array {spec['name']!r}: {nbytes} bytes for shape {shape}")
