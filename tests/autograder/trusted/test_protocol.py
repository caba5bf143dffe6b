"""The driver-executor protocol: one definition of frames, keys and error flags."""
import ast
import json
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.trusted import protocol

TRUSTED = Path(protocol.__file__).parent


def test_worker_and_protocol_import_only_the_standard_library():
    for name in protocol.JOB_FILES:
        tree = ast.parse((TRUSTED / name).read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert not imported & {"autograder", "course_config", "wdlab", "data_gen"}, (name, imported)


def test_no_key_is_spelled_outside_the_protocol():
    """Array keys are built only by protocol helpers."""
    for path in TRUSTED.glob("*.py"):
        if path.name == "protocol.py":
            continue
        text = path.read_text()
        for spelled in ('f"c{', '{prefix}_', 'replace(":", "__")'):
            assert spelled not in text, (path.name, spelled)


def test_flags_come_from_exception_types_not_text():
    assert protocol.error_flag("MemoryError") == "memory"
    assert protocol.error_flag("SystemExit") == "crashed"
    assert protocol.error_flag("ValueError") is None
    assert protocol.error_flag(None) is None


def _pipe_with(data):
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    return r


def test_frames_round_trip_arrays_exactly():
    arrays = {"theta": np.arange(6, dtype="float32").reshape(2, 3), "flag": np.array(True)}
    fd = _pipe_with(protocol.encode({"op": "call", "t": 3}, arrays))
    header, blobs = protocol.read_frame(fd, deadline=time.monotonic() + 5)
    assert header["op"] == "call" and header["t"] == 3
    spec, raw = blobs["theta"]
    got = np.frombuffer(raw, dtype=spec["dtype"]).reshape(spec["shape"])
    assert got.dtype == np.float32 and np.array_equal(got, arrays["theta"])


@pytest.mark.parametrize("spec", [
    {"name": "x", "dtype": "object", "shape": [1], "nbytes": 8},      # no pickled objects
    {"name": "x", "dtype": "float64", "shape": [2], "nbytes": 8},     # size does not fit shape
    {"name": "x", "dtype": "float64", "shape": [-1], "nbytes": 8},
    {"name": "x", "dtype": "float64", "shape": [1 << 20, 1 << 20], "nbytes": 8},
])
def test_bad_array_specs_are_refused_before_reading(spec):
    head = json.dumps({"arrays": [spec]}).encode()
    fd = _pipe_with(struct.pack("!I", len(head)) + head)
    with pytest.raises(protocol.ProtocolError):
        protocol.read_frame(fd, deadline=time.monotonic() + 5)


def test_oversized_frames_are_refused_unread():
    fd = _pipe_with(struct.pack("!I", protocol.MAX_HEADER + 1))
    with pytest.raises(protocol.ProtocolError):
        protocol.read_frame(fd, deadline=time.monotonic() + 5)
    big = {"name": "x", "dtype": "float64", "shape": [protocol.MAX_FRAME // 8 + 1],
           "nbytes": (protocol.MAX_FRAME // 8 + 1) * 8}
    head = json.dumps({"arrays": [big]}).encode()
    with pytest.raises(protocol.ProtocolError, match="more than"):
        protocol.read_frame(_pipe_with(struct.pack("!I", len(head)) + head), time.monotonic() + 5)


def test_a_silent_peer_is_a_timeout_not_a_hang():
    r, w = os.pipe()
    start = time.monotonic()
    with pytest.raises(protocol.Timeout):
        protocol.read_frame(r, deadline=start + 0.2)
    os.close(w)
    with pytest.raises(EOFError):
        protocol.read_frame(r, deadline=time.monotonic() + 1)
