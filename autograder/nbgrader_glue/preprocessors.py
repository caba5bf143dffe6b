"""The course's steps inside nbgrader's converters (configured by ``config.build``).

- ``SkipExperiments`` (autograde): demonstration cells -- training runs, sweeps, heatmaps,
  plots, tagged by ``authoring.cells.code(..., experiment=True)`` -- earn no points but take most
  of a notebook's run time, so their source becomes a one-line comment before Execute. Answer,
  test and locked cells are never skipped, whatever their metadata says.
- ``HideHiddenTests`` (feedback): nbgrader's feedback shows the autograded notebook, which holds
  the instructor's test cells -- hidden tests included -- and their tracebacks quote the failing
  lines. It removes the hidden region from test cells and reduces their error outputs to the
  error line.
- ``TrustedVerdicts`` (feedback): under each test cell, the trusted grader's score and message
  (first diverging step, likely misconception), which is what the points came from.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool, Unicode

from autograder import nbmeta, reports
from autograder.reports import ItemId

SKIPPED = "# (experiment cell: not run while grading; it earns no points)"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class SkipExperiments(Preprocessor):
    """Replace the source of every experiment cell by ``SKIPPED`` (outputs cleared)."""

    # nbconvert runs a registered preprocessor only when enabled (its default is off).
    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int
                        ) -> tuple[NotebookNode, dict]:
        if nbmeta.is_experiment(cell):
            cell.source = SKIPPED
            cell.outputs = []
            cell.execution_count = None
        return cell, resources


def scrub(text: str, hidden: list[str]) -> str:
    for line in hidden:
        text = text.replace(line, "[hidden test]")
    return text


class HideHiddenTests(Preprocessor):
    """Remove hidden test source from test cells, and from what their outputs quote."""

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int
                        ) -> tuple[NotebookNode, dict]:
        if not nbmeta.is_test_cell(cell):
            return cell, resources
        cell.source, hidden = nbmeta.split_region(cell.source)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["evalue"] = scrub(ANSI.sub("", out.get("evalue", "")), hidden)
                out["traceback"] = [f"{out.get('ename', 'Error')}: {out['evalue']}"]
            elif out.get("output_type") == "stream":
                out["text"] = scrub(out.get("text", ""), hidden)
        return cell, resources


class TrustedVerdicts(Preprocessor):
    """Put the trusted grader's score and message under each autograded test cell."""

    enabled = Bool(True).tag(config=True)
    reports_dir = Unicode("", help="Folder of the per-submission JSON reports").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]
                   ) -> tuple[NotebookNode, dict]:
        info = resources.get("nbgrader", {})
        report = reports.load(Path(self.reports_dir) / f"{info.get('student')}.json") \
            if self.reports_dir else None
        if report is None:
            return nb, resources
        items = {i.id: i for i in report.items}
        cells = []
        for cell in nb.cells:
            cells.append(cell)
            if not nbmeta.is_test_cell(cell):
                continue
            item = items.get(str(ItemId.of_cell(info.get("notebook", ""), nbmeta.grade_id(cell) or "")))
            if item:
                text = (f"**Trusted grader: {item.score:g} / {item.max_score:g} points.** "
                        f"{item.message}")
                cells.append(nbformat.v4.new_markdown_cell(text))
        nb.cells = cells
        return nb, resources
