"""`feedback`: nbgrader generate_feedback with the course's feedback steps.

The steps (autograder.nbgrader_glue.preprocessors, from the one nbgrader config) keep hidden
tests, mark schemes and model answers out of the HTML, show the outputs the student submitted
rather than those of the graded run, and put the trusted verdict under each test.
"""
from __future__ import annotations

from pathlib import Path

from autograder.course import Course, check_result

# nbgrader copies every other file of the autograded folder into the feedback folder, as the
# instructor. That folder was the graded kernel's working folder: a submission can leave there
# what it read while the hidden tests ran, or a symlink to an instructor file. So feedback
# copies none of them (patterns match file names; "*" skips dotfiles) and is the HTML only.
COPY_NO_FILES = ["*", ".*"]


def generate(course: Course, student: str | None = None) -> list[Path]:
    """Feedback HTML for one student or all graded ones; returns the HTML files written."""
    api = course.api(sandbox=False)
    api.coursedir.ignore = [*api.coursedir.ignore, *COPY_NO_FILES]
    check_result(api.generate_feedback(course.assignment, student), "generate_feedback")
    base = course.feedback_dir()
    pattern = f"{student}/{course.assignment}/*.html" if student else f"*/{course.assignment}/*.html"
    return sorted(base.glob(pattern))
