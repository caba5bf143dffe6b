"""Resource limits of a sandboxed process tree, and the one helper that applies them."""
from __future__ import annotations

import resource
from dataclasses import dataclass

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    wall_s: float = 60.0       # wall-clock budget for the whole process group
    memory_mb: int = 3072      # address space per process (RLIMIT_AS)
    nproc: int = 64            # processes + threads of the sandbox uid (fork bombs stop here)
    fsize_mb: int = 64         # largest file a process may write
    nofile: int = 256          # open file descriptors
    output_bytes: int = 1 << 20  # stdout/stderr kept per stream; the rest is counted, not kept
    cpu_limited: bool = True   # RLIMIT_CPU = wall_s + 5 (off for kernels: they idle between cells)
    tree_memory_mb: int = 0    # memory of the whole process tree (cgroup); 0: memory_mb
    disk_mb: int = 64          # size of each scratch tmpfs (the writable working folders, /tmp)


# A Jupyter kernel runs many cells and its own threads (ZMQ, heartbeat): more processes and file
# descriptors than one grading worker, and no CPU-time cap (nbgrader's cell timeout applies).
def kernel_limits(memory_mb: int, disk_mb: int = 64) -> Limits:
    return Limits(memory_mb=memory_mb, nproc=256, nofile=1024, cpu_limited=False,
                  disk_mb=disk_mb)


def apply(limits: Limits, nproc: bool = True) -> None:
    """Set the limits on the calling process (a ``preexec_fn``, or just before ``exec``).

    ``nproc=False`` leaves RLIMIT_NPROC alone: it counts every process of the uid, so it is
    only meaningful when the sandbox runs as a uid of its own.
    """
    values = [("RLIMIT_AS", limits.memory_mb * MIB), ("RLIMIT_CORE", 0),
              ("RLIMIT_FSIZE", limits.fsize_mb * MIB), ("RLIMIT_NOFILE", limits.nofile)]
    if limits.cpu_limited:
        values.append(("RLIMIT_CPU", int(limits.wall_s) + 5))
    if nproc:
        values.append(("RLIMIT_NPROC", limits.nproc))
    for name, value in values:
        resource.setrlimit(getattr(resource, name), (value, value))
