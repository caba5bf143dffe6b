"""`grade`: nbgrader autograde in the sandboxed kernel, then the trusted verdict, per submission.

One job (a worker process) grades one whole submission: nbgrader's autograde runs its notebooks
(in-kernel tests, gradebook), then ``autograder.verdict.trusted_verdict`` scores every item in an
isolated process the student's code cannot touch, and the trusted score replaces nbgrader's
auto_score of cell ``test_<function>``. Manual scores are never written. Where the in-kernel
result disagrees, the trusted one counts and the submission is flagged with the reason.

Resuming: a submission's JSON report is written last, atomically, with a fingerprint of what was
graded (submitted files, grading settings); a re-run skips submissions whose report matches, so
killing ``grade`` mid-batch loses nothing and counts nothing twice.
"""
import hashlib
import json
import multiprocessing
import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry

from autograder import kernel
from autograder.course import Course, check_result, use_sandbox_kernels

REPORT_VERSION = 1
FLAG_NAMES = ("tamper_suspected", "timeout", "crashed", "memory", "output_too_large", "unreadable",
              "malformed", "missing_notebook", "in_kernel_disagrees")


# What nbgrader's log says when the in-kernel run hit a limit.
LOG_SIGNS = {"timeout": "CellTimeoutError", "crashed": "DeadKernelError"}


def default_jobs(cfg):
    return cfg.workers or os.cpu_count() or 1


def items_of(cfg, notebook):
    """Graded functions of a notebook with their points: {function: points}."""
    return {k.partition(":")[2]: v for k, v in cfg.points.items() if k.partition(":")[0] == notebook}


def fingerprint(course, student, run_experiments=False):
    """What decides a submission's grade: its files, the source notebooks and the grading settings."""
    h = hashlib.sha256()
    settings = {"points": course.cfg.points, "tolerances": course.cfg.tolerances,
                "notebooks": course.cfg.notebooks, "version": REPORT_VERSION}
    if run_experiments:  # the autograded notebooks differ (they hold the experiments' output)
        settings["run_experiments"] = True
    h.update(json.dumps(settings, sort_keys=True, default=list).encode())
    for folder in (course.submitted(student), course.source_dir):
        for path in sorted(Path(folder).rglob("*.ipynb")):
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def report_path(course, student):
    return course.reports_dir / f"{student}.json"


def load_report(course, student):
    try:
        return json.loads(report_path(course, student).read_text())
    except (OSError, ValueError):
        return None


def write_json(path, data):
    """Write atomically: a killed grader leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


# ---- the trusted verdict -------------------------------------------------------------------

def notebook_problem(path):
    """A reason the notebook cannot be graded at all, or None."""
    if not path.exists():
        return "missing_notebook", f"{path.name} was not submitted"
    try:
        nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several kinds for broken files
        return "malformed", f"{path.name} is not a readable notebook ({type(err).__name__})"
    return None


def _item(item_id, score, max_score, message, decided_by="trusted"):
    return {"id": item_id, "score": min(max(float(score), 0.0), max_score),
            "max_score": max_score, "decided_by": decided_by, "message": message}


def trusted(course, student):
    """({item id: item dict}, flags, notes) for every graded item; never raises.

    All readable notebooks of the submission go to one isolated worker
    (``autograder.verdict.grade_submission``)."""
    from autograder import verdict
    flags, notes, paths, items = {}, [], {}, {}
    for notebook in course.cfg.notebooks:
        path = course.submitted(student) / f"{notebook}.ipynb"
        problem = notebook_problem(path)
        if problem:
            flags[problem[0]] = True
            notes.append(problem[1])
            items |= {f"{notebook}:{fn}": _item(f"{notebook}:{fn}", 0, pts, problem[1])
                      for fn, pts in items_of(course.cfg, notebook).items()}
        else:
            paths[notebook] = path
    try:
        result = verdict.grade_submission(paths, course.cfg, student=student)
        for v in result.items:
            items[v.item] = _item(v.item, v.score, v.max_score, v.message, v.decided_by)
        flags |= {k: True for k, on in result.flags.items() if on}
        notes += list(result.reasons) + list(result.messages)
    except Exception as err:
        flags["crashed"] = True
        notes.append(f"the trusted grader failed: {type(err).__name__}: {err}")
    for key, pts in course.cfg.points.items():
        items.setdefault(key, _item(key, 0, pts, "no verdict for this item"))
    return items, flags, notes


# ---- nbgrader ------------------------------------------------------------------------------

def autograde(course, student, attempts=3, run_experiments=False):
    """nbgrader autograde of one submission in the sandboxed kernel; returns nbgrader's log.

    Experiment cells (no points) are skipped unless ``run_experiments``."""
    api = course.api(sandbox=True, run_experiments=run_experiments)
    for attempt in range(attempts):
        result = api.autograde(course.assignment, student, force=True, create=True)
        text = (result.get("log") or "") + (result.get("error") or "")
        if result.get("success") or "database is locked" not in text:
            return result
        time.sleep(1 + attempt)  # another job held the SQLite gradebook: try again
    return result


def in_kernel_outcomes(course, student, notebook):
    """Flags from the autograded notebook's outputs (timeouts, dead kernel)."""
    path = course.autograded(student) / f"{notebook}.ipynb"
    flags = {}
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return flags
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                if "Timeout" in out.get("ename", ""):
                    flags["timeout"] = True
                if "DeadKernel" in out.get("ename", ""):
                    flags["crashed"] = True
    return flags


def record(course, student, items_by_nb):
    """Write trusted scores as auto_scores; returns ({item id: in-kernel score}, totals, manual)."""
    in_kernel, manual = {}, []
    with course.gradebook() as gb:
        gb.update_or_create_student(student)
        try:
            submission = gb.find_submission(course.assignment, student)
        except MissingEntry:  # autograde stopped before creating it
            submission = gb.update_or_create_submission(course.assignment, student)
        for notebook, items in items_by_nb.items():
            for fn, item in items.items():
                try:
                    grade = gb.find_grade(f"test_{fn}", notebook, course.assignment, student)
                except Exception:  # the notebook or cell is not in the gradebook (not released)
                    continue
                in_kernel[item["id"]] = grade.auto_score
                grade.auto_score = item["score"]
                grade.needs_manual_grade = grade.manual_score is not None
            gb.db.commit()
        for nb in submission.notebooks:
            for g in nb.grades:
                if g.cell.cell_type == "markdown" or g.manual_score is not None:
                    manual.append({"id": f"{nb.name}:{g.name}", "score": g.score,
                                   "max_score": g.max_score, "manual_score": g.manual_score})
        gb.db.refresh(submission)
        totals = (float(submission.score), float(submission.max_score))
    return in_kernel, totals, manual


def grade_one(course, student, run_experiments=False):
    """Grade one submission end to end and write its report; returns the report."""
    started = time.time()
    result = autograde(course, student, run_experiments=run_experiments)
    notes = [] if result.get("success") else [
        "nbgrader autograde did not finish: " + _last_error(result)]
    nbgrader_s = time.time() - started
    items, flags, trusted_notes = trusted(course, student)
    log = (result.get("log") or "") + (result.get("error") or "")
    flags |= {name: True for name, sign in LOG_SIGNS.items() if sign in log}
    notes += trusted_notes
    for notebook in course.cfg.notebooks:
        for key, value in in_kernel_outcomes(course, student, notebook).items():
            flags[key] = flags.get(key) or value
    by_notebook = {}
    for item_id, item in items.items():
        notebook, _, fn = item_id.partition(":")
        by_notebook.setdefault(notebook, {})[fn] = item
    in_kernel, (score, max_score), manual = record(course, student, by_notebook)
    for item in items.values():
        kernel_score = in_kernel.get(item["id"])
        item["in_kernel_score"] = kernel_score
        if kernel_score is not None and abs(kernel_score - item["score"]) > 1e-9:
            notes.append(f"{item['id']}: the notebook's own tests gave {kernel_score:g}/"
                         f"{item['max_score']:g}, the trusted grader {item['score']:g} "
                         "(the trusted score counts)")
            flags["in_kernel_disagrees"] = True
            if kernel_score > item["score"]:
                flags["tamper_suspected"] = True
    report = {"student": student, "assignment": course.assignment, "score": score,
              "max_score": max_score, "items": [items[k] for k in course.cfg.points], "manual": manual,
              "flags": {name: False for name in FLAG_NAMES} | {k: bool(v) for k, v in flags.items()},
              "notes": list(dict.fromkeys(notes)),
              "fingerprint": fingerprint(course, student, run_experiments),
              "seconds": round(time.time() - started, 2), "nbgrader_seconds": round(nbgrader_s, 2)}
    write_json(report_path(course, student), report)
    return report


def _last_error(result):
    """The most telling line of a failed nbgrader run (an exception line, else the last one)."""
    lines = [l.strip() for l in ((result.get("log") or "") + (result.get("error") or "")).splitlines()]
    errors = [l for l in lines if ("Error:" in l or "Exception:" in l) and "NbGraderException" not in l]
    return (errors or [l for l in lines if l] or ["unknown error"])[-1]


def _grade_job(cfg, root, student, run_experiments=False):
    """Process-pool entry point: never raises, so one submission cannot stop the batch."""
    course = Course(cfg, Path(root))
    try:
        return grade_one(course, student, run_experiments)
    except Exception as err:
        report = {"student": student, "assignment": course.assignment, "score": 0.0,
                  "max_score": course.cfg.max_score, "items": [], "manual": [],
                  "flags": {name: name == "crashed" for name in FLAG_NAMES},
                  "notes": [f"grading failed: {type(err).__name__}: {err}",
                            traceback.format_exc(limit=3)], "fingerprint": None}
        write_json(report_path(course, student), report)
        return report


def pending(course, students, force=False, run_experiments=False):
    """Students whose report is missing or stale (resume point of a killed batch)."""
    if force:
        return list(students)
    todo = []
    for student in students:
        report = load_report(course, student)
        if not report or report.get("fingerprint") != fingerprint(course, student, run_experiments):
            todo.append(student)
    return todo


def grade(course, students=None, jobs=None, force=False, progress=True, run_experiments=False):
    """Grade collected submissions in parallel; returns {student: report} for all asked.

    ``run_experiments=True`` also runs the experiment cells in nbgrader's pass (slower; their
    plots then appear in the autograded notebooks and the formgrader). Scores do not change."""
    everyone = course.students()
    students = list(students) if students else everyone
    unknown = sorted(set(students) - set(everyone))
    if unknown:
        raise ValueError(f"grade: --student {unknown} has no collected submission; "
                         f"collected: {everyone}")
    kernel.install(course)
    use_sandbox_kernels(course)
    todo = pending(course, students, force, run_experiments)
    jobs = max(1, min(jobs or default_jobs(course.cfg), len(todo) or 1))
    if todo:
        bar = _progress(len(todo), progress)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_grade_job, course.cfg, str(course.root), s, run_experiments)
                       for s in todo]
            for future in as_completed(futures):
                future.result()
                bar.update(1)
        bar.close()
    return {s: load_report(course, s) for s in students}


def _progress(total, enabled):
    from tqdm import tqdm
    return tqdm(total=total, desc="grading", unit="submission", disable=not enabled)
