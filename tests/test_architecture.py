"""The rules of the house (ARCHITECTURE.md), checked on the source: who may import whom."""
import sys

import pytest

from autograder.steps.release import top_imports
from course_config import ROOT

STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def imports(path):
    """Top-level package names and full dotted modules imported anywhere in ``path``."""
    return top_imports(path.read_text())


def files(folder):
    return sorted((ROOT / folder).rglob("*.py")) if (ROOT / folder).is_dir() else [ROOT / folder]


def outside(path, allowed):
    return sorted(m for m in imports(path) if not any(m == a or m.startswith(a + ".")
                                                      for a in allowed))


@pytest.mark.parametrize("folder", ["wdlab", "data_gen", "course_config.py"])
def test_student_visible_code_never_imports_the_grader(folder):
    for path in files(folder):
        assert not [m for m in imports(path) if m.split(".")[0] == "autograder"], path


def test_code_inside_the_sandbox_imports_only_what_it_is_given():
    assert outside(ROOT / "autograder/trusted/protocol.py", STDLIB) == []
    # the executor: numpy and torch (sympy for symbolic cases); never the grader or the course
    assert outside(ROOT / "autograder/trusted/executor.py", STDLIB | {"numpy", "torch", "sympy"}) == []
    # the in-kernel hidden tests see autograder/reference only (and the student-visible code)
    for path in files("autograder/reference"):
        assert outside(path, STDLIB | {"torch", "numpy", "course_config", "autograder.reference"}) \
            == [], path


def test_isolation_is_reusable_and_knows_no_course():
    for path in files("autograder/isolation"):
        assert outside(path, STDLIB | {"autograder.isolation"}) == [], path


@pytest.mark.parametrize("room,forbidden", [
    ("autograder/trusted", ("autograder.steps", "autograder.tools", "autograder.authoring",
                            "autograder.cli", "nbgrader")),
    ("autograder/steps", ("autograder.tools", "autograder.authoring", "autograder.cli")),
    ("autograder/nbgrader_glue", ("autograder.steps", "autograder.tools", "autograder.authoring",
                                  "autograder.trusted")),
    ("autograder/reports.py", ("autograder.",)),
    ("autograder/nbmeta.py", ("autograder.",)),
])
def test_rooms_import_downwards_only(room, forbidden):
    for path in files(room):
        bad = [m for m in imports(path) if m.startswith(forbidden)]
        assert not bad, (path, bad)
