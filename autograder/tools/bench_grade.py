"""`make bench-grade`: plain sequential ``nbgrader autograde`` versus ``grade`` on N submissions.

Both grade the same N synthetic submissions (correct ones, typical mistakes and a cheat, cycling)
of the released assignment, each in its own fresh state under <state_dir>/bench:
- plain: one ``nbgrader autograde <assignment>`` command (sequential, nbgrader's own kernel,
  every cell run: plain is plain);
- ours: ``grade`` -- parallel jobs, sandboxed kernels, experiment cells skipped, and the trusted
  verdict on top.
By default the submissions hold notebook 01 only, so that N = 100 finishes in about half an hour
on a 2-core machine (plain nbgrader runs every cell of every notebook one after the other: about
a minute per three-notebook submission). ``--notebooks all`` benchmarks the whole assignment.
The last line printed is JSON: {"n", "notebooks", "jobs", "plain_s", "grade_s", "ratio", ...}.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

import course_config
from autograder.course import Course
from autograder.nbgrader_glue import process
from autograder.reports import ItemId
from autograder.steps import collect, grade, release
from autograder.tools.submissions import CHEAT, make_submission, mistake_rounds

DEFAULT_NOTEBOOKS = ("01_sgd_weight_decay",)


def kinds_for(cfg: course_config.CourseConfig) -> list[str]:
    """Submission kinds that differ in ``cfg.notebooks``: one typical mistake per graded function
    there, the cheat when its function is there, and as many correct submissions."""
    functions = {ItemId.parse(key).name for key in cfg.points}
    mistakes = sorted(f"{fn}:{name}" for fn, (name, _) in mistake_rounds()[0].items()
                      if fn in functions)
    cheat = ["cheat"] if CHEAT[0] in functions else []
    wrong = mistakes + cheat
    return ["correct"] * max(1, len(wrong)) + wrong


def fresh_course(state: Path, notebooks: tuple[str, ...]) -> Course:
    """A course restricted to ``notebooks`` (their items only) in a fresh state folder, releasing
    into that folder (the repository's notebooks/ is left alone)."""
    shutil.rmtree(state, ignore_errors=True)
    full = course_config.load()
    unknown = sorted(set(notebooks) - set(full.notebooks))
    if unknown or not notebooks:
        raise ValueError(f"--notebooks: unknown {unknown}; allowed: {list(full.notebooks)} or 'all'")
    points = {k: v for k, v in full.points.items() if ItemId.parse(k).notebook in notebooks}
    cfg = course_config.load({"notebooks": tuple(notebooks), "points": points,
                              "state_dir": str(state), "db_url": ""})
    return Course(cfg, release_root=Path(state) / "release_notebooks")


def write_submissions(course: Course, n: int, folder: Path) -> dict[str, str]:
    """n submissions in nbgrader's layout, cycling through the kinds; returns {student: kind}."""
    kinds = kinds_for(course.cfg)
    cache = {kind: make_submission(course, kind) for kind in kinds}
    students = {}
    for i in range(n):
        student, kind = f"s{i:03d}", kinds[i % len(kinds)]
        target = Path(folder) / student / course.assignment
        target.mkdir(parents=True, exist_ok=True)
        for notebook, nb in cache[kind].items():
            nbformat.write(nb, target / f"{notebook}.ipynb")
        students[student] = kind
    return students


def plain_nbgrader(course: Course) -> tuple[float, int]:
    """Sequential ``nbgrader autograde`` over every collected submission: (seconds, exit code).

    nbgrader exits 1 when any submission failed (e.g. a cell timed out); that is its result,
    not a failure of the benchmark."""
    env = dict(os.environ, COURSE_STATE_DIR=str(course.state), COURSE_DB_URL="")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    start = time.perf_counter()
    command = [str(Path(sys.executable).parent / "nbgrader"), "autograde", course.assignment,
               "--force", "--log-level=ERROR"]
    proc = subprocess.run(command, cwd=course.root, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, proc.returncode


def parse_notebooks(text: str) -> tuple[str, ...]:
    if text == "all":
        return course_config.load().notebooks
    return tuple(name.strip() for name in text.split(",") if name.strip())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.tools.bench_grade",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--n", type=int, default=100, help="number of submissions (default 100)")
    parser.add_argument("--jobs", type=int, help="grade's parallel jobs (default: one per core)")
    parser.add_argument("--notebooks", default=",".join(DEFAULT_NOTEBOOKS),
                        help="comma-separated notebook stems, or 'all' (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be a positive integer, got {args.n}")
    try:
        notebooks = parse_notebooks(args.notebooks)
        base = Path(course_config.load().state_dir) / "bench"
        plain, ours = fresh_course(base / "plain", notebooks), fresh_course(base / "grade", notebooks)
    except ValueError as err:
        parser.error(str(err))
    process.prepare()
    release.generate(ours)
    incoming = base / "incoming"
    shutil.rmtree(incoming, ignore_errors=True)
    kinds = write_submissions(ours, args.n, incoming)
    for course in (plain, ours):
        release.generate(course)
        collect.collect(course, incoming)
    mix = {k: list(kinds.values()).count(k) for k in dict.fromkeys(kinds.values())}
    print(f"{args.n} submissions of {', '.join(notebooks)}: {mix}", flush=True)
    print("grading with plain nbgrader autograde (sequential, every cell) ...", flush=True)
    plain_s, plain_rc = plain_nbgrader(plain)
    print(f"plain nbgrader: {plain_s:.1f} s (exit code {plain_rc})", flush=True)
    jobs = args.jobs or grade.default_jobs(ours.cfg)
    start = time.perf_counter()
    reports = grade.grade(ours, jobs=jobs, progress=True)
    grade_s = time.perf_counter() - start
    flagged = sum(bool(r and r.flagged()) for r in reports.values())
    print(f"grade (jobs={jobs}, experiments skipped, trusted verdict included): {grade_s:.1f} s; "
          f"{flagged} of {args.n} submissions flagged")
    print(json.dumps({"n": args.n, "notebooks": list(notebooks), "jobs": jobs,
                      "plain_s": round(plain_s, 2), "plain_exit": plain_rc,
                      "grade_s": round(grade_s, 2), "ratio": round(plain_s / grade_s, 3),
                      "plain_per_submission_s": round(plain_s / args.n, 2),
                      "grade_per_submission_s": round(grade_s / args.n, 2),
                      "load_avg": [round(x, 2) for x in os.getloadavg()]}))


if __name__ == "__main__":
    main()
