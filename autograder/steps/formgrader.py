"""`formgrader`: JupyterLab with nbgrader's formgrader on the course's state folder, one command.

What goes wrong when it is started by hand: nbgrader runs ``alembic`` from PATH (a server started
outside the activated venv answers 500 and "Loading, please wait..." forever), and
nbgrader_config.py reads the state folder from course_config (``COURSE_STATE_DIR``), so a server
opened on the repository shows an empty class while the demo's gradebook is elsewhere. This
verb sets both, installs the sandboxed kernel the ⚡ Autograde button uses, and starts the server
in the course root, where nbgrader finds nbgrader_config.py.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import course_config
from autograder.course import Course
from autograder.steps import grade

FORMGRADER_PATH = "formgrader"


def command(course: Course, port: int = 8888, browser: bool = False, token: str | None = None
            ) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) of the JupyterLab server for ``course`` (``token``: a fixed login
    token instead of a random one, for scripts)."""
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    # nbgrader_config.py loads course_config in the server: it must see this run's settings
    # (--state-dir, --set ...), and nothing left over from the instructor's shell.
    env = {k: v for k, v in env.items() if not k.startswith("COURSE_")}
    env |= course_config.as_environment(course.cfg)
    env["COURSE_STATE_DIR"] = str(Path(course.cfg.state_dir).resolve())
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(course.jupyter_path), env.get("JUPYTER_PATH", "")) if p)
    argv = [sys.executable, "-m", "jupyter", "lab", f"--port={port}", "--ip=127.0.0.1",
            f"--ServerApp.root_dir={Path(course.root).resolve()}",
            f"--ServerApp.default_url=/{FORMGRADER_PATH}"]
    if not browser:
        argv.append("--no-browser")
    if os.geteuid() == 0:  # a course server or container as root: Jupyter refuses otherwise
        argv.append("--allow-root")
    if token is not None:
        argv.append(f"--IdentityProvider.token={token}")
    return argv, env


def check_state(course: Course) -> list[str]:
    """What the instructor should know before opening formgrader on this state folder."""
    notes = []
    db = course.cfg.gradebook_url
    if db.startswith("sqlite:///") and not Path(db.removeprefix("sqlite:///")).exists():
        notes.append(f"no gradebook at {db.removeprefix('sqlite:///')} yet: run "
                     "`python -m autograder release` (and collect, grade) with this state folder, "
                     "or `make demo` then `make formgrader STATE=.course_state/demo`")
    return notes


def run(course: Course, port: int = 8888, browser: bool = False) -> int:
    """Start the server (blocks until it stops); returns its exit status."""
    import subprocess

    grade.install_kernel(course)
    argv, env = command(course, port, browser)
    for note in check_state(course):
        print(f"note: {note}")
    print(f"formgrader on {course.state} -- open http://127.0.0.1:{port}/{FORMGRADER_PATH} "
          "(the token is in the server's log below); Ctrl-C stops it")
    return subprocess.call(argv, env=env, cwd=course.root)
