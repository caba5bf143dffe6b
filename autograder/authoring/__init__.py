"""Notebook authoring: cell builders with the course's conventions, the checks, regeneration.

    from autograder.authoring import answer, build, code, markdown, mark_scheme, setup, solution, tests

(``cells`` holds the builders, ``conventions`` the checks and ``build``, ``regenerate`` the
student versions; ``sources/`` the notebooks' percent-format sources, which ``percent`` reads and
builds: ``python -m autograder.authoring.percent``.)
"""
from autograder.authoring.cells import KERNELSPEC, answer, code, mark_scheme, markdown, setup, solution, tests
from autograder.authoring.conventions import build, check, ends_in_expression

__all__ = ["KERNELSPEC", "answer", "build", "check", "code", "ends_in_expression", "mark_scheme",
           "markdown", "setup", "solution", "tests"]
