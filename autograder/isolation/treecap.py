"""One cap on a whole process tree: memory and process count of everything a command starts.

RLIMIT_AS caps one process; a submission that forks multiplies it. A control group caps the
tree: ``TreeCap.create`` makes a child group of the grader's own cgroup (v2 where its memory and
pids controllers are enabled, else the v1 memory and pids hierarchies), the sandboxed command
joins it before it executes (``join``, from a preexec function), and ``close`` kills what is
left and removes the group. Where no cgroup can be written (no root, a read-only cgroupfs),
``create`` returns None and the caller falls back to per-process limits and says so.
"""
from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _own_groups() -> dict[str, str]:
    """{controller or "": path of this process's group} from /proc/self/cgroup."""
    groups = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return groups
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            groups[name] = path
    return groups


class TreeCap:
    def __init__(self, dirs: list[Path], version: int) -> None:
        self.dirs, self.version = dirs, version

    @classmethod
    def create(cls, memory_mb: int, pids: int) -> TreeCap | None:
        """A new group capped at ``memory_mb`` (RAM + swap where the kernel accounts it) and
        ``pids`` tasks, or None where cgroups cannot be used."""
        name = f"wdgrade-{uuid.uuid4().hex[:12]}"
        groups = _own_groups()
        limit = str(memory_mb << 20)
        try:
            v2 = CGROUP_ROOT / groups.get("", "/").lstrip("/")
            if {"memory", "pids"} <= set((v2 / "cgroup.subtree_control").read_text().split()):
                group = v2 / name
                group.mkdir()
                (group / "memory.max").write_text(limit)
                (group / "memory.swap.max").write_text("0")
                (group / "pids.max").write_text(str(pids))
                return cls([group], 2)
        except OSError:
            pass
        made: list[Path] = []
        try:
            memory = CGROUP_ROOT / "memory" / groups["memory"].lstrip("/") / name
            memory.mkdir()
            made.append(memory)
            (memory / "memory.limit_in_bytes").write_text(limit)
            swap = memory / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(limit)
            if "pids" in groups:
                tasks = CGROUP_ROOT / "pids" / groups["pids"].lstrip("/") / name
                tasks.mkdir()
                made.append(tasks)
                (tasks / "pids.max").write_text(str(pids))
            return cls(made, 1)
        except (OSError, KeyError):
            for group in reversed(made):
                _remove(group)
            return None

    def join(self) -> None:
        """Move the calling process (and so everything it starts) into the group."""
        for group in self.dirs:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    def oom_kills(self) -> int:
        """How many processes of the group the kernel killed for memory (older kernels without
        an oom_kill counter: how often the group hit its limit)."""
        for group in self.dirs:
            for name in ("memory.events", "memory.oom_control"):
                try:
                    lines = (group / name).read_text().splitlines()
                except OSError:
                    continue
                for key, _, value in (line.partition(" ") for line in lines):
                    if key == "oom_kill" and value.strip().isdigit():
                        return int(value)
        for group in self.dirs:
            try:
                return int((group / "memory.failcnt").read_text())
            except (OSError, ValueError):
                continue
        return 0

    def close(self) -> None:
        """Kill every process still in the group, then remove it."""
        for group in self.dirs:
            _remove(group)


def _remove(group: Path) -> None:
    for _ in range(50):
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:  # still busy: the killed processes are being reaped
            time.sleep(0.02)
