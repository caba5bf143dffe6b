"""`feedback`: nbgrader generate_feedback with the course's two feedback steps.

``HideHiddenTests`` and ``TrustedVerdicts`` (autograder.nbgrader_glue.preprocessors) come from
the one nbgrader config: no hidden test source in the HTML, the trusted verdict under each test.
"""
from __future__ import annotations

from pathlib import Path

from autograder.course import Course, check_result


def generate(course: Course, student: str | None = None) -> list[Path]:
    """Feedback HTML for one student or all graded ones; returns the HTML files written."""
    api = course.api(sandbox=False)
    check_result(api.generate_feedback(course.assignment, student), "generate_feedback")
    base = course.feedback_dir()
    pattern = f"{student}/{course.assignment}/*.html" if student else f"*/{course.assignment}/*.html"
    return sorted(base.glob(pattern))
