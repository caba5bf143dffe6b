"""The instructor's commands: ``python -m autograder [--set KEY=VALUE] [--state-dir DIR] VERB``.

release -> collect PATH -> grade -> feedback -> export, plus demo. Every setting comes from
course_config; ``--set`` overrides one for this run (e.g. ``--set cell_timeout_s=120``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import course_config
from autograder.course import Course


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    """["key=value", ...] -> {key: value}; a pair without '=' is a ValueError."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = value
    return out


def make_course(args: argparse.Namespace) -> Course:
    overrides = parse_sets(args.set)
    if args.state_dir:
        overrides["state_dir"] = str(Path(args.state_dir).resolve())
    return Course(course_config.load(overrides))


def cmd_release(course: Course, args: argparse.Namespace) -> None:
    from autograder.steps import release
    bundle = release.release(course, notebooks_only=args.notebooks_only, bundle_path=args.bundle)
    print(f"student notebooks: {course.release_dir}")
    if bundle:
        print(f"student bundle:    {bundle}")


def cmd_collect(course: Course, args: argparse.Namespace) -> None:
    from autograder.steps import collect
    result = collect.collect(course, args.path)
    for student, notebook, source in result.collected:
        print(f"collected  {student:<20} {notebook:<30} <- {source}")
    for source, reason in result.unrecognised:
        print(f"skipped    {source}: {reason}")
    print(f"{len(result.collected)} notebooks from {len(result.students)} students; "
          f"{len(result.unrecognised)} files not recognised")


def cmd_grade(course: Course, args: argparse.Namespace) -> None:
    from autograder.steps import export, grade
    reports = grade.grade(course, students=args.student, jobs=args.jobs, force=args.force,
                          progress=not args.no_progress, run_experiments=args.run_experiments)
    print(export.table(reports.values()))


def cmd_feedback(course: Course, args: argparse.Namespace) -> None:
    from autograder.steps import feedback
    files = feedback.generate(course, args.student)
    print(f"{len(files)} feedback files under {course.feedback_dir()}")


def cmd_export(course: Course, args: argparse.Namespace) -> None:
    from autograder.steps import export
    path = export.export(course, Path(args.out) if args.out else None)
    print(f"grades: {path}\nreports: {path.parent}/<student>.json")


def cmd_demo(course: Course, args: argparse.Namespace) -> None:
    from autograder.tools import demo
    demo.run(course, jobs=args.jobs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a course_config setting for this run (repeatable)")
    parser.add_argument("--state-dir", help="instructor state folder (default: course_config)")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("release", help="generate the student notebooks and the student bundle zip")
    p.add_argument("--notebooks-only", action="store_true", help="only regenerate notebooks/")
    p.add_argument("--bundle", help="where to write the zip (default: STATE/release/<assignment>.zip)")
    p.set_defaults(run=cmd_release)

    p = verbs.add_parser("collect", help="import submissions from a folder or a zip")
    p.add_argument("path", help="folder or .zip: <student>/<assignment>/<notebook>.ipynb or "
                   "flat LMS files <student>_<anything>_<notebook>.ipynb")
    p.set_defaults(run=cmd_collect)

    p = verbs.add_parser("grade", help="autograde collected submissions (nbgrader + trusted verdict)")
    p.add_argument("--jobs", type=int, help="parallel submissions (default: course_config workers, "
                   "0 = one per core)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="regrade submissions already graded")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--run-experiments", action="store_true",
                   help="also run the experiment cells (training runs, sweeps, plots: no points) so "
                   "their output shows in the formgrader; slower, same scores")
    p.set_defaults(run=cmd_grade)

    p = verbs.add_parser("feedback", help="HTML feedback per student (no hidden test source)")
    p.add_argument("--student", help="only this student")
    p.set_defaults(run=cmd_feedback)

    p = verbs.add_parser("export", help="grades.csv and one JSON report per submission")
    p.add_argument("--out", help="folder to write to (default: STATE/export/<assignment>)")
    p.set_defaults(run=cmd_export)

    p = verbs.add_parser("demo", help="the whole pipeline on synthetic submissions")
    p.add_argument("--jobs", type=int, help="parallel grading jobs")
    p.set_defaults(run=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        parser.error(f"--jobs must be a positive integer, got {args.jobs}")
    try:
        course = make_course(args)
        args.run(course, args)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
