"""ONE builder of nbgrader's configuration, from course_config.

``nbgrader_config.py`` (what the ``nbgrader`` command and the formgrader load) calls
``for_nbgrader_apps``; ``Course.api`` (what the instructor's verbs use) calls ``build``. Both
grade the same way: sandboxed kernel, experiments skipped, trusted verdict written last.
"""
from __future__ import annotations

import hashlib
import importlib
import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from traitlets.config import Config

from autograder.isolation.kernel import SANDBOX_KERNEL
from course_config import CourseConfig

CODE_STUB = 'raise NotImplementedError("Replace this line with your code.")'
PREPROCESSORS = "autograder.nbgrader_glue.preprocessors"
# Feedback shows only what the student wrote or saw and the grader's own words
# (preprocessors.py says why each step is there).
FEEDBACK_STEPS = ["nbgrader.preprocessors.GetGrades", f"{PREPROCESSORS}.HideHiddenTests",
                  f"{PREPROCESSORS}.HideInstructorText", f"{PREPROCESSORS}.SubmittedOutputs",
                  f"{PREPROCESSORS}.TrustedVerdicts",
                  "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]


def build(cfg: CourseConfig, root: Path, *, release_root: Path | None = None,
          sandbox: bool = True, run_experiments: bool = False, sockets: Path | None = None) -> Config:
    """nbgrader's settings for the course rooted at ``root``.

    sandbox: autograde kernels start inside the grading sandbox (the kernelspec must be
    installed and on JUPYTER_PATH: ``autograder.isolation.kernel.install``).
    run_experiments: False skips the experiment cells while autograding (``SkipExperiments``).
    sockets: kernels talk to nbgrader over ZMQ ``ipc`` sockets in this folder instead of
    loopback TCP, so the sandboxed kernel gets no network (a short path: sockets are files).
    """
    state = Path(cfg.state_dir)
    c = Config()
    c.CourseDirectory.course_id = cfg.course_id
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.release_directory = str(release_root or "notebooks")
    # Absolute paths: os.path.join(root, abs) keeps them, so student work stays out of the repository.
    c.CourseDirectory.submitted_directory = str(state / "submitted")
    c.CourseDirectory.autograded_directory = str(state / "autograded")
    c.CourseDirectory.feedback_directory = str(state / "feedback")
    c.CourseDirectory.db_url = cfg.gradebook_url
    # nbgrader's exchange (its multi-user release/collect, unused here) defaults to a system
    # folder that only root may create; keep it in the state folder so nothing reports it.
    c.Exchange.root = str(state / "exchange")
    c.ExecutePreprocessor.timeout = cfg.cell_timeout_s
    c.Execute.timeout = cfg.cell_timeout_s
    # A cell that times out costs that cell, not the whole notebook's in-kernel results.
    c.Execute.raise_on_iopub_timeout = False
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    if sandbox:
        c.Execute.kernel_name = SANDBOX_KERNEL
    if sockets is not None:
        c.KernelManager.transport = "ipc"
        c.KernelManager.ip = str(Path(sockets) / "kernel")
    if not run_experiments:
        from nbgrader.converters import Autograde
        c.Autograde.autograde_preprocessors = with_skip_experiments(
            Autograde.class_traits()["autograde_preprocessors"].default())
    # Feedback keeps hidden tests, mark schemes and model answers hidden (nbgrader's default
    # shows them), shows the outputs the student submitted (not the graded run's) and the trusted
    # verdicts; HTML in the outputs (the student's) is sanitized.
    c.GenerateFeedback.preprocessors = list(FEEDBACK_STEPS)
    c.SubmittedOutputs.submitted_dir = str(state / "submitted")
    c.TrustedVerdicts.reports_dir = str(reports_dir(cfg))
    c.HTMLExporter.sanitize_html = True
    c.NbGraderAPI.log_level = logging.WARNING
    return c


def for_nbgrader_apps(cfg: CourseConfig, root: Path, *, release_root: Path | None = None,
                      sockets: Path | None = None) -> Config:
    """What nbgrader's own apps load (formgrader's buttons, ``nbgrader autograde``).

    Their autograde runs the sandboxed kernel without the experiments, like ``grade``; then a
    post-convert hook writes the trusted verdict over nbgrader's in-kernel scores, so the ⚡
    Autograde button gives the same gradebook, report and comments as ``python -m autograder
    grade --student`` (``steps.grade.after_nbgrader_autograde``). The pre-convert hook installs
    the sandboxed kernelspec where that nbgrader process finds it.
    """
    c = build(cfg, root, release_root=release_root, sandbox=True, run_experiments=False,
              sockets=sockets or private_socket_dir(cfg))
    Path(c.Exchange.root).mkdir(parents=True, exist_ok=True)
    c.Autograde.pre_convert_hook = ConvertHook(f"{GRADE}.before_nbgrader_autograde", cfg, root,
                                               release_root)
    c.Autograde.post_convert_hook = ConvertHook(f"{GRADE}.after_nbgrader_autograde", cfg, root,
                                                release_root)
    return c


GRADE = "autograder.steps.grade"


class ConvertHook:
    """nbgrader calls a convert hook as ``hook(assignment=, student=, notebooks=)``; this one
    passes the course settings too. The target is imported when called (by name: this package
    does not import ``steps``, and nbgrader's config loader deep-copies the hook)."""

    def __init__(self, target: str, cfg: CourseConfig, root: Path, release_root: Path | None
                 ) -> None:
        self.target, self.cfg, self.root, self.release_root = target, cfg, Path(root), release_root

    def __call__(self, **kwargs: Any) -> None:
        module, name = self.target.rsplit(".", 1)
        getattr(importlib.import_module(module), name)(self.cfg, self.root, self.release_root,
                                                       **kwargs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConvertHook) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((self.target, self.root))

    def __repr__(self) -> str:
        return f"ConvertHook({self.target!r})"


def private_socket_dir(cfg: CourseConfig) -> Path:
    """A folder only this user can enter, for the sandboxed kernels' ZMQ sockets of nbgrader's
    own apps (one per user and state folder: the path must stay short). Refuses a folder that
    someone else made or could write."""
    tag = hashlib.sha256(str(Path(cfg.state_dir).resolve()).encode()).hexdigest()[:8]
    path = Path(tempfile.gettempdir()) / f"wdk-{os.getuid()}-{tag}"
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise RuntimeError(f"{path} is not a private folder of this user: remove it and retry")
    return path


def reports_dir(cfg: CourseConfig) -> Path:
    """Where ``grade`` writes one JSON report per submission."""
    return Path(cfg.state_dir) / "reports" / cfg.assignment


def with_skip_experiments(defaults: list) -> list[str]:
    """nbgrader's autograde steps with ``SkipExperiments`` inserted right before Execute."""
    names = [p if isinstance(p, str) else f"{p.__module__}.{p.__name__}" for p in defaults]
    at = next(i for i, name in enumerate(names) if name.rsplit(".", 1)[-1] == "Execute")
    return [*names[:at], f"{PREPROCESSORS}.SkipExperiments", *names[at:]]
