"""An nbgrader preprocessor for ``grade``: demonstration cells are not run while grading.

Cells authored with ``code(..., experiment=True)`` (training runs, sweeps, heatmaps, plots) earn
no points but take most of a notebook's run time. ``grade`` puts ``SkipExperiments`` in
nbgrader's ``Autograde.autograde_preprocessors`` just before ``Execute``, so each tagged cell's
source becomes a one-line comment and the kernel runs only what the tests need. Answer, test and
locked cells are never skipped, whatever their metadata says. Plain ``nbgrader autograde`` (the
repository's nbgrader_config.py) does not use it and runs every cell.
"""
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from autograder.authoring import is_experiment

SKIPPED = "# (experiment cell: not run while grading; it earns no points)"


class SkipExperiments(Preprocessor):
    """Replace the source of every experiment cell by ``SKIPPED`` (outputs cleared)."""

    # nbconvert runs a registered preprocessor only when enabled (its default is off).
    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if is_experiment(cell):
            cell.source = SKIPPED
            cell.outputs = []
            cell.execution_count = None
        return cell, resources


def autograde_preprocessors(defaults):
    """nbgrader's autograde steps with ``SkipExperiments`` inserted right before Execute."""
    names = [p if isinstance(p, str) else f"{p.__module__}.{p.__name__}" for p in defaults]
    at = next(i for i, name in enumerate(names) if name.rsplit(".", 1)[-1] == "Execute")
    return [*names[:at], f"{__name__}.SkipExperiments", *names[at:]]
