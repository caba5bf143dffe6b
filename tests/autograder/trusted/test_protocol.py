"""The worker protocol: one definition of keys, phases and error flags, shared by both sides."""
import ast
import io
from pathlib import Path

import numpy as np

from autograder.trusted import cases, protocol

TRUSTED = Path(protocol.__file__).parent


def test_worker_and_protocol_import_only_the_standard_library():
    for name in protocol.FILES:
        tree = ast.parse((TRUSTED / name).read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert not imported & {"autograder", "course_config", "wdlab", "data_gen"}, (name, imported)


def test_no_key_or_phase_is_spelled_outside_the_protocol():
    """Array keys and progress lines are built only by protocol helpers."""
    for path in TRUSTED.glob("*.py"):
        if path.name == "protocol.py":
            continue
        text = path.read_text()
        for spelled in ('f"c{', '{prefix}_', '"progress.txt"', '"request.json"', '"start ',
                        'replace(":", "__")'):
            assert spelled not in text, (path.name, spelled)


def test_phases_round_trip():
    lines = protocol.start_line(protocol.exec_phase("01_nb")) + protocol.start_line("01_nb__f")
    assert protocol.current_phase(lines) == "01_nb__f"
    assert protocol.current_phase(protocol.start_line(protocol.exec_phase("01_nb"))) == "exec:01_nb"
    assert protocol.current_phase("") == protocol.START_UP
    assert protocol.current_phase(lines + protocol.FINISHED + "\n") == protocol.FINISHED


def test_flags_come_from_exception_types_not_text():
    assert protocol.error_flag("MemoryError") == "memory"
    assert protocol.error_flag("SystemExit") == "crashed"
    assert protocol.error_flag("ValueError") is None
    assert protocol.error_flag(None) is None


def test_serialized_cases_use_protocol_keys():
    step = cases.step_cases(("lr",), ("beta2",), ("v",), seed=1, adaptive=True)[:1]
    descriptors, blob = cases.serialize(step)
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        names = set(data.files)
    prefix = protocol.case_prefix(0)
    assert {protocol.input_key(prefix, n) for n in ("theta0", "h", "c", "noise")} <= names
    assert descriptors[0]["state_keys"] == ["v"]
