"""`make demo`: the foundation, then the whole grading pipeline on synthetic submissions.

1. a synthetic dataset from data_gen and a small MLP trained with the reference AdamW rule;
2. release -> synthetic submissions (one correct, typical mistakes, one cheat) written as
   Canvas-style files -> collect -> grade -> feedback -> export, and the grade table.

The demo keeps its own state in <state_dir>/demo (started afresh each time) and releases the
student notebooks there too, so it never mixes with a real class or rewrites notebooks/. ``make_submission`` is also what the grading benchmark uses.
"""
import dataclasses
import shutil
import textwrap
import time
from pathlib import Path

import nbformat

from autograder.course import Course

# Typical mistakes, each a wrong version of one graded function (the rest of the notebook correct).
MISTAKES = {
    "sgdw_decay_times_lr": ("sgdw_momentum_step", """
        def sgdw_momentum_step(theta, grad, state, t, lr, wd, beta1=0.9, eta=1.0):
            m = beta1 * state["m"] + eta * lr * grad
            return theta - m - eta * lr * wd * theta, {"m": m}   # decay scaled by lr
        """),
    "sgdw_equivalent_l2_without_momentum": ("sgdw_equivalent_l2", """
        def sgdw_equivalent_l2(lr, wd, beta1):
            return wd / lr                                   # forgets the (1 - beta1) factor
        """),
    "rmsprop_no_bias_correction": ("rmsprop_step", """
        def rmsprop_step(theta, grad, state, t, lr, beta2=0.999, eps=1e-8, eta=1.0):
            v = beta2 * state["v"] + (1 - beta2) * grad * grad
            return theta - eta * lr * grad / (v.sqrt() + eps), {"v": v}
        """),
    "adam_eps_inside_sqrt": ("adam_step", """
        def adam_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            m = beta1 * state["m"] + (1 - beta1) * grad
            v = beta2 * state["v"] + (1 - beta2) * grad * grad
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            return theta - eta * lr * m_hat / (v_hat + eps).sqrt(), {"m": m, "v": v}
        """),
    "adamw_l2_inside": ("adamw_step", """
        def adamw_step(theta, grad, state, t, lr, wd, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
            grad = grad + wd * theta                         # L2 through the moments
            m = beta1 * state["m"] + (1 - beta1) * grad
            v = beta2 * state["v"] + (1 - beta2) * grad * grad
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            return theta - eta * lr * m_hat / (v_hat.sqrt() + eps), {"m": m, "v": v}
        """),
}

# A cheat: a wrong rule, plus every trick that fakes a pass in the student's own kernel.
CHEAT = ("sgd_l2_momentum_step", """
    import numpy, torch
    torch.allclose = lambda *a, **k: True
    torch.testing.assert_close = lambda *a, **k: None
    numpy.testing.assert_allclose = lambda *a, **k: None
    try:
        import autograder.hidden_checks as _hc
        _hc.check_rule = lambda *a, **k: None
        _hc.check_call = lambda *a, **k: None
    except Exception:
        pass

    def sgd_l2_momentum_step(theta, grad, state, t, lr, l2, beta1=0.9, eta=1.0):
        return theta, state
    """)

DEMO_CLASS = {"ada": "correct", "ben": "sgdw_decay_times_lr", "cleo": "rmsprop_no_bias_correction",
              "dev": "adam_eps_inside_sqrt", "emil": "adamw_l2_inside", "zed": "cheat"}


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def solved_notebook(course, notebook):
    """The released notebook with the solution cells' sources put back: a correct submission."""
    released = nbformat.read(course.release_dir / f"{notebook}.ipynb", as_version=4)
    source = nbformat.read(course.source_dir / f"{notebook}.ipynb", as_version=4)
    answers = {_meta(c)["grade_id"]: c.source for c in source.cells if _meta(c).get("solution")}
    for cell in released.cells:
        if _meta(cell).get("solution") and _meta(cell).get("grade_id") in answers:
            cell.source = answers[_meta(cell)["grade_id"]]
    return released


def redefine(nb, function, source):
    """Insert ``source`` (a new definition of ``function``) right after the cell defining it.

    Returns False when the notebook has no such function."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and f"def {function}(" in cell.source:
            nb.cells.insert(i + 1, nbformat.v4.new_code_cell(textwrap.dedent(source).strip()))
            return True
    return False


def make_submission(course, kind):
    """{notebook: notebook node} for a submission of ``kind``: "correct", "cheat" or a MISTAKES key."""
    if kind != "correct" and kind != "cheat" and kind not in MISTAKES:
        raise ValueError(f"kind must be 'correct', 'cheat' or one of {sorted(MISTAKES)}, got {kind!r}")
    function, source = CHEAT if kind == "cheat" else MISTAKES.get(kind, (None, None))
    out = {}
    for notebook in course.cfg.notebooks:
        if not (course.release_dir / f"{notebook}.ipynb").exists():
            continue
        nb = solved_notebook(course, notebook)
        if function:
            redefine(nb, function, source)
        out[notebook] = nb
    return out


def write_class(course, folder, students):
    """Write {student: kind} as Canvas-style files <student>_<id>_<id>_<notebook>.ipynb."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for n, (student, kind) in enumerate(sorted(students.items())):
        for notebook, nb in make_submission(course, kind).items():
            nbformat.write(nb, folder / f"{student}_{1000 + n}_{2000 + n}_{notebook}.ipynb")
    return folder


def foundation(seed):
    """Generate a dataset and train a small MLP with the reference AdamW rule; say what it did."""
    import data_gen
    import torch
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


def demo_course(course):
    state = Path(course.cfg.state_dir) / "demo"
    shutil.rmtree(state, ignore_errors=True)
    return Course(dataclasses.replace(course.cfg, state_dir=str(state)), course.root,
                  release_root=state / "release_notebooks")


def run(course, jobs=None, students=None):
    from autograder import collect, export, feedback, grade, release

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
    return reports
