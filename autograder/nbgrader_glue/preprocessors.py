"""The course's steps inside nbgrader's converters (configured by ``config.build``).

- ``SkipExperiments`` (autograde): demonstration cells -- training runs, sweeps, heatmaps,
  plots, tagged by ``authoring.cells.code(..., experiment=True)`` -- earn no points but take most
  of a notebook's run time, so their source becomes a one-line comment before Execute. Answer,
  test and locked cells are never skipped, whatever their metadata says.

Feedback shows the autograded notebook, which holds the instructor's locked cells as the
gradebook keeps them and the outputs of the graded run, where the hidden tests called the
student's code. So the feedback steps show only what the student could see or wrote themselves,
plus the grader's own words:

- ``HideHiddenTests``: removes the hidden region from test cells (and scrubs what their outputs
  quote of it).
- ``HideInstructorText``: drops mark-scheme task cells and removes every mark-scheme, solution
  and hidden-test region left in any cell.
- ``SubmittedOutputs``: no output of the graded run is shown; student cells show the outputs of
  the notebook they submitted, test cells none.
- ``TrustedVerdicts``: under each test cell, the trusted grader's score (markup) and message
  (first diverging step, likely misconception; escaped text, as it may quote the student).
"""
from __future__ import annotations

import copy
import html
import re
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool, Unicode

from autograder import nbmeta, reports
from autograder.reports import ItemId, ItemResult

SKIPPED = "# (experiment cell: not run while grading; it earns no points)"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
MARK_SCHEME = "MARK SCHEME"
SOLUTION = "SOLUTION"
# Regions of the instructor's notebooks that no student may see (nbgrader strips them from the
# released version; the gradebook keeps locked cells with them).
INSTRUCTOR_REGIONS = (MARK_SCHEME, SOLUTION, nbmeta.HIDDEN_TESTS)


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


class HideInstructorText(Preprocessor):
    """Drop mark schemes and model answers, which nbgrader's feedback would show.

    A mark scheme is a locked task cell whose ``BEGIN/END MARK SCHEME`` region nbgrader strips
    from the student version but keeps in the gradebook, and autograde puts the gradebook's copy
    of locked cells back: so every feedback held it. A task cell with a mark scheme is removed
    whole; every other cell loses its mark-scheme, solution and hidden-test regions, whoever
    wrote them (the instructor's model answers are solution regions of solutions/).
    """

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]
                   ) -> tuple[NotebookNode, dict]:
        kept = []
        for cell in nb.cells:
            source = cell.get("source", "")
            if nbmeta.nbgrader(cell).get("task") and nbmeta.without_region(source, MARK_SCHEME) != source:
                continue
            for name in INSTRUCTOR_REGIONS:
                source = nbmeta.without_region(source, name)
            cell.source = source
            kept.append(cell)
        nb.cells = kept
        return nb, resources


class SubmittedOutputs(Preprocessor):
    """Show the outputs of the notebook the student submitted, never those of the graded run.

    In the graded run the hidden tests call the student's functions, which can read the calling
    cell's source (inspect, linecache) or the reference's files and print them in any disguise:
    no scrubbing of literal lines can catch that. The submitted notebook was run in the student's
    own environment, where no hidden test or reference existed. So test cells show no output (the
    trusted verdict under them says what happened), every other code cell shows the outputs of
    its submitted counterpart (matched by nbgrader grade_id, else by cell id) or none, and when
    the submitted notebook cannot be read no cell shows any output.
    """

    enabled = Bool(True).tag(config=True)
    submitted_dir = Unicode(
        "", help="nbgrader's submitted folder: <submitted_dir>/<student>/<assignment>/<notebook>.ipynb"
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]
                   ) -> tuple[NotebookNode, dict]:
        submitted = self.submitted(resources.get("nbgrader", {}))
        by_key = {}
        for cell in submitted.cells if submitted is not None else []:
            if cell.get("cell_type") == "code" and cell_key(cell) is not None:
                by_key.setdefault(cell_key(cell), cell)
        for cell in nb.cells:
            if cell.get("cell_type") != "code":
                continue
            twin = None if nbmeta.is_test_cell(cell) else by_key.get(cell_key(cell))
            cell.outputs = copy.deepcopy(twin.get("outputs", [])) if twin is not None else []
            cell.execution_count = twin.get("execution_count") if twin is not None else None
        return nb, resources

    def submitted(self, info: dict[str, Any]) -> NotebookNode | None:
        """The submitted notebook, or None when it is missing, unreadable or not a valid notebook."""
        names = [info.get(k) for k in ("student", "assignment", "notebook")]
        if not self.submitted_dir or not all(isinstance(n, str) and n for n in names):
            return None
        student, assignment, notebook = names
        path = Path(self.submitted_dir) / student / assignment / f"{notebook}.ipynb"
        try:
            nb = nbformat.read(path, as_version=4)
            nbformat.validate(nb)
        except Exception as exc:  # noqa: BLE001 -- whatever fails, no output is shown
            self.log.warning("feedback: no outputs shown for %s (%s: %s)", path, type(exc).__name__, exc)
            return None
        return nb


def cell_key(cell: NotebookNode) -> tuple[str, str] | None:
    """How a cell is matched between notebooks: its nbgrader grade_id, else its cell id."""
    if nbmeta.grade_id(cell):
        return "grade_id", str(nbmeta.grade_id(cell))
    return ("id", str(cell["id"])) if cell.get("id") else None


def verdict_cell(item: ItemResult) -> NotebookNode:
    """A raw HTML cell: the grader's score line as markup, the message as escaped text (it can
    quote the student, e.g. an exception message), so nothing the student wrote is markup."""
    score = f"{reports.VERDICT_PREFIX} {item.score:g} / {item.max_score:g} points."
    # Only tags nbconvert's clean_html keeps (it escapes <p>, for one).
    body = f'<div class="trusted-verdict"><div><strong>{html.escape(score)}</strong></div>'
    if item.message:
        body += f"<pre>{html.escape(item.message)}</pre>"
    return nbformat.v4.new_raw_cell(body + "</div>", metadata={"raw_mimetype": "text/html"})


class TrustedVerdicts(Preprocessor):
    """Put the trusted grader's score and message under each autograded test cell.

    The message is escaped text in a raw HTML cell (``verdict_cell``): it can quote the
    student's exception text, which must never render as markup or as a score line.
    """

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
            # `grade` also wrote the verdict as the auto comment of the student's code cell (for
            # formgrader); here the escaped verdict cell shows it, so the comment would repeat it
            # as markdown. A grader's own comment takes precedence in the gradebook and stays.
            meta = cell.metadata.get("nbgrader", {})
            if str(meta.get("comment") or "").startswith(reports.VERDICT_PREFIX):
                meta["comment"] = None
            if not nbmeta.is_test_cell(cell):
                continue
            item = items.get(str(ItemId.of_cell(info.get("notebook", ""), nbmeta.grade_id(cell) or "")))
            if item:
                cells.append(verdict_cell(item))
        nb.cells = cells
        return nb, resources
