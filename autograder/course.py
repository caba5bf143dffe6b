"""Where the instructor's pipeline keeps things, and handles on nbgrader for the course.

Every command works on a ``Course``: the course settings (a validated ``CourseConfig``) and the
course root (the repository, or a temporary copy in tests). All instructor state -- submissions,
gradebook, autograded copies, feedback, reports, exports -- lives under ``cfg.state_dir``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import course_config
from autograder import nbmeta
from autograder.nbgrader_glue import config as nbconfig
from autograder.nbgrader_glue import process

if TYPE_CHECKING:
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

# Student-visible code: the packages and files students get in the bundle, and the only parts of
# the repository a sandboxed process may read.
STUDENT_PACKAGES = ("wdlab", "data_gen")
STUDENT_MODULES = ("course_config.py",)


@dataclass(frozen=True)
class Course:
    cfg: course_config.CourseConfig
    root: Path = course_config.ROOT
    # Where the student notebooks go (<release_root>/<assignment>/); None: <root>/notebooks. The
    # demo and the benchmark release into their state folder and leave notebooks/ alone.
    release_root: Path | None = None

    @property
    def assignment(self) -> str:
        return self.cfg.assignment

    @property
    def state(self) -> Path:
        return Path(self.cfg.state_dir)

    @property
    def source_dir(self) -> Path:
        return Path(self.root) / "solutions" / self.assignment

    @property
    def release_dir(self) -> Path:
        return Path(self.release_root or Path(self.root) / "notebooks") / self.assignment

    def submitted(self, student: str | None = None) -> Path:
        base = self.state / "submitted"
        return base if student is None else base / student / self.assignment

    def autograded(self, student: str | None = None) -> Path:
        base = self.state / "autograded"
        return base if student is None else base / student / self.assignment

    def feedback_dir(self, student: str | None = None) -> Path:
        base = self.state / "feedback"
        return base if student is None else base / student / self.assignment

    @property
    def reports_dir(self) -> Path:
        return nbconfig.reports_dir(self.cfg)

    def report_path(self, student: str) -> Path:
        return self.reports_dir / f"{student}.json"

    @property
    def export_dir(self) -> Path:
        return self.state / "export"

    @property
    def jupyter_path(self) -> Path:
        """A Jupyter data dir holding only the sandboxed kernelspec (put first on JUPYTER_PATH)."""
        return self.state / "jupyter"

    def student_code(self) -> list[Path]:
        """The student-visible packages and modules of this course that exist."""
        paths = [Path(self.root) / name for name in (*STUDENT_PACKAGES, *STUDENT_MODULES)]
        return [p for p in paths if p.exists()]

    def students(self) -> list[str]:
        """Students with a collected submission, sorted."""
        base = self.submitted()
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / self.assignment).is_dir())

    def nbgrader_config(self, sandbox: bool = True, run_experiments: bool = False,
                        sockets: Path | None = None) -> Config:
        return nbconfig.build(self.cfg, Path(self.root), release_root=self.release_root,
                              sandbox=sandbox, run_experiments=run_experiments, sockets=sockets)

    def api(self, sandbox: bool = True, run_experiments: bool = False,
            sockets: Path | None = None) -> NbGraderAPI:
        """nbgrader's API for this course; ``sockets``: a folder of the caller's own where the
        sandboxed kernels' ZMQ sockets go (they then get no network)."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        process.prepare()
        self.state.mkdir(parents=True, exist_ok=True)
        config = self.nbgrader_config(sandbox, run_experiments, sockets)
        Path(config.Exchange.root).mkdir(exist_ok=True)
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    def apps_api(self) -> NbGraderAPI:
        """nbgrader's API configured as nbgrader_config.py configures nbgrader's own apps (the
        formgrader's buttons): what an instructor's click in formgrader runs."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        process.prepare()
        self.state.mkdir(parents=True, exist_ok=True)
        config = nbconfig.for_nbgrader_apps(self.cfg, Path(self.root), release_root=self.release_root)
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    def gradebook(self) -> Gradebook:
        from nbgrader.api import Gradebook

        process.prepare()
        self.state.mkdir(parents=True, exist_ok=True)
        return Gradebook(self.cfg.gradebook_url, self.cfg.course_id)

    def totals(self, submission: Any) -> tuple[float, float]:
        """(score, max score) of a gradebook submission: every point earned counts, but the
        optional notebooks' points (``cfg.optional_notebooks``) are a bonus outside the max."""
        bonus = sum(float(nb.max_score) for nb in submission.notebooks
                    if nb.name in self.cfg.optional_notebooks)
        return float(submission.score), float(submission.max_score) - bonus

    def is_optional(self, notebook: str) -> bool:
        return notebook in self.cfg.optional_notebooks

    def handed_in(self, student: str) -> set[str]:
        """The notebooks (stems) ``student`` submitted, less the optional ones handed back as
        released (nothing attempted); nbgrader gives the others 0, with no written answer left
        to grade."""
        return {p.stem for p in self.submitted(student).glob("*.ipynb")
                if not (self.is_optional(p.stem) and self.untouched(p))}

    def untouched(self, path: Path) -> bool:
        """True when the notebook at ``path`` still holds the released text in every answer cell
        (False when either notebook cannot be read: then it is graded as it is)."""
        import nbformat

        try:
            return nbmeta.untouched(nbformat.read(path, as_version=4),
                                    nbformat.read(self.release_dir / path.name, as_version=4))
        except Exception:  # noqa: BLE001  an unreadable file is graded (and reported) as usual
            return False


def check_result(result: dict[str, Any], what: str) -> dict[str, Any]:
    """Raise RuntimeError with nbgrader's own log when an NbGraderAPI call failed."""
    if not result.get("success"):
        detail = (result.get("error") or "") + (result.get("log") or "")
        raise RuntimeError(f"nbgrader {what} failed:\n{detail.strip()}")
    return result
