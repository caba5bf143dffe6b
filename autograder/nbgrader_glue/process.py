"""Process set-up before nbgrader runs in this process: its tools on PATH, one alembic call."""
from __future__ import annotations

import functools
import os
import sys
import warnings
from pathlib import Path


def prepare() -> None:
    """Let nbgrader find its tools, and ask alembic for the schema version once per process.

    nbgrader runs the ``alembic`` command from PATH every time it opens the gradebook -- about a
    second each on a small machine, and autograde opens it several times per notebook -- so the
    virtual environment's bin folder goes on PATH and the answer is cached (it cannot change
    while the process runs).
    """
    import nbgrader.api
    from sqlalchemy.exc import SAWarning

    # nbgrader's own session handling emits SQLAlchemy warnings that say nothing to instructors.
    warnings.filterwarnings("ignore", category=SAWarning)
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    if not hasattr(nbgrader.api.get_alembic_version, "cache_info"):
        nbgrader.api.get_alembic_version = functools.lru_cache(nbgrader.api.get_alembic_version)


def use_kernels_from(jupyter_path: Path) -> None:
    """Put ``jupyter_path`` first on JUPYTER_PATH, so nbgrader in this process and its children
    finds the kernelspecs there (the sandboxed kernel)."""
    path = str(jupyter_path)
    current = os.environ.get("JUPYTER_PATH", "")
    if path not in current.split(os.pathsep):
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (path, current) if p)
