"""`make bench-grade`: plain sequential ``nbgrader autograde`` versus ``grade`` on N submissions.

Both grade the same N synthetic submissions (correct ones and typical mistakes) of the released
assignment, each in its own fresh state under <state_dir>/bench:
- plain: one ``nbgrader autograde <assignment>`` command (sequential, nbgrader's own kernel);
- ours: ``grade`` -- parallel jobs, sandboxed kernels, and the trusted verdict on top.
The last line printed is JSON: {"n", "jobs", "plain_s", "grade_s", "ratio"}.
"""
import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

import course_config
from autograder import collect, grade, release
from autograder.course import Course, prepare_process
from autograder.demo import MISTAKES, make_submission

KINDS = ["correct", "correct", *sorted(MISTAKES)]


def fresh_course(base, name):
    state = Path(base) / name
    shutil.rmtree(state, ignore_errors=True)
    cfg = dataclasses.replace(course_config.load(), state_dir=str(state), db_url="")
    return Course(cfg)


def write_submissions(course, n, folder):
    """n submissions in nbgrader's layout, cycling through KINDS."""
    cache = {kind: make_submission(course, kind) for kind in KINDS}
    for i in range(n):
        student = f"s{i:03d}"
        target = Path(folder) / student / course.assignment
        target.mkdir(parents=True, exist_ok=True)
        for notebook, nb in cache[KINDS[i % len(KINDS)]].items():
            nbformat.write(nb, target / f"{notebook}.ipynb")
    return folder


def plain_nbgrader(course):
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


def prepare(course, incoming):
    release.generate(course)
    collect.collect(course, incoming)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.bench", description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="number of submissions (default 100)")
    parser.add_argument("--jobs", type=int, help="grade's parallel jobs (default: one per core)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"-n must be a positive integer, got {args.n}")
    prepare_process()
    base = Path(course_config.load().state_dir) / "bench"
    plain, ours = fresh_course(base, "plain"), fresh_course(base, "grade")
    release.generate(ours)
    incoming = write_submissions(ours, args.n, base / "incoming")
    prepare(plain, incoming)
    prepare(ours, incoming)
    print(f"grading {args.n} submissions with plain nbgrader autograde (sequential) ...", flush=True)
    plain_s, plain_rc = plain_nbgrader(plain)
    print(f"plain nbgrader: {plain_s:.1f} s (exit code {plain_rc})", flush=True)
    jobs = args.jobs or grade.default_jobs(ours.cfg)
    start = time.perf_counter()
    grade.grade(ours, jobs=jobs, progress=True)
    grade_s = time.perf_counter() - start
    print(f"grade (jobs={jobs}, trusted verdict included): {grade_s:.1f} s")
    print(json.dumps({"n": args.n, "jobs": jobs, "plain_s": round(plain_s, 2), "plain_exit": plain_rc,
                      "grade_s": round(grade_s, 2), "ratio": round(plain_s / grade_s, 3)}))


if __name__ == "__main__":
    main()
