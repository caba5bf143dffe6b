"""ONE builder of nbgrader's configuration, from course_config.

``nbgrader_config.py`` (what the ``nbgrader`` command and the formgrader load) and ``Course.api``
(what the instructor's verbs use) both call ``build``; they differ only in the arguments.
"""
from __future__ import annotations

import logging
from pathlib import Path

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


def reports_dir(cfg: CourseConfig) -> Path:
    """Where ``grade`` writes one JSON report per submission."""
    return Path(cfg.state_dir) / "reports" / cfg.assignment


def with_skip_experiments(defaults: list) -> list[str]:
    """nbgrader's autograde steps with ``SkipExperiments`` inserted right before Execute."""
    names = [p if isinstance(p, str) else f"{p.__module__}.{p.__name__}" for p in defaults]
    at = next(i for i, name in enumerate(names) if name.rsplit(".", 1)[-1] == "Execute")
    return [*names[:at], f"{PREPROCESSORS}.SkipExperiments", *names[at:]]
