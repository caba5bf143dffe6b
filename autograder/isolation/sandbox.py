"""Run untrusted student code in an isolated process: the one sandbox every student execution uses.

Two levels, chosen by ``isolation()``:
  "bwrap"    bubblewrap (install: ``apt-get install -y bubblewrap``): a private mount namespace
             that shows read-only only the system libraries, the Python installation and the
             paths the caller names (``readable``), plus the writable paths it names;
             new PID/IPC/UTS/network namespaces (no network), a fresh /tmp, an empty environment.
             Run as root, the command inside drops to an unused uid (per run), so the process
             limit counts only that submission's processes.
  "rlimits"  no bubblewrap: a new session, resource limits, an empty environment and a temp
             working dir; root drops to an unused uid when the interpreter is readable by it.
             Student code can then still read world-readable files: a warning says so.
Both: address-space, CPU-time, file-size, open-file and process limits (``limits.Limits``), and a
wall-clock killer that SIGKILLs the whole process group (in bwrap, the whole PID namespace).

Reusable API (the grading pipeline also launches nbgrader's kernels through it). The module
knows no project paths: callers name what the sandboxed code may read (``readable``: for the
course, the student-visible packages) and write (``writable``).
  wrap_argv(argv, writable=[...], readable=[...], network=False) -> argv that runs ``argv``
      inside the sandbox view. For a Jupyter kernelspec use ``network=True`` (ZMQ talks to the client over
      loopback TCP; with network=False only ``transport="ipc"`` kernels can connect) and put
      the notebook's folder and the connection file's folder in ``writable``. The command sees
      every path at its real location, so a kernelspec argv can be wrapped unchanged.
  run(argv, cwd=..., limits=Limits(...), writable=[...], readable=[...]) -> RunResult
      runs it with the limits and the killer; stdout/stderr are drained and capped in memory.
  env() -> the minimal environment given to student code.
"""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from autograder.isolation.limits import Limits, apply
from autograder.isolation.treecap import TreeCap

# System paths shown read-only inside bubblewrap (those that exist on this machine).
SYSTEM = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/ld.so.cache",
          "/etc/alternatives", "/etc/localtime", "/etc/fonts")  # fonts: matplotlib runs fc-list
UID_RANGE = (100000, 150000)  # unused uids for sandboxed runs as root (no account owns them)


class SandboxWarning(UserWarning):
    """The machine only allows weaker isolation than bubblewrap."""


# Set in the environment once a note was shown, so the grading workers and kernels this
# process starts (they inherit it) do not repeat it: one warning per run, not one per process.
WARNED_ENV = "AUTOGRADER_SANDBOX_WARNED"


def warn(note: str) -> None:
    """Warn about weaker isolation once per process tree."""
    key = hashlib.sha256(note.encode()).hexdigest()[:12]
    shown = os.environ.get(WARNED_ENV, "").split(",")
    if key in shown or "*" in shown:
        return
    os.environ[WARNED_ENV] = ",".join([*filter(None, shown), key])
    warnings.warn(note, SandboxWarning, stacklevel=3)


@dataclass
class RunResult:
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float
    timed_out: bool = False
    killed_reason: str = ""        # why the killer stopped it ("" when it exited on its own)
    output_bytes: int = 0          # total bytes written to stdout + stderr (kept or not)
    output_truncated: bool = False
    isolation: str = ""
    warnings: list[str] = field(default_factory=list)
    oom_kills: int = 0             # processes of the tree the kernel killed at the cgroup cap
    capped: bool = False           # the tree had a cgroup (oom_kills is then the whole truth)

    @property
    def memory_killed(self) -> bool:
        return self.oom_kills > 0

    @property
    def signal(self) -> int:
        """The signal that ended the process (bwrap reports a child's signal as 128 + n)."""
        if self.returncode < 0:
            return -self.returncode
        return self.returncode - 128 if self.returncode > 128 else 0


def python_paths() -> list[str]:
    """Folders the interpreter needs: its installation and the virtual environment."""
    return sorted({str(Path(p).resolve()) for p in (sys.base_prefix, sys.prefix)})


@functools.cache
def bwrap_path() -> str | None:
    """The bubblewrap binary when it exists and works on this machine, else None."""
    path = shutil.which("bwrap")
    if not path:
        return None
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net",
                            "--die-with-parent", "true"], capture_output=True, timeout=30)
    return path if probe.returncode == 0 else None


def warn_degraded(note: str) -> None:
    """Before starting many sandboxed processes: without bubblewrap, say ``note`` once, and
    nothing more from them about it (each would otherwise repeat its own variant)."""
    if isolation() == "bwrap":
        return
    warn(note)
    os.environ[WARNED_ENV] = "*"


def isolation() -> str:
    """"bwrap" where bubblewrap works, else "rlimits"."""
    return "bwrap" if bwrap_path() else "rlimits"


def env(home: str | Path = "/tmp") -> dict[str, str]:
    """The whole environment of a sandboxed process: nothing inherited from the grader."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(home), "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}


def pick_uid() -> int:
    """An unused uid for this run, different between concurrent runs."""
    import pwd
    low, high = UID_RANGE
    for _ in range(100):
        uid = low + int.from_bytes(os.urandom(4), "little") % (high - low)
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise RuntimeError("no unused uid found for the sandbox")


def _dirs_then_binds(path: str, mode: str, seen: set[str]) -> list[str]:
    """bwrap arguments that create the parents of ``path`` world-traversable (0755)."""
    args = []
    for parent in reversed(Path(path).parents):
        p = str(parent)
        if p != "/" and p not in seen:
            seen.add(p)
            args += ["--perms", "0755", "--dir", p]
    return args + [mode, path, path]


def gpu_devices() -> list[str]:
    """The NVIDIA device nodes of this machine (empty without a GPU driver)."""
    return sorted(str(p) for p in Path("/dev").glob("nvidia*") if p.is_char_device()) \
        if Path("/dev").is_dir() else []


def wrap_argv(argv: Sequence[str], *, writable: Sequence[str | Path] = (),
              readable: Sequence[str | Path] = (), network: bool = False, uid: int | None = None,
              home: str | Path | None = None, devices: bool = False,
              scratch: Sequence[str | Path] = (), scratch_mb: int = 64) -> list[str]:
    """``argv`` wrapped in bubblewrap with the course's view (see the module docstring).

    writable: paths bound read-write at their own location; readable: extra read-only paths.
    devices: also show the GPU device nodes (a worker asked to run on CUDA).
    scratch: paths that get a fresh tmpfs of ``scratch_mb`` MiB each (like /tmp): what the
    command writes there stays in the sandbox, capped, and vanishes with it.
    uid: run the command as this uid (the caller must be root; made writable paths must be
    owned by it); None keeps the caller's uid. Raises RuntimeError without bubblewrap.
    """
    bwrap = bwrap_path()
    if not bwrap:
        raise RuntimeError("bubblewrap is not available: apt-get install -y bubblewrap")
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--clearenv"]
    if not network:
        args.append("--unshare-net")
    if os.geteuid() != 0:
        args.append("--unshare-user")
    for key, value in env(home or (writable[0] if writable else "/tmp")).items():
        args += ["--setenv", key, value]
    # bwrap would create /etc for the binds below as 0700, closed to the unprivileged uid.
    args += ["--perms", "0755", "--dir", "/etc"]
    for path in SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    size = str(scratch_mb << 20)
    # Scratch space: fresh tmpfs mounts, size-capped, writable by the sandbox uid (sticky).
    tmpfs = ["--perms", "1777", "--size", size, "--tmpfs"]
    args += ["--proc", "/proc", "--dev", "/dev", *tmpfs, "/dev/shm", *tmpfs, "/tmp"]
    for node in gpu_devices() if devices else []:
        args += ["--dev-bind", node, node]
    seen = {"/tmp", "/dev/shm"}
    for path in [*python_paths(), *(str(p) for p in readable if os.path.exists(p))]:
        args += _dirs_then_binds(path, "--ro-bind", seen)
    for path in map(str, writable):
        args += _dirs_then_binds(path, "--bind", seen)
    for path in map(str, scratch):
        args += _dirs_then_binds(path, "--tmpfs", seen)[:-3] + [*tmpfs, path]
    if uid is not None:
        args += ["--", "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    else:
        args.append("--")
    return args + list(argv)


@functools.cache
def _python_readable_by(uid: int) -> bool:
    """Can ``uid`` start this interpreter? (root may keep it under a private home folder)."""
    try:
        probe = subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], capture_output=True,
                               preexec_fn=lambda: _drop(uid), env=env(), timeout=60)
    except OSError:
        return False
    return probe.returncode == 0


def _drop(uid: int) -> None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def _drain(stream: IO[bytes], limit: int, sink: list) -> None:
    """Read a pipe to its end, keeping the first ``limit`` bytes and counting the rest."""
    kept, total = bytearray(), 0
    while chunk := stream.read(65536):
        total += len(chunk)
        if len(kept) < limit:
            kept += chunk[: limit - len(kept)]
    sink.extend([bytes(kept), total])


@dataclass
class Launch:
    """A command ready to start in the sandbox: argv, environment, preexec and the tree cap."""

    cmd: list[str]
    env: dict[str, str] | None
    preexec: Callable[[], None]
    mode: str
    notes: list[str]
    cap: TreeCap | None


def prepare(argv: Sequence[str], *, cwd: Path, limits: Limits, writable: Sequence[str | Path] = (),
            readable: Sequence[str | Path] = (), scratch: Sequence[str | Path] = (),
            mode: str = "auto", devices: bool = False, network: bool = False) -> Launch:
    """Everything needed to start ``argv`` sandboxed (see ``run``); creates the tree cap."""
    mode = isolation() if mode == "auto" else mode
    notes: list[str] = []
    uid = pick_uid() if os.geteuid() == 0 else None
    cap = TreeCap.create(limits.tree_memory_mb or limits.memory_mb, limits.nproc)
    if cap is None:
        notes.append("no writable cgroup: memory is capped per process, not for the whole "
                     "process tree (run the grader as root on a machine with cgroups)")
    if mode == "bwrap":
        owned = [p for p in (cwd, *writable) if Path(p).exists() and not _is_scratch(p, scratch)]
        if uid is not None:
            for path in owned:
                chown_tree(path, uid)
        rw = [str(p) for p in (cwd, *writable) if not _is_scratch(p, scratch)]
        cmd = wrap_argv(argv, writable=rw, readable=readable, uid=uid, home=cwd, devices=devices,
                        scratch=scratch, scratch_mb=limits.disk_mb, network=network)
        nproc_on, drop, run_env = uid is not None, None, None
    else:
        notes.append("bubblewrap unavailable: student code runs with resource limits only and "
                     "can read world-readable files (apt-get install -y bubblewrap)")
        if uid is not None and not _python_readable_by(uid):
            notes.append("running as root: the interpreter is not readable by an unprivileged "
                         "uid, so student code runs as root")
            uid = None
        for path in scratch:
            Path(path).mkdir(parents=True, exist_ok=True)
        if uid is not None:
            for path in (cwd, *writable, *scratch):
                chown_tree(path, uid)
        cmd, run_env, nproc_on, drop = list(argv), env(cwd), uid is not None, uid

    def preexec() -> None:
        if cap is not None:
            cap.join()
        apply(limits, nproc=nproc_on)
        if drop is not None:
            _drop(drop)
    for note in notes:
        warn(note)
    return Launch(cmd, run_env, preexec, mode, notes, cap)


def _is_scratch(path: str | Path, scratch: Sequence[str | Path]) -> bool:
    return any(Path(path) == Path(s) for s in scratch)


def run(argv: Sequence[str], *, cwd: str | Path, limits: Limits = Limits(),
        writable: Sequence[str | Path] = (), readable: Sequence[str | Path] = (),
        scratch: Sequence[str | Path] = (), watch: Callable[[], str | None] | None = None,
        mode: str = "auto", devices: bool = False) -> RunResult:
    """Run ``argv`` sandboxed in ``cwd`` (which becomes writable); never raises for what it does.

    scratch: paths where the sandbox gets a fresh, size-capped tmpfs (``limits.disk_mb``)
    instead of the host folder (with bubblewrap; without it, the folders themselves).
    watch: optional callable polled every 0.05 s; a non-empty string it returns kills the run
    and becomes ``killed_reason``.
    mode: "auto" (bwrap when available), "bwrap" or "rlimits".
    """
    cwd = Path(cwd)
    launch = prepare(argv, cwd=cwd, limits=limits, writable=writable, readable=readable,
                     scratch=scratch, mode=mode, devices=devices)
    try:
        return _supervise(launch, cwd, limits, watch)
    finally:
        if launch.cap is not None:
            launch.cap.close()


class Process:
    """A sandboxed process the caller talks to over its stdin/stdout (``spawn``)."""

    def __init__(self, launch: Launch, cwd: Path, limits: Limits) -> None:
        self.launch, self.limits, self.start = launch, limits, time.monotonic()
        self.proc = subprocess.Popen(launch.cmd, cwd=cwd, env=launch.env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True, preexec_fn=launch.preexec)
        self._err: list = []
        self._reader = threading.Thread(target=_drain, daemon=True,
                                        args=(self.proc.stderr, limits.output_bytes, self._err))
        self._reader.start()
        self.reason = ""
        os.set_blocking(self.proc.stdin.fileno(), False)  # writes wait with a deadline (select)
        self._watchdog = threading.Timer(limits.wall_s, self.kill,
                                         [f"wall-clock limit of {limits.wall_s:g} s reached"])
        self._watchdog.daemon = True
        self._watchdog.start()

    @property
    def stdin(self) -> int:
        return self.proc.stdin.fileno()

    @property
    def stdout(self) -> int:
        return self.proc.stdout.fileno()

    def kill(self, reason: str = "") -> None:
        self.reason = self.reason or reason
        _kill_group(self.proc)

    def finish(self) -> RunResult:
        """Wait for the process (killing it when it does not end), free its cgroup."""
        self._watchdog.cancel()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill_group(self.proc)
            self.proc.wait()
        self._reader.join(timeout=10)
        err = self._err or [b"", 0]
        cap = self.launch.cap
        kills = cap.oom_kills() if cap is not None else 0
        if cap is not None:
            cap.close()
        return RunResult(self.proc.returncode, b"", err[0], time.monotonic() - self.start,
                         timed_out=bool(self.reason), killed_reason=self.reason,
                         output_bytes=err[1], output_truncated=err[1] > len(err[0]),
                         isolation=self.launch.mode, warnings=self.launch.notes,
                         oom_kills=kills, capped=cap is not None)

    def oom_kills(self) -> int:
        """Processes of the tree killed at the memory cap so far (0 without a cgroup)."""
        return self.launch.cap.oom_kills() if self.launch.cap is not None else 0


def spawn(argv: Sequence[str], *, cwd: str | Path, limits: Limits = Limits(),
          writable: Sequence[str | Path] = (), readable: Sequence[str | Path] = (),
          scratch: Sequence[str | Path] = (), mode: str = "auto", devices: bool = False) -> Process:
    """Start ``argv`` sandboxed like ``run`` and return it running, stdin and stdout piped to the
    caller (stderr is drained and capped); the caller ends it with ``finish``."""
    launch = prepare(argv, cwd=Path(cwd), limits=limits, writable=writable, readable=readable,
                     scratch=scratch, mode=mode, devices=devices)
    return Process(launch, Path(cwd), limits)


def remove_tree(path: str | Path) -> None:
    """Remove a folder a sandbox may have filled with anything (very deep trees, links):
    ``rm`` walks it iteratively, stays on its file system and never follows a link."""
    subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def chown_tree(path: str | Path, uid: int) -> None:
    """Give ``path`` and everything under it to ``uid`` (the sandboxed process writes there)."""
    os.lchown(path, uid, uid)
    for root, dirs, files in os.walk(path):
        for name in [root, *[os.path.join(root, n) for n in dirs + files]]:
            os.lchown(name, uid, uid)


def _supervise(launch: Launch, cwd: Path, limits: Limits,
               watch: Callable[[], str | None] | None) -> RunResult:
    start = time.monotonic()
    proc = subprocess.Popen(launch.cmd, cwd=cwd, env=launch.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=launch.preexec)
    out: list = []
    err: list = []
    readers = [threading.Thread(target=_drain, args=(s, limits.output_bytes, sink), daemon=True)
               for s, sink in ((proc.stdout, out), (proc.stderr, err))]
    for reader in readers:
        reader.start()
    reason = ""
    while proc.poll() is None:
        if time.monotonic() - start > limits.wall_s:
            reason = f"wall-clock limit of {limits.wall_s:g} s reached"
        elif watch is not None:
            reason = watch() or ""
        if reason:
            _kill_group(proc)
            break
        time.sleep(0.05)
    proc.wait()
    for reader in readers:
        reader.join(timeout=10)
    out = out or [b"", 0]
    err = err or [b"", 0]
    total = out[1] + err[1]
    kills = launch.cap.oom_kills() if launch.cap is not None else 0
    return RunResult(proc.returncode, out[0], err[0], time.monotonic() - start,
                     timed_out=bool(reason), killed_reason=reason, output_bytes=total,
                     output_truncated=total > len(out[0]) + len(err[0]), isolation=launch.mode,
                     warnings=launch.notes, oom_kills=kills, capped=launch.cap is not None)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group (bwrap's --die-with-parent takes its PID namespace along)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
