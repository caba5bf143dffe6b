"""The instructor's commands: ``python -m autograder [--set KEY=VALUE] [--state-dir DIR] VERB``.

release -> collect PATH -> grade -> feedback -> export, plus demo. Every setting comes from
course_config; ``--set`` overrides one for this run (e.g. ``--set cell_timeout_s=120``).
"""
from __future__ import annotations

import argparse
import sys
import warnings
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
    result = collect.collect(course, args.path, roster=args.roster, pattern=args.pattern,
                             prefer=args.prefer)
    notes = dict(result.notes)
    for student, notebook, source in result.collected:
        note = f"  ({notes.pop(source)})" if source in notes else ""
        print(f"collected  {student:<20} {notebook:<30} <- {source}{note}")
    for source, reason in result.unrecognised:
        print(f"skipped    {source}: {reason}")
    for subject, note in notes.items():
        print(f"note       {subject}: {note}")
    with_files = {student for student, _, _ in result.collected}
    print(f"{len(result.collected)} notebooks from {len(with_files)} students; "
          f"{len(result.students) - len(with_files)} more registered without a notebook; "
          f"{len(result.unrecognised)} files skipped")


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


def cmd_formgrader(course: Course, args: argparse.Namespace) -> None:
    from autograder.steps import formgrader
    if args.dry_run:
        argv, env = formgrader.command(course, args.port)
        print(f"COURSE_STATE_DIR={env['COURSE_STATE_DIR']} {' '.join(argv)}")
        return
    code = formgrader.run(course, args.port, browser=args.browser)
    if code:
        raise RuntimeError(f"formgrader: the Jupyter server stopped with exit status {code}")


def cmd_gradescope(course: Course, args: argparse.Namespace) -> None:
    from autograder.gradescope import build
    path, questions = build.build(course, args.out, visibility=args.visibility,
                                  kernel=not args.no_kernel)
    print(f"autograder zip: {path} ({path.stat().st_size / 1024:.0f} KiB): upload it on "
          f"Gradescope's Configure Autograder page\nwritten answers: {questions} (one "
          "hand-graded question each in the assignment's outline)")


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

    from autograder.steps.collect import PREFER
    p = verbs.add_parser("collect", help="import submissions from a folder or a zip")
    p.add_argument("path", help="folder or .zip: nbgrader's <student>/<assignment>/<notebook>.ipynb "
                   "or a Canvas, Blackboard or Moodle download")
    p.add_argument("--roster", metavar="CSV", help="the class: a header with id (or student_id) "
                   "and optional name, email, lms_id, participant_id; every student on it is "
                   "registered, every file must match exactly one row")
    p.add_argument("--pattern", metavar="REGEX", help="your own file name layout instead of the "
                   "built-in ones: named groups student and notebook, optional attempt and late")
    p.add_argument("--prefer", choices=PREFER, default=PREFER[0],
                   help="which of several files of one notebook wins: latest (highest "
                   "resubmission or attempt time) or on-time (the latest not marked late, else "
                   "the latest); default %(default)s")
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

    p = verbs.add_parser("formgrader", help="open nbgrader's formgrader (JupyterLab) on the state "
                         "folder; its Autograde button runs the sandbox and the trusted verdict")
    p.add_argument("--port", type=int, default=8888, help="server port (default 8888)")
    p.add_argument("--browser", action="store_true", help="also open a browser")
    p.add_argument("--dry-run", action="store_true", help="print the command, start nothing")
    p.set_defaults(run=cmd_formgrader)

    from autograder.gradescope.results import DEFAULT_VISIBILITY, VISIBILITY
    p = verbs.add_parser("gradescope", help="write autograder.zip for Gradescope: the same "
                         "pipeline in Gradescope's containers (trusted verdict for every point)")
    p.add_argument("--out", help="the zip to write, or a folder for autograder.zip (default: "
                   "STATE/gradescope/autograder.zip); questions.csv goes beside it")
    p.add_argument("--visibility", choices=VISIBILITY, default=DEFAULT_VISIBILITY,
                   help="when students see the autograded tests (default %(default)s)")
    p.add_argument("--no-kernel", action="store_true", help="skip nbgrader's run in the sandboxed "
                   "kernel: trusted verdict only, faster, no in-kernel disagreement flags")
    p.set_defaults(run=cmd_gradescope)

    p = verbs.add_parser("demo", help="the whole pipeline on synthetic submissions")
    p.add_argument("--jobs", type=int, help="parallel grading jobs")
    p.set_defaults(run=cmd_demo)
    return parser


def _one_line_warnings() -> None:
    """Warnings to an instructor are one line each ("warning: ..."), without source lines."""
    def show(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
        print(f"warning: {message}", file=sys.stderr)
    warnings.showwarning = show


def main(argv: list[str] | None = None) -> int:
    _one_line_warnings()
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
