"""`feedback`: nbgrader generate_feedback, plus two steps of our own.

nbgrader's feedback shows the autograded notebook, which holds the instructor's test cells --
hidden tests included -- and their tracebacks quote the failing lines. ``HideHiddenTests``
removes the hidden region from test cells and reduces their error outputs to the error line.
``TrustedVerdicts`` adds, under each test cell, the trusted grader's score and message (first
diverging step, likely misconception), which is what the points came from.
"""
import json
import re
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder.course import check_result

BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def split_hidden(source):
    """(source without hidden regions, the hidden lines)."""
    keep, hidden, inside = [], [], False
    for line in source.split("\n"):
        if BEGIN in line:
            inside = True
        elif END in line:
            inside = False
        elif inside:
            hidden.append(line)
        else:
            keep.append(line)
    return "\n".join(keep), [h.strip() for h in hidden if h.strip()]


def is_test_cell(cell):
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def scrub(text, hidden):
    for line in hidden:
        text = text.replace(line, "[hidden test]")
    return text


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden test source from test cells, and from what their outputs quote."""

    def preprocess_cell(self, cell, resources, index):
        if not is_test_cell(cell):
            return cell, resources
        cell.source, hidden = split_hidden(cell.source)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["evalue"] = scrub(ANSI.sub("", out.get("evalue", "")), hidden)
                out["traceback"] = [f"{out.get('ename', 'Error')}: {out['evalue']}"]
            elif out.get("output_type") == "stream":
                out["text"] = scrub(out.get("text", ""), hidden)
        return cell, resources


class TrustedVerdicts(NbGraderPreprocessor):
    """Put the trusted grader's score and message under each autograded test cell."""

    reports_dir = Unicode("", help="Folder of the per-submission JSON reports").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        report = Path(self.reports_dir) / f"{info.get('student')}.json"
        if not self.reports_dir or not report.exists():
            return nb, resources
        items = {i["id"]: i for i in json.loads(report.read_text()).get("items", [])}
        cells = []
        for cell in nb.cells:
            cells.append(cell)
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
            item = items.get(f"{info.get('notebook')}:{grade_id.removeprefix('test_')}")
            if is_test_cell(cell) and item:
                text = (f"**Trusted grader: {item['score']:g} / {item['max_score']:g} points.** "
                        f"{item['message']}")
                cells.append(nbformat.v4.new_markdown_cell(text))
        nb.cells = cells
        return nb, resources


def generate(course, student=None):
    """Feedback HTML for one student or all graded ones; returns the HTML files written."""
    api = course.api(sandbox=False)  # course.nbgrader_config adds the two steps above
    check_result(api.generate_feedback(course.assignment, student), "generate_feedback")
    base = course.feedback_dir()
    pattern = f"{student}/{course.assignment}/*.html" if student else f"*/{course.assignment}/*.html"
    return sorted(base.glob(pattern))
