"""install.py of the student bundle (autograder/steps/student_install.py), tested in-process:
the version and platform checks with faked values, and the commands it would run."""
import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path, PureWindowsPath

import pytest

from autograder.steps import release, student_install

HEADER = {"Requires-Python": ">=3.11.5, !=3.14.1, <3.15",
          "Unsupported-Platforms": "Darwin x86_64, Windows ARM64"}


@pytest.fixture
def bundle(tmp_path):
    """A bundle folder with install.py and the lock; returns (folder, the install module loaded from it)."""
    shutil.copy(release.INSTALL_SCRIPT, tmp_path / "install.py")
    shutil.copy(release.STUDENT_LOCK, tmp_path / "requirements-student.txt")
    (tmp_path / "notebooks" / "weight_decay").mkdir(parents=True)
    spec = importlib.util.spec_from_file_location("bundle_install", tmp_path / "install.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tmp_path, module


@pytest.fixture
def calls(monkeypatch):
    """Record the commands instead of running them (each 'succeeds')."""
    ran = []
    monkeypatch.setattr(subprocess, "call", lambda command: ran.append(command) or 0)
    return ran


def test_the_script_parses_on_old_pythons_so_they_get_the_message():
    source = release.INSTALL_SCRIPT.read_text()
    ast.parse(source, feature_version=(3, 6))
    # a future feature that 3.6 does not know is a compile error there, which ast.parse misses
    assert "from __future__ import annotations" not in source


def test_lock_header_reads_the_key_lines_of_the_leading_comments():
    text = "# Lock of things\n# Requires-Python: >=3.11\n# not a key: x\n#   a (b: c)\nnumpy==2\n# X: no"
    assert student_install.lock_header(text) == {"Requires-Python": ">=3.11"}
    assert student_install.lock_header(release.STUDENT_LOCK.read_text()) == HEADER


@pytest.mark.parametrize("version,ok", [((3, 10, 12), False), ((3, 11, 4), False), ((3, 11, 5), True),
                                        ((3, 13, 2), True), ((3, 14, 0), True), ((3, 14, 1), False),
                                        ((3, 14, 2), True), ((3, 15, 0), False), ((2, 7, 18), False)])
def test_allows_follows_the_requires_python_line(version, ok):
    assert student_install.allows(HEADER["Requires-Python"], version) is ok


def test_allows_rejects_what_it_cannot_read():
    with pytest.raises(ValueError, match="unsupported Requires-Python clause '~=3.11'"):
        student_install.allows("~=3.11", (3, 11, 0))
    with pytest.raises(ValueError, match="not a Python version: 'x'"):
        student_install.allows(">=x", (3, 11, 0))


def test_a_too_old_python_gets_a_message_naming_both_versions_and_the_fix():
    message = student_install.check_platform(HEADER, (3, 10, 12, "final", 0), "Linux", "x86_64",
                                             "/usr/bin/python3")
    assert "needs Python >=3.11.5, !=3.14.1, <3.15" in message
    assert "this is Python 3.10.12 (/usr/bin/python3)" in message
    assert "https://www.python.org/downloads/" in message and "py -3.12 install.py" in message


def test_platforms_without_a_torch_build_are_named_before_pip_runs():
    intel_mac = student_install.check_platform(HEADER, (3, 12, 4), "Darwin", "x86_64", "python3")
    assert "no build of the course's version for Darwin x86_64" in intel_mac and "Rosetta" in intel_mac
    assert "Windows ARM64" in student_install.check_platform(HEADER, (3, 12, 4), "Windows", "ARM64", "py")
    for system, machine in (("Linux", "x86_64"), ("Linux", "aarch64"), ("Darwin", "arm64"),
                            ("Windows", "AMD64")):
        assert student_install.check_platform(HEADER, (3, 12, 4), system, machine, "python") is None


def test_main_stops_an_unusable_python_before_running_anything(bundle, calls, capsys):
    root, install = bundle
    assert install.main([], version_info=(3, 10, 12)) == 2
    assert calls == []
    assert "this is Python 3.10.12" in capsys.readouterr().err
    assert not (root / ".venv").exists()


def test_main_sets_up_venv_lock_bundle_and_jupyter_in_order(bundle, calls, capsys):
    root, install = bundle
    assert install.main([], version_info=(3, 12, 4)) == 0
    vpy = str(install.venv_python(root / ".venv", os.name == "nt"))
    assert calls == [
        [sys.executable, "-m", "venv", str(root / ".venv")],
        [vpy, "-m", "pip", "install", "-r", str(root / "requirements-student.txt")],
        [vpy, "-m", "pip", "install", "--no-deps", "-e", str(root)],
        [vpy, "-m", "jupyterlab.labextensions", "disable", "--level=sys_prefix", "@jupyter/nbgrader"],
        [vpy, "-m", "jupyterlab", "--version"],
    ]
    out = capsys.readouterr().out
    assert "jupyter lab notebooks" in out and "python -m wdlab.validate" in out


def test_a_failed_step_stops_with_a_hint(bundle, monkeypatch, capsys):
    root, install = bundle
    ran = []
    monkeypatch.setattr(subprocess, "call",
                        lambda command: ran.append(command) or (1 if "pip" in command else 0))
    assert install.main([], version_info=(3, 12, 4)) == 1
    assert len(ran) == 2  # venv, then the failing pip; nothing after it
    assert "pip failed (exit status 1)" in capsys.readouterr().err


def test_windows_paths():
    root = PureWindowsPath("C:/Users/ana/weight_decay_bundle")
    commands = student_install.commands(root, "C:/Python312/python.exe", windows=True, venv_exists=True)
    assert commands[0] == ["C:\\Users\\ana\\weight_decay_bundle\\.venv\\Scripts\\python.exe", "-m", "pip",
                           "install", "-r", "C:\\Users\\ana\\weight_decay_bundle\\requirements-student.txt"]
    steps = student_install.next_steps("notebooks/weight_decay", windows=True)
    assert ".venv\\Scripts\\jupyter lab notebooks\\weight_decay" in steps
    assert ".venv\\Scripts\\python -m wdlab.validate" in steps
    assert ".venv/bin/jupyter lab notebooks/weight_decay" in student_install.next_steps(
        "notebooks/weight_decay", windows=False)


@pytest.mark.skipif(os.name == "nt", reason="a POSIX shell script stands in for an old .venv")
def test_an_existing_venv_of_an_unusable_python_is_named(bundle, calls, capsys):
    root, install = bundle
    old = root / ".venv" / "bin" / "python"
    old.parent.mkdir(parents=True)
    old.write_text("#!/bin/sh\necho 3.10.12\n")
    old.chmod(0o755)
    assert install.main([], version_info=(3, 12, 4)) == 2
    assert calls == []
    assert "made with Python 3.10.12" in capsys.readouterr().err


def test_the_nbgrader_extension_it_disables_is_nbgraders_name():
    package = Path(sys.prefix, "share", "jupyter", "labextensions", "@jupyter", "nbgrader", "package.json")
    if not package.is_file():
        pytest.skip("nbgrader's JupyterLab extension is not installed here")
    assert json.loads(package.read_text())["name"] == student_install.NBGRADER_LABEXTENSION


def test_a_fresh_bare_python_runs_the_script(bundle, tmp_path_factory):
    """A real interpreter with nothing installed (a new venv without pip): the script needs only
    the standard library and, with --dry-run, prints its plan."""
    root, _ = bundle
    bare = tmp_path_factory.mktemp("bare")
    venv.EnvBuilder(with_pip=False).create(bare)
    python = bare / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    done = subprocess.run([str(python), str(root / "install.py"), "--dry-run"], capture_output=True,
                          text=True, timeout=120, cwd=bare)
    assert done.returncode == 0, done.stderr
    assert f"-m pip install -r {root / 'requirements-student.txt'}" in done.stdout
    assert not (root / ".venv").exists()
