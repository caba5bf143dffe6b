"""A sandboxed Jupyter kernel for ``nbgrader autograde``.

nbgrader runs a submission's cells and hidden tests in an ordinary kernel, where student code
could read or rewrite the gradebook. The kernelspec written here starts every autograde kernel
through ``python -m autograder.isolation.kernel``, which wraps ipykernel with
``autograder.isolation.sandbox``:

- bubblewrap view: system libraries, Python, the student-visible packages, the submission's own
  folder (writable), the connection file, and -- read-only, because the hidden tests import
  them -- ``autograder/reference`` (rules and in-kernel checks). The gradebook, the state dir,
  ``solutions/`` and the rest of ``autograder/`` do not exist inside;
- an unused uid per kernel (as root), a fresh /tmp and /proc, a PID namespace (the whole tree
  dies with the kernel), an empty environment;
- limits: address space (``memory_cap_mb``), processes, file size, open files, no core dumps.

Network stays on: the kernel talks to nbgrader over loopback TCP. Without bubblewrap the kernel
runs with the limits (and another uid where possible) only, and a warning says so.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from autograder.isolation import limits, sandbox

# Every kernel start runs this module: it imports only the light sandbox modules (importing
# nbgrader here would add seconds to each notebook graded).
SANDBOX_KERNEL = "wd-sandbox"
HIDDEN_TEST_MODULES = ("__init__.py", "reference")
KEEP_ENV = ("NBGRADER_EXECUTION",)


def hidden_test_paths() -> list[str]:
    """The parts of autograder/ that the notebooks' hidden tests import (shown read-only)."""
    base = Path(__file__).resolve().parents[1]  # where the kernel's `import autograder` finds it
    return [str(base / name) for name in HIDDEN_TEST_MODULES if (base / name).exists()]


def install(jupyter_path: Path, memory_mb: int, readable: Sequence[Path | str]) -> Path:
    """Write the sandboxed kernelspec under ``jupyter_path``; returns its directory.

    readable: what the kernel may read besides Python and the system (the student-visible
    code); the hidden tests' modules are added.
    """
    argv = [sys.executable, "-m", "autograder.isolation.kernel", "--memory-mb", str(memory_mb)]
    for path in [*map(str, readable), *hidden_test_paths()]:
        argv += ["--readable", path]
    argv += ["--", sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
             "--HistoryManager.hist_file=:memory:"]
    spec_dir = Path(jupyter_path) / "kernels" / SANDBOX_KERNEL
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": argv, "display_name": "Python 3 (grading sandbox)", "language": "python",
            "interrupt_mode": "signal", "metadata": {"isolation": sandbox.isolation()}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir


def sandboxed_argv(cmd: list[str], readable: Sequence[str], connection_file: str
                   ) -> tuple[list[str], int | None]:
    """(argv, uid) running the kernel command inside bubblewrap as an unused uid (when root)."""
    uid = sandbox.pick_uid() if os.geteuid() == 0 else None
    cwd = os.getcwd()
    if uid is not None:  # the kernel must read its connection file and write its own folder
        os.chown(connection_file, uid, uid)
        sandbox.chown_tree(cwd, uid)
    keep = [f"{k}={os.environ[k]}" for k in KEEP_ENV if k in os.environ]
    inner = ["/usr/bin/env", *keep, *cmd] if keep else list(cmd)
    argv = sandbox.wrap_argv(inner, writable=[cwd], readable=[*readable, connection_file],
                             network=True, uid=uid, home=cwd)
    return argv, uid


def quiet() -> None:
    """The kernel's own terminal chatter (connection banner) would flood the grading log."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.isolation.kernel",
                                     description="Start a Jupyter kernel inside the grading sandbox.")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--readable", action="append", default=[])
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if "-f" not in cmd[:-1]:
        parser.error("give the kernel command after '--', with '-f CONNECTION_FILE'")
    connection_file = cmd[cmd.index("-f") + 1]
    if sandbox.isolation() == "bwrap":
        full, _ = sandboxed_argv(cmd, args.readable, connection_file)
        limits.apply(limits.kernel_limits(args.memory_mb))
        quiet()
        os.execv(full[0], full)
    warnings.warn("grading sandbox: bubblewrap is not available, so the kernel runs with "
                  "resource limits only and can read the instructor's files "
                  "(apt-get install -y bubblewrap)", sandbox.SandboxWarning, stacklevel=2)
    limits.apply(limits.kernel_limits(args.memory_mb))
    env = sandbox.env(os.getcwd()) | {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    quiet()
    os.execve(cmd[0], cmd, env)


if __name__ == "__main__":
    main()
