"""`make demo`: the foundation, then the whole grading pipeline on synthetic submissions.

1. a synthetic dataset from data_gen and a small MLP trained with the reference AdamW rule;
2. release -> synthetic submissions (one correct, typical mistakes, one cheat) written as
   Canvas-style files -> collect -> grade -> feedback -> export, and the grade table.

The demo keeps its own state in <state_dir>/demo (started afresh each time) and releases the
student notebooks there too, so it never mixes with a real class or rewrites notebooks/. Its
submissions come from ``autograder.tools.submissions``, like the benchmark's and the tests'.
"""
from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import nbformat

from autograder.course import Course
from autograder.reports import Report
from autograder.tools.submissions import make_submission

# The demo class: one correct submission, four typical mistakes (rows of submissions.MISTAKES)
# and one cheat.
DEMO_CLASS = {"ada": "correct", "ben": "sgdw_momentum_step:decay_times_lr",
              "cleo": "rmsprop_step:no_bias_correction", "dev": "adam_step:eps_inside_sqrt",
              "emil": "adamw_step:l2_in_adamw", "zed": "cheat"}


def write_class(course: Course, folder: Path, students: dict[str, str]) -> Path:
    """Write {student: kind} as Canvas-style files <student>_<id>_<id>_<notebook>.ipynb."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for n, (student, kind) in enumerate(sorted(students.items())):
        for notebook, nb in make_submission(course, kind).items():
            nbformat.write(nb, folder / f"{student}_{1000 + n}_{2000 + n}_{notebook}.ipynb")
    return folder


def foundation(seed: int) -> None:
    """Generate a dataset and train a small MLP with the reference AdamW rule; say what it did."""
    import torch

    import data_gen
    import wdlab
    from autograder.reference import RULES

    data = data_gen.make_classification(n_train=1000, n_val=500, n_test=500, difficulty="easy",
                                        seed=seed)
    print(f"data_gen.make_classification: train {tuple(data.x_train.shape)}, "
          f"val {tuple(data.x_val.shape)}, {int(data.y_train.max()) + 1} classes")
    torch.set_flush_denormal(True)
    try:
        hist = wdlab.train(RULES["adamw_paper"], data, steps=150, batch_size=100, hidden=(32,),
                           seed=seed, lr=3e-3, wd=1e-4)
    finally:  # a process-wide CPU flag: leave the caller's process as it was (the default)
        torch.set_flush_denormal(False)
    print(f"wdlab.train with reference AdamW (lr=3e-3, wd=1e-4), 150 steps in {hist.seconds:.2f} s: "
          f"train loss {hist.train_loss[0]:.3f} -> {hist.train_loss[-1]:.3f}, "
          f"val accuracy {hist.val_acc[-1]:.1%}")


def demo_course(course: Course) -> Course:
    state = Path(course.cfg.state_dir) / "demo"
    shutil.rmtree(state, ignore_errors=True)
    return Course(dataclasses.replace(course.cfg, state_dir=str(state)), course.root,
                  release_root=state / "release_notebooks")


def run(course: Course, jobs: int | None = None, students: dict[str, str] | None = None
        ) -> dict[str, Report | None]:
    from autograder.steps import collect, export, feedback, grade, release

    print("== 1. Foundation: data and a reference rule")
    foundation(course.cfg.seed)
    course = demo_course(course)
    print(f"\n== 2. Grading pipeline (demo state in {course.state})")
    bundle = release.release(course)
    print(f"release: student notebooks in {course.release_dir}, bundle {bundle.name}")
    incoming = write_class(course, course.state / "incoming", students or DEMO_CLASS)
    for student, kind in sorted((students or DEMO_CLASS).items()):
        print(f"  synthetic submission {student:<6} {kind}")
    result = collect.collect(course, incoming)
    print(f"collect: {len(result.collected)} notebooks from {len(result.students)} students, "
          f"{len(result.unrecognised)} files not recognised")
    start = time.time()
    reports = grade.grade(course, jobs=jobs)
    print(f"grade: {len(reports)} submissions in {time.time() - start:.0f} s")
    files = feedback.generate(course)
    print(f"feedback: {len(files)} HTML files under {course.feedback_dir()}")
    csv_path = export.export(course)
    print(f"export: {csv_path}\n")
    # The exported view: trusted scores merged with the manual grades (none yet in the demo).
    print(export.table([export.merged_report(course, student) for student in reports]))
    print(next_steps(course, csv_path))
    return reports


def next_steps(course: Course, csv_path: Path) -> str:
    """What to open after the demo, with commands that work as printed."""
    state = course.state
    try:
        state = state.relative_to(Path(course.root).resolve())
    except ValueError:
        pass
    return (f"\nNext steps:\n"
            f"  feedback (what each student gets):  {course.feedback_dir()}/<student>/"
            f"{course.assignment}/*.html\n"
            f"  grades and reports:                 {csv_path}\n"
            f"  formgrader on the demo's gradebook: make formgrader STATE={state}\n"
            f"  (or python -m autograder --state-dir {state} formgrader)")
