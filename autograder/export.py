"""`export`: grades.csv and one JSON report per submission, from the gradebook.

Scores are read from the gradebook at export time, so manual grades entered in formgrader after
`grade` are merged in: an item's score is its manual score where a grader gave one, else the
trusted auto score. Messages, flags and how each item was decided come from `grade`'s reports.
"""
import csv
import json

from autograder.grade import load_report, write_json


def gradebook_scores(course, student):
    """({"<notebook>:<grade id>": (score, max_score, manual_score)}, total, max total) or None."""
    with course.gradebook() as gb:
        try:
            submission = gb.find_submission(course.assignment, student)
        except Exception:  # nbgrader's MissingEntry: never graded
            return None
        cells = {f"{nb.name}:{g.name}": (float(g.score), float(g.max_score), g.manual_score)
                 for nb in submission.notebooks for g in nb.grades}
        return cells, float(submission.score), float(submission.max_score)


def merged_report(course, student):
    """The report of ``student`` with scores taken from the gradebook (manual grades merged)."""
    report = load_report(course, student)
    scores = gradebook_scores(course, student)
    if report is None or scores is None:
        return None
    cells, total, max_total = scores
    items = []
    for item in report["items"]:
        notebook, _, fn = item["id"].partition(":")
        score, max_score, manual = cells.get(f"{notebook}:test_{fn}",
                                             (item["score"], item["max_score"], None))
        decided = "manual" if manual is not None else item["decided_by"]
        items.append(item | {"score": score, "max_score": max_score, "decided_by": decided})
    graded = {i["id"].replace(":", ":test_", 1) for i in report["items"]}
    for key, (score, max_score, manual) in sorted(cells.items()):
        if key not in graded:
            items.append({"id": key, "score": score, "max_score": max_score,
                          "decided_by": "manual" if manual is not None else "awaiting manual grade",
                          "message": ""})
    keep = ("student", "assignment", "flags", "notes")
    return {k: report[k] for k in keep if k in report} | {
        "score": total, "max_score": max_total, "items": items}


def export(course, out_dir=None):
    """Write grades.csv and <student>.json files; returns the CSV path."""
    out = course.export_dir / course.assignment if out_dir is None else out_dir
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for student in course.students():
        report = merged_report(course, student)
        if report is None:
            continue
        write_json(out / f"{student}.json", report)
        flags = [name for name, on in sorted(report["flags"].items()) if on]
        row = {"student": student, "assignment": course.assignment, "score": report["score"],
               "max_score": report["max_score"], "flags": ";".join(flags)}
        row |= {item["id"]: item["score"] for item in report["items"]}
        rows.append(row)
    path = out / "grades.csv"
    columns = ["student", "assignment", "score", "max_score", "flags"]
    for row in rows:
        columns += [k for k in row if k not in columns]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def table(reports, messages=True):
    """The grade table as text: one line per submission, then its flagged or failed items."""
    lines = [f"{'student':<22}{'score':>14}  {'autograded':>12}  {'awaiting manual':>15}  flags"]
    for report in sorted((r for r in reports if r), key=lambda r: r["student"]):
        flags = ", ".join(name for name, on in sorted(report["flags"].items()) if on) or "-"
        auto = [i for i in report["items"] if i.get("decided_by") == "trusted"]
        waiting = sum(i["max_score"] for i in report["items"]
                      if i.get("decided_by") == "awaiting manual grade")
        auto_text = f"{sum(i['score'] for i in auto):g} / {sum(i['max_score'] for i in auto):g}"
        lines.append(f"{report['student']:<22}{report['score']:>6g} / {report['max_score']:<5g}  "
                     f"{auto_text:>12}  {f'{waiting:g} pts' if waiting else '-':>15}  {flags}")
        if messages:
            for item in report["items"]:
                if item["score"] < item["max_score"] and item.get("decided_by") != "awaiting manual grade":
                    lines.append(f"    {item['id']}: {item['score']:g}/{item['max_score']:g}  "
                                 f"{item['message'].splitlines()[0] if item['message'] else ''}")
            lines += [f"    note: {note}" for note in report.get("notes", []) if "Traceback" not in note]
    return "\n".join(lines)
