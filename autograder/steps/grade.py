"""`grade`: nbgrader autograde in the sandboxed kernel, then the trusted verdict, per submission.

One job (a worker process) grades one whole submission: nbgrader's autograde runs its notebooks
(in-kernel tests, gradebook), then ``autograder.trusted.pipeline.grade_submission`` scores every
item in an isolated process the student's code cannot touch, and the trusted score replaces
nbgrader's auto_score of cell ``test_<function>``. Manual scores are never written. Where the
in-kernel result disagrees, the trusted one counts and the submission is flagged with the reason.

Resuming: a submission's JSON report is written last, atomically, with a fingerprint of what was
graded (submitted files, grading settings); a re-run skips submissions whose report matches, so
killing ``grade`` mid-batch loses nothing and counts nothing twice.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import json
import logging
import multiprocessing
import os
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.api import MissingEntry

from autograder import nbmeta, reports
from autograder.course import Course
from autograder.isolation import kernel, sandbox
from autograder.nbgrader_glue import process
from autograder.reports import AWAITING, MANUAL, ItemId, ItemResult, Report, Verdict
from autograder.trusted import extract
from course_config import CourseConfig

REPORT_VERSION = 1
# What nbgrader's log says when the in-kernel run hit a limit.
LOG_SIGNS = {"timeout": "CellTimeoutError", "crashed": "DeadKernelError"}


def default_jobs(cfg: CourseConfig) -> int:
    return cfg.workers or os.cpu_count() or 1


def fingerprint(course: Course, student: str, run_experiments: bool = False) -> str:
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


def load_report(course: Course, student: str) -> Report | None:
    return reports.load(course.report_path(student))


# ---- the trusted verdict -------------------------------------------------------------------

def notebook_problem(path: Path) -> tuple[str, str] | None:
    """(flag, reason) when the notebook cannot be graded at all, else None."""
    if not path.exists():
        return "missing_notebook", f"{path.name} was not submitted"
    try:
        nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001  nbformat raises many unrelated types for broken files
        return "malformed", f"{path.name} is not a readable notebook ({type(err).__name__})"
    return None


def trusted(course: Course, student: str) -> Verdict:
    """The trusted verdict of every graded item of the submission; never raises.

    All readable notebooks go to one isolated worker (``trusted.pipeline.grade_submission``);
    a missing or unreadable notebook's items get 0 with the reason; an optional notebook left
    out or handed back untouched gets 0 as "not attempted", with no flag."""
    from autograder.trusted import pipeline

    verdict, paths, missing = Verdict(student), {}, []
    handed_in = course.handed_in(student)
    for notebook in course.cfg.notebooks:
        path = course.submitted(student) / f"{notebook}.ipynb"
        if course.is_optional(notebook) and notebook not in handed_in:
            # leaving out an optional notebook (or handing it back untouched) is no problem to
            # flag: its points are a bonus, and its items are marked as not attempted
            missing += [ItemResult(str(ItemId(notebook, fn)), 0, pts, decided_by=reports.SKIPPED,
                                   message=f"{path.name} is optional and was not attempted: its "
                                           f"{pts:g} points are a bonus, nothing is lost")
                        for fn, pts in reports.items_of(course.cfg.points, notebook).items()]
            continue
        problem = notebook_problem(path)
        if problem:
            verdict.flag(*problem)
            missing += [ItemResult(str(ItemId(notebook, fn)), 0, pts, message=problem[1])
                        for fn, pts in reports.items_of(course.cfg.points, notebook).items()]
        else:
            paths[notebook] = path
    try:
        result = pipeline.grade_submission(paths, course.cfg, student=student, root=course.root)
        verdict.items, verdict.isolation = result.items, result.isolation
        for name in (n for n, on in result.flags.items() if on):
            verdict.flags[name] = True
        verdict.reasons += result.reasons
        verdict.messages += result.messages
    except Exception as err:  # noqa: BLE001  the grader's own failure: recorded, never a lost batch
        verdict.flag("crashed", f"the trusted grader failed: {type(err).__name__}: {err}")
    have = {i.id for i in verdict.items}
    verdict.items += [i for i in missing if i.id not in have]
    have |= {i.id for i in missing}
    verdict.items += [ItemResult(key, 0, pts, message="no verdict for this item")
                      for key, pts in course.cfg.points.items() if key not in have]
    order = list(course.cfg.points)
    verdict.items.sort(key=lambda i: order.index(i.id) if i.id in order else len(order))
    return verdict


# ---- nbgrader ------------------------------------------------------------------------------

def autograde(course: Course, student: str, attempts: int = 3, run_experiments: bool = False
              ) -> dict[str, Any]:
    """nbgrader autograde of one submission in the sandboxed kernel; returns nbgrader's result.

    Experiment cells (no points) are skipped unless ``run_experiments``. A submission without
    any notebook is not given to nbgrader (it would fail): the trusted verdict says what is
    missing."""
    if not any(course.submitted(student).glob("*.ipynb")):
        return {"success": True, "log": ""}
    sockets = Path(tempfile.mkdtemp(prefix="wdk-"))  # short: a socket path has ~100 characters
    try:
        api = course.api(sandbox=True, run_experiments=run_experiments, sockets=sockets)
        for attempt in range(attempts):
            result = api.autograde(course.assignment, student, force=True, create=True)
            text = (result.get("log") or "") + (result.get("error") or "")
            if result.get("success") or "database is locked" not in text:
                return result
            time.sleep(1 + attempt)  # another job held the SQLite gradebook: try again
        return result
    finally:
        sandbox.remove_tree(sockets)


def in_kernel_outcomes(course: Course, student: str, notebook: str) -> dict[str, bool]:
    """Flags from the autograded notebook's outputs (timeouts, dead kernel)."""
    path = course.autograded(student) / f"{notebook}.ipynb"
    flags: dict[str, bool] = {}
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):  # autograde stopped before writing it
        return flags
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                if "Timeout" in out.get("ename", ""):
                    flags["timeout"] = True
                if "DeadKernel" in out.get("ename", ""):
                    flags["crashed"] = True
    return flags


def record(course: Course, student: str, verdict: Verdict
           ) -> tuple[dict[str, float], tuple[float, float], list[ItemResult]]:
    """Write the trusted scores as auto scores, each item's verdict as the auto comment of the
    cell that defines its function (where formgrader shows it), and a flagged submission as
    flagged; returns ({item id: in-kernel score}, (score, max), the manually graded items)."""
    in_kernel: dict[str, float] = {}
    manual = []
    with course.gradebook() as gb:
        gb.update_or_create_student(student)
        try:
            submission = gb.find_submission(course.assignment, student)
        except MissingEntry:  # autograde stopped before creating it
            submission = gb.update_or_create_submission(course.assignment, student)
        for item in verdict.items:
            ref = item.item
            try:
                grade = gb.find_grade(ref.grade_id, ref.notebook, course.assignment, student)
            except MissingEntry:  # the notebook or cell is not in the gradebook (not released)
                continue
            in_kernel[item.id] = grade.auto_score
            grade.auto_score = item.score
            grade.needs_manual_grade = grade.manual_score is not None
            cell = solution_cells(course, ref.notebook).get(ref.name)
            if cell:
                try:
                    comment = gb.find_comment(cell, ref.notebook, course.assignment, student)
                except MissingEntry:
                    pass
                else:
                    comment.auto_comment = verdict_comment(item)
        if any(verdict.flags.values()):  # formgrader's Flagged column; a grader's own flag is never undone
            for nb in submission.notebooks:
                nb.flagged = True
        handed_in = course.handed_in(student)
        for nb in submission.notebooks:
            if nb.name not in handed_in:  # formgrader would list it as needing a manual grade
                for g in nb.grades:
                    g.needs_manual_grade = g.manual_score is not None
        gb.db.commit()
        for nb in submission.notebooks:
            for g in nb.grades:
                if nb.name not in handed_in and g.manual_score is None:
                    continue  # nothing to grade by hand: nbgrader gave it 0
                if g.max_score > 0 and (g.cell.cell_type == "markdown" or g.manual_score is not None):
                    manual.append(ItemResult(
                        str(ItemId.of_cell(nb.name, g.name)), g.score, g.max_score,
                        decided_by=MANUAL if g.manual_score is not None else AWAITING))
        gb.db.refresh(submission)
        totals = course.totals(submission)
    return in_kernel, totals, manual


def verdict_comment(item: ItemResult) -> str:
    """The auto comment formgrader shows under the student's code: the trusted score and why."""
    text = f"{reports.VERDICT_PREFIX} {item.score:g} / {item.max_score:g} points."
    return f"{text}\n{item.message}" if item.message else text


@functools.lru_cache(maxsize=32)
def _definitions(path: Path, mtime_ns: int) -> dict[str, str]:
    nb = nbformat.read(path, as_version=4)
    out: dict[str, str] = {}
    for cell in nb.cells:
        meta = nbmeta.nbgrader(cell)
        if cell.cell_type != "code" or not meta.get("solution") or not meta.get("grade_id"):
            continue
        try:
            tree = ast.parse(extract.strip_magics(cell.source))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.setdefault(node.name, meta["grade_id"])
    return out


def solution_cells(course: Course, notebook: str) -> dict[str, str]:
    """{function: grade_id of the solution cell defining it} in the instructor's source notebook."""
    path = course.source_dir / f"{notebook}.ipynb"
    try:
        return _definitions(path, path.stat().st_mtime_ns)
    except (OSError, ValueError):
        return {}


def grade_one(course: Course, student: str, run_experiments: bool = False) -> Report:
    """Grade one submission end to end and write its report; returns the report."""
    started = time.time()
    result = autograde(course, student, run_experiments=run_experiments)
    return finish(course, student, result, started, time.time() - started, run_experiments)


def finish(course: Course, student: str, result: dict[str, Any], started: float,
           nbgrader_s: float, run_experiments: bool = False) -> Report:
    """After nbgrader's run (``result``: its success and log): the trusted verdict, written to
    the gradebook, and the submission's report; returns the report."""
    from autograder.trusted.pipeline import reconcile

    notes = [] if result.get("success") else [
        "nbgrader autograde did not finish: " + _last_error(result)]
    verdict = trusted(course, student)
    log = (result.get("log") or "") + (result.get("error") or "")
    # The in-kernel run decides no points: a cell timeout there is the student's timeout, but a
    # dead kernel is only a note -- the trusted verdict says whether anything was lost.
    stopped = {name for name, sign in LOG_SIGNS.items() if sign in log}
    for notebook in course.cfg.notebooks:
        stopped |= set(in_kernel_outcomes(course, student, notebook))
    if "timeout" in stopped:
        verdict.flag("timeout", "the notebook's own run: a cell ran past the cell time limit")
    if "crashed" in stopped:
        notes.append("the notebook's own run: the kernel died (the trusted verdict is unaffected)")
    in_kernel, (score, max_score), manual = record(course, student, verdict)
    notes += verdict.reasons + verdict.messages + reconcile(verdict, in_kernel)
    report = Report(student=student, assignment=course.assignment, score=score,
                    max_score=max_score, items=verdict.items, manual=manual,
                    flags=dict(verdict.flags), notes=list(dict.fromkeys(notes)),
                    fingerprint=fingerprint(course, student, run_experiments),
                    seconds=round(time.time() - started, 2), nbgrader_seconds=round(nbgrader_s, 2))
    reports.save(report, course.report_path(student))
    return report


# ---- nbgrader's own autograde: formgrader's button, `nbgrader autograde` --------------------
# nbgrader_config.py makes nbgrader call these around its autograde of each submission
# (``nbgrader_glue.config.for_nbgrader_apps``): its kernel is the sandboxed one and the trusted
# verdict is written after it, so no path through nbgrader leaves its in-kernel scores behind.
_STARTED: dict[str, float] = {}


def submission_student(student: str, notebooks: list[str]) -> str:
    """The student whose submission nbgrader converts: from its notebooks' paths
    (.../<student>/<assignment>/<notebook>.ipynb), since nbgrader passes its pattern ("*")
    when it autogrades everyone."""
    owners = {Path(n).parent.parent.name for n in notebooks}
    if len(owners) == 1:
        return owners.pop()
    if student and not any(ch in student for ch in "*?["):
        return student
    raise ValueError(f"cannot tell whose submission this is (student {student!r}, {notebooks})")


def before_nbgrader_autograde(cfg: CourseConfig, root: Path, release_root: Path | None, *,
                              assignment: str, student: str, notebooks: list[str]) -> None:
    course = Course(cfg, Path(root), release_root)
    install_kernel(course)
    _STARTED[submission_student(student, notebooks)] = time.time()


def after_nbgrader_autograde(cfg: CourseConfig, root: Path, release_root: Path | None, *,
                             assignment: str, student: str, notebooks: list[str]) -> None:
    course = Course(cfg, Path(root), release_root)
    who = submission_student(student, notebooks)
    started = _STARTED.pop(who, time.time())
    try:
        finish(course, who, {"success": True}, started, time.time() - started)
    except Exception:
        # nbgrader logs a failed hook only at info level: say it where the instructor looks.
        logging.getLogger("autograder").exception(
            "the trusted verdict of %s failed after nbgrader's autograde: the gradebook holds "
            "nbgrader's in-kernel scores; run `python -m autograder grade --student %s`", who, who)
        raise


def install_kernel(course: Course) -> None:
    """The sandboxed kernelspec, installed and found by nbgrader in this process."""
    kernel.install(course.jupyter_path, course.cfg.memory_cap_mb, course.student_code(),
                   course.cfg.disk_cap_mb)
    process.use_kernels_from(course.jupyter_path)


def _last_error(result: dict[str, Any]) -> str:
    """The most telling line of a failed nbgrader run (an exception line, else the last one)."""
    lines = [line.strip() for line in
             ((result.get("log") or "") + (result.get("error") or "")).splitlines()]
    errors = [line for line in lines
              if ("Error:" in line or "Exception:" in line) and "NbGraderException" not in line]
    return (errors or [line for line in lines if line] or ["unknown error"])[-1]


def _grade_job(cfg: CourseConfig, root: str, student: str, run_experiments: bool = False
               ) -> Report:
    """Process-pool entry point: never raises, so one submission cannot stop the batch."""
    course = Course(cfg, Path(root))
    try:
        return grade_one(course, student, run_experiments)
    except Exception as err:  # noqa: BLE001  recorded in the report, never a lost batch
        report = Report(student=student, assignment=course.assignment, score=0.0,
                        max_score=course.cfg.max_score, flags=reports.no_flags() | {"crashed": True},
                        notes=[f"grading failed: {type(err).__name__}: {err}",
                               traceback.format_exc(limit=3)])
        reports.save(report, course.report_path(student))
        return report


def pending(course: Course, students: list[str], force: bool = False,
            run_experiments: bool = False) -> list[str]:
    """Students whose report is missing or stale (resume point of a killed batch), or whose
    gradebook no longer holds the trusted scores of their report (e.g. formgrader's autograde
    button re-ran nbgrader and wrote its in-kernel scores)."""
    if force:
        return list(students)
    todo, reports = [], {}
    for student in students:
        report = load_report(course, student)
        if not report or report.fingerprint != fingerprint(course, student, run_experiments):
            todo.append(student)
        else:
            reports[student] = report
    if reports:
        with course.gradebook() as gb:
            todo += [s for s, report in reports.items() if drifted(gb, course, report)]
    return sorted(todo, key=students.index)


def drifted(gb: Any, course: Course, report: Report) -> list[str]:
    """Items of ``report`` whose gradebook auto score is no longer the trusted one (a manual
    score is the instructor's and never counts as drift)."""
    out = []
    for item in report.items:
        if item.decided_by != reports.TRUSTED:
            continue
        ref = item.item
        try:
            grade = gb.find_grade(ref.grade_id, ref.notebook, course.assignment, report.student)
        except MissingEntry:
            continue
        if grade.manual_score is None and abs(float(grade.auto_score or 0) - item.score) > 1e-9:
            out.append(item.id)
    return out


def grade(course: Course, students: list[str] | None = None, jobs: int | None = None,
          force: bool = False, progress: bool = True, run_experiments: bool = False
          ) -> dict[str, Report | None]:
    """Grade collected submissions in parallel; returns {student: report} for all asked.

    ``run_experiments=True`` also runs the experiment cells in nbgrader's pass (slower; their
    plots then appear in the autograded notebooks and the formgrader). Scores do not change."""
    from autograder.trusted.pipeline import trusted_device

    everyone = course.students()
    students = list(students) if students else everyone
    unknown = sorted(set(students) - set(everyone))
    if unknown:
        raise ValueError(f"grade: --student {unknown} has no collected submission; "
                         f"collected: {everyone}")
    trusted_device(course.cfg)  # device "cuda" without a GPU: a clear error before grading
    check_released(course)
    install_kernel(course)
    sandbox.warn_degraded(kernel.NO_BWRAP)
    todo = pending(course, students, force, run_experiments)
    jobs = max(1, min(jobs or default_jobs(course.cfg), len(todo) or 1))
    if todo:
        bar = _progress(len(todo), progress)
        with ProcessPoolExecutor(max_workers=jobs,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_grade_job, course.cfg, str(course.root), s, run_experiments)
                       for s in todo]
            for future in as_completed(futures):
                future.result()
                bar.update(1)
        bar.close()
    return {s: load_report(course, s) for s in students}


def check_released(course: Course) -> None:
    """Stop before grading anyone when the gradebook does not know the assignment's notebooks
    (``release`` records them and their graded cells): every score would otherwise be 0."""
    with course.gradebook() as gb:
        try:
            known = {nb.name for nb in gb.find_assignment(course.assignment).notebooks}
        except MissingEntry:
            known = set()
    missing = [nb for nb in course.cfg.notebooks if nb not in known]
    if missing:
        raise ValueError(f"grade: the gradebook has no released notebooks {missing} of "
                         f"{course.assignment!r}: run `python -m autograder release` first (same "
                         f"--state-dir), then grade again")


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm
    return tqdm(total=total, desc="grading", unit="submission", disable=not enabled)
