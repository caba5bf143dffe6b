"""Where the instructor's pipeline keeps things, and nbgrader set up from course_config.

Every command works on a ``Course``: the course settings (a validated ``CourseConfig``) and the
course root (the repository, or a temporary copy in tests). All instructor state -- submissions,
gradebook, autograded copies, feedback, reports, exports -- lives under ``cfg.state_dir``.
"""
import functools
import logging
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbgrader.api
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

import course_config
from autograder import experiments
from autograder.kernel import SANDBOX_KERNEL  # the kernelspec's name, also used from here


@dataclass(frozen=True)
class Course:
    cfg: course_config.CourseConfig
    root: Path = course_config.ROOT
    # Where the student notebooks go (<release_root>/<assignment>/); None: <root>/notebooks. The
    # demo and the benchmark release into their state folder and leave notebooks/ alone.
    release_root: Path | None = None

    @property
    def assignment(self):
        return self.cfg.assignment

    @property
    def state(self):
        return Path(self.cfg.state_dir)

    @property
    def source_dir(self):
        return Path(self.root) / "solutions" / self.assignment

    @property
    def release_dir(self):
        return Path(self.release_root or Path(self.root) / "notebooks") / self.assignment

    def submitted(self, student=None):
        base = self.state / "submitted"
        return base if student is None else base / student / self.assignment

    def autograded(self, student=None):
        base = self.state / "autograded"
        return base if student is None else base / student / self.assignment

    def feedback_dir(self, student=None):
        base = self.state / "feedback"
        return base if student is None else base / student / self.assignment

    @property
    def reports_dir(self):
        return self.state / "reports" / self.assignment

    @property
    def export_dir(self):
        return self.state / "export"

    @property
    def jupyter_path(self):
        """A Jupyter data dir holding only the sandboxed kernelspec (put first on JUPYTER_PATH)."""
        return self.state / "jupyter"

    def students(self):
        """Students with a collected submission, sorted."""
        base = self.submitted()
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / self.assignment).is_dir())

    def nbgrader_config(self, sandbox=True, run_experiments=False):
        """nbgrader's settings for this course (the same ones nbgrader_config.py gives the CLI).

        Unless ``run_experiments``, autograde skips the experiment cells (autograder/experiments.py)."""
        c = Config()
        c.CourseDirectory.course_id = self.cfg.course_id
        c.CourseDirectory.root = str(self.root)
        c.CourseDirectory.source_directory = "solutions"
        c.CourseDirectory.release_directory = str(self.release_root or "notebooks")
        c.CourseDirectory.submitted_directory = str(self.submitted())
        c.CourseDirectory.autograded_directory = str(self.autograded())
        c.CourseDirectory.feedback_directory = str(self.feedback_dir())
        c.CourseDirectory.db_url = self.cfg.gradebook_url
        c.ExecutePreprocessor.timeout = self.cfg.cell_timeout_s
        c.Execute.timeout = self.cfg.cell_timeout_s
        # A cell that times out costs that cell, not the whole notebook's in-kernel results.
        c.Execute.raise_on_iopub_timeout = False
        c.ClearSolutions.code_stub = {
            "python": 'raise NotImplementedError("Replace this line with your code.")'}
        if sandbox:
            c.Execute.kernel_name = SANDBOX_KERNEL
        if not run_experiments:
            c.Autograde.autograde_preprocessors = experiments.autograde_preprocessors(
                Autograde.class_traits()["autograde_preprocessors"].default())
        # Feedback keeps the hidden tests hidden (nbgrader's default shows them) and shows the
        # trusted verdicts (autograder/feedback.py).
        c.GenerateFeedback.preprocessors = [
            "nbgrader.preprocessors.GetGrades", "autograder.feedback.HideHiddenTests",
            "autograder.feedback.TrustedVerdicts", "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
        c.TrustedVerdicts.reports_dir = str(self.reports_dir)
        c.NbGraderAPI.log_level = logging.WARNING
        return c

    def api(self, sandbox=True, run_experiments=False):
        prepare_process()
        self.state.mkdir(parents=True, exist_ok=True)
        config = self.nbgrader_config(sandbox, run_experiments)
        coursedir = CourseDirectory(config=config)
        return NbGraderAPI(coursedir=coursedir, config=config)

    def gradebook(self):
        prepare_process()
        self.state.mkdir(parents=True, exist_ok=True)
        return Gradebook(self.cfg.gradebook_url, self.cfg.course_id)


def check_result(result, what):
    """Raise RuntimeError with nbgrader's own log when an NbGraderAPI call failed."""
    if not result.get("success"):
        detail = (result.get("error") or "") + (result.get("log") or "")
        raise RuntimeError(f"nbgrader {what} failed:\n{detail.strip()}")
    return result


def use_sandbox_kernels(course):
    """Make nbgrader find the sandboxed kernelspec in this process and its children."""
    path = str(course.jupyter_path)
    current = os.environ.get("JUPYTER_PATH", "")
    if path not in current.split(os.pathsep):
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (path, current) if p)


def prepare_process():
    """Let nbgrader find its tools, and ask alembic for the schema version once per process.

    nbgrader runs the ``alembic`` command (from PATH) every time it opens the gradebook, about a
    second each on a small machine, and autograde opens it several times per notebook.
    """
    # nbgrader's own session handling emits SQLAlchemy warnings that say nothing to instructors.
    warnings.filterwarnings("ignore", category=SAWarning)
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    if not hasattr(nbgrader.api.get_alembic_version, "cache_info"):
        nbgrader.api.get_alembic_version = functools.lru_cache(nbgrader.api.get_alembic_version)
