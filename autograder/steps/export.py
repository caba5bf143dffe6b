"""`export`: grades.csv and one JSON report per submission, from the gradebook.

Scores are read from the gradebook at export time, so manual grades entered in formgrader after
`grade` are merged in: an item's score is its manual score where a grader gave one, else the
trusted auto score. Messages, flags and how each item was decided come from `grade`'s reports.
"""
from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterable
from pathlib import Path

from nbgrader.api import MissingEntry

from autograder import reports
from autograder.course import Course
from autograder.reports import AWAITING, CHANGED, MANUAL, SKIPPED, TRUSTED, ItemId, ItemResult, Report

# (score, max_score, manual score or None) of each gradebook cell, keyed by item id.
CellScores = dict[str, tuple[float, float, float | None]]


def gradebook_scores(course: Course, student: str) -> tuple[CellScores, float, float] | None:
    """({item id: (score, max_score, manual_score)}, total, max total), or None if never graded."""
    with course.gradebook() as gb:
        try:
            submission = gb.find_submission(course.assignment, student)
        except MissingEntry:
            return None
        cells = {str(ItemId.of_cell(nb.name, g.name)): (float(g.score), float(g.max_score),
                                                        g.manual_score)
                 for nb in submission.notebooks for g in nb.grades}
        return (cells, *course.totals(submission))


def merged_report(course: Course, student: str) -> Report | None:
    """The report of ``student`` with scores taken from the gradebook (manual grades merged)."""
    report = reports.load(course.report_path(student))
    scores = gradebook_scores(course, student)
    if report is None or scores is None:
        return None
    cells, total, max_total = scores
    items, notes = [], list(report.notes)
    for item in report.items:
        score, max_score, manual = cells.get(item.id, (item.score, item.max_score, None))
        decided = MANUAL if manual is not None else item.decided_by
        if manual is None and item.decided_by == TRUSTED and abs(score - item.score) > 1e-9:
            decided = CHANGED  # something other than `grade` wrote this score
            notes.append(f"{item.id}: the gradebook holds {score:g}, not the trusted {item.score:g}: "
                         "run `python -m autograder grade` to restore the trusted scores")
        items.append(dataclasses.replace(item, score=score, max_score=max_score, decided_by=decided))
    graded, handed_in = {i.id for i in report.items}, course.handed_in(student)
    for key, (score, max_score, manual) in sorted(cells.items()):
        if ItemId.parse(key).notebook not in handed_in and manual is None:
            continue  # not submitted: no written answer to grade (unless a grader gave a score)
        if key not in graded and max_score > 0:  # a 0-point cell (a mark scheme) is no item
            items.append(ItemResult(key, score, max_score,
                                    decided_by=MANUAL if manual is not None else AWAITING))
    return dataclasses.replace(report, score=total, max_score=max_total, items=items, manual=[],
                               notes=notes)


# grades.csv: these columns, then one per graded item ("<notebook>:<item>").
SUMMARY_COLUMNS = ["student", "assignment", "status", "score", "max_score", "autograded",
                   "awaiting_manual", "flags"]
COMPLETE, AWAITING_MANUAL, NOT_GRADED = "complete", "awaiting manual grading", "not graded"


def summary(report: Report) -> dict[str, object]:
    """The CSV's summary columns of one merged report."""
    auto = sum(i.score for i in report.items if i.decided_by == TRUSTED)
    waiting = sum(i.max_score for i in report.items if i.awaiting)
    return {"student": report.student, "assignment": report.assignment,
            "status": AWAITING_MANUAL if waiting else COMPLETE, "score": report.score,
            "max_score": report.max_score, "autograded": round(auto, 6),
            "awaiting_manual": waiting, "flags": ";".join(sorted(report.flagged()))}


def export(course: Course, out_dir: Path | None = None) -> Path:
    """Write grades.csv and <student>.json files; returns the CSV path.

    Every collected student gets a row: one never graded says so (status "not graded") rather
    than vanishing; ``awaiting_manual`` is the points of written answers not graded yet, so a
    score of 17 / 42 reads as 17 with 25 to come, not as a failing grade."""
    out = course.export_dir / course.assignment if out_dir is None else out_dir
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for student in course.students():
        report = merged_report(course, student)
        if report is None:
            rows.append({"student": student, "assignment": course.assignment,
                         "status": NOT_GRADED, "max_score": course.cfg.max_score})
            continue
        reports.save(report, out / f"{student}.json")
        rows.append(summary(report) | {item.id: item.score for item in report.items})
    path = out / "grades.csv"
    columns = list(SUMMARY_COLUMNS)
    for row in rows:
        columns += [k for k in row if k not in columns]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def table(graded: Iterable[Report | None], messages: bool = True) -> str:
    """The grade table as text: one line per submission, then its flagged or failed items."""
    lines = [f"{'student':<22}{'score':>14}  {'autograded':>12}  {'awaiting manual':>15}  flags"]
    for report in sorted((r for r in graded if r), key=lambda r: r.student):
        flags = ", ".join(sorted(report.flagged())) or "-"
        auto = [i for i in report.items if i.decided_by == reports.TRUSTED]
        waiting = sum(i.max_score for i in report.items if i.awaiting)
        auto_text = f"{sum(i.score for i in auto):g} / {sum(i.max_score for i in auto):g}"
        lines.append(f"{report.student:<22}{report.score:>6g} / {report.max_score:<5g}  "
                     f"{auto_text:>12}  {f'{waiting:g} pts' if waiting else '-':>15}  {flags}")
        if messages:
            for item in report.items:
                if item.score < item.max_score and not item.awaiting and item.decided_by != SKIPPED:
                    lines.append(f"    {item.id}: {item.score:g}/{item.max_score:g}  "
                                 f"{item.message.splitlines()[0] if item.message else ''}")
            lines += [f"    note: {note}" for note in report.notes if "Traceback" not in note]
    return "\n".join(lines)
