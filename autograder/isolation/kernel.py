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
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from autograder.isolation import limits, sandbox

# Every kernel start runs this module: it imports only the light sandbox modules (importing
# nbgrader here would add seconds to each notebook graded).
SANDBOX_KERNEL = "wd-sandbox"
HIDDEN_TEST_MODULES = ("__init__.py", "reference")
KEEP_ENV = ("NBGRADER_EXECUTION",)
NO_BWRAP = ("grading sandbox: bubblewrap is not available, so kernels run with resource limits "
            "only and can read the instructor's files; install it: apt-get install -y bubblewrap")


def hidden_test_paths() -> list[str]:
    """The parts of autograder/ that the notebooks' hidden tests import (shown read-only)."""
    base = Path(__file__).resolve().parents[1]  # where the kernel's `import autograder` finds it
    return [str(base / name) for name in HIDDEN_TEST_MODULES if (base / name).exists()]


def install(jupyter_path: Path, memory_mb: int, readable: Sequence[Path | str],
            disk_mb: int = 256) -> Path:
    """Write the sandboxed kernelspec under ``jupyter_path``; returns its directory.

    readable: what the kernel may read besides Python and the system (the student-visible
    code); the hidden tests' modules are added.
    """
    argv = [sys.executable, "-m", "autograder.isolation.kernel", "--memory-mb", str(memory_mb),
            "--disk-mb", str(disk_mb)]
    for path in [*map(str, readable), *hidden_test_paths()]:
        argv += ["--readable", path]
    argv += ["--", sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
             "--HistoryManager.hist_file=:memory:"]
    spec_dir = Path(jupyter_path) / "kernels" / SANDBOX_KERNEL
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": argv, "display_name": "Python 3 (grading sandbox)", "language": "python",
            "interrupt_mode": "message", "metadata": {"isolation": sandbox.isolation()}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir


def quiet() -> None:
    """The kernel's own terminal chatter (connection banner) would flood the grading log."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)


def connection(path: str) -> tuple[bool, list[str]]:
    """(whether the kernel needs the network, the folders it must write its sockets to) from
    its connection file: ZMQ over ``ipc`` needs only a folder, over ``tcp`` the loopback."""
    try:
        info = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return True, []
    if info.get("transport") == "ipc" and info.get("ip"):
        return False, [str(Path(info["ip"]).parent)]
    return True, []


def run_sandboxed(cmd: list[str], readable: Sequence[str], connection_file: str,
                  lim: limits.Limits) -> int:
    """Run the kernel in bubblewrap and wait for it; returns its exit code.

    The kernel's working folder (nbgrader's autograded copy of the submission) is replaced
    inside the sandbox by an empty, size-capped tmpfs at the same path: what the kernel writes
    never reaches a folder the grader later reads, copies or sets permissions on. With the
    ``ipc`` transport the kernel has no network at all, only its socket folder.
    """
    cwd = os.getcwd()
    network, socket_dirs = connection(connection_file)
    # The kernel runs as an unused uid and must read its connection file; only this sandbox can
    # reach it (the runtime folder above it is the grader's own).
    os.chmod(connection_file, 0o644)
    keep = [f"{k}={os.environ[k]}" for k in KEEP_ENV if k in os.environ]
    inner = ["/usr/bin/env", *keep, *cmd] if keep else list(cmd)
    launch = sandbox.prepare(inner, cwd=Path(cwd), limits=lim, writable=socket_dirs,
                             readable=[*readable, connection_file], scratch=[cwd], mode="bwrap",
                             network=network)
    quiet()
    proc = subprocess.Popen(launch.cmd, cwd="/", preexec_fn=launch.preexec)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda number, _frame: proc.send_signal(number))
    threading.Thread(target=_watch_sockets, args=(proc, socket_dirs), daemon=True).start()
    try:
        return proc.wait()
    finally:
        if launch.cap is not None:
            launch.cap.close()


SOCKET_DIR_BYTES = 1 << 20  # sockets take no space: anything more is a kernel filling the disk


def _watch_sockets(proc: subprocess.Popen, folders: Sequence[str]) -> None:
    """The socket folder is the kernel's one writable host folder: stop the kernel when it
    holds more than sockets (a disk-filling cell), checked twice a second."""
    while proc.poll() is None and folders:
        used = 0
        for folder in folders:
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        used += 4096 + (entry.stat(follow_symlinks=False).st_size
                                        if entry.is_file(follow_symlinks=False) else 0)
            except OSError:
                continue
        if used > SOCKET_DIR_BYTES:
            proc.kill()
            return
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.isolation.kernel",
                                     description="Start a Jupyter kernel inside the grading sandbox.")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--disk-mb", type=int, default=256)
    parser.add_argument("--readable", action="append", default=[])
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if "-f" not in cmd[:-1]:
        parser.error("give the kernel command after '--', with '-f CONNECTION_FILE'")
    connection_file = cmd[cmd.index("-f") + 1]
    lim = limits.kernel_limits(args.memory_mb, args.disk_mb)
    if sandbox.isolation() == "bwrap":
        sys.exit(run_sandboxed(cmd, args.readable, connection_file, lim))
    sandbox.warn(NO_BWRAP)
    limits.apply(lim)
    env = sandbox.env(os.getcwd()) | {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    quiet()
    os.execve(cmd[0], cmd, env)


if __name__ == "__main__":
    main()
