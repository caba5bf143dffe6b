"""A tiny nbgrader course in a temp folder, for the pipeline tests (release .. export).

One notebook, ``01_sgd_weight_decay``, with one autograded function (``l2_to_decay``, a real
graded item, so the trusted verdict knows it), one experiment cell and one written answer graded
by hand. ``make_course(root, optional=True)`` adds the optional notebook ``04_optimizer_family``
with one graded function (``adagrad_step``) and one written answer: its points are a bonus.
"""
import dataclasses
import zlib
from pathlib import Path

import nbformat

import course_config
from autograder import authoring
from autograder.course import Course

NOTEBOOK = "01_sgd_weight_decay"
ITEM = f"{NOTEBOOK}:l2_to_decay"

SOLUTION = '''
def l2_to_decay(lr, l2):
    """Weight decay factor of SGD on f + l2/2 |theta|^2."""
    ### BEGIN SOLUTION
    return lr * l2
    ### END SOLUTION
'''
TESTS = '''
assert abs(l2_to_decay(0.1, 0.5) - 0.05) < 1e-12
### BEGIN HIDDEN TESTS
from autograder.reference import RULES
assert abs(l2_to_decay(0.3, 2.0) - 0.6) < 1e-12, "secret-hidden-check"
### END HIDDEN TESTS
'''

OPTIONAL = "04_optimizer_family"
OPTIONAL_ITEM = f"{OPTIONAL}:adagrad_step"
ADAGRAD = '''
def adagrad_step(theta, grad, state, t, lr, eps=1e-10, eta=1.0):
    ### BEGIN SOLUTION
    s = state["sum"] + grad * grad
    return theta - eta * lr * grad / (s.sqrt() + eps), {"sum": s}
    ### END SOLUTION
'''
ADAGRAD_TESTS = '''
new, _ = adagrad_step(torch.ones(2), torch.ones(2), {"sum": torch.zeros(2)}, 1, lr=0.1)
assert torch.allclose(new, torch.full((2,), 0.9))
'''
ADAGRAD_CORRECT = ADAGRAD.replace("    ### BEGIN SOLUTION\n", "").replace("    ### END SOLUTION\n", "")

# A demonstration cell: students run it, `grade` skips it.
EXPERIMENT = 'print("EXPERIMENT RAN")'


def _write(folder, stem, cells):
    nb = nbformat.v4.new_notebook(cells=cells)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    nb.metadata["kernelspec"] = dict(authoring.KERNELSPEC)
    nbformat.write(nb, folder / f"{stem}.ipynb")


def make_course(root, optional=False, **overrides):
    """Write solutions/<assignment>/01_sgd_weight_decay.ipynb (and with ``optional`` the bonus
    notebook 04_optimizer_family.ipynb) under ``root``; returns the Course."""
    root = Path(root)
    folder = root / "solutions" / "weight_decay"
    folder.mkdir(parents=True)
    points = {ITEM: 1.0}
    _write(folder, NOTEBOOK, [
        authoring.setup(""), authoring.solution(SOLUTION),
        authoring.tests(NOTEBOOK, "l2_to_decay", TESTS, points=points),
        authoring.code(EXPERIMENT, experiment=True),
        authoring.answer("derive_decay", 2, "SGD on the regularized loss gives lambda = lr * l2."),
        authoring.mark_scheme("derive_decay", "- 2 pt: the derivation")])
    notebooks = (NOTEBOOK,)
    if optional:
        points[OPTIONAL_ITEM] = 2.0
        notebooks += (OPTIONAL,)
        _write(folder, OPTIONAL, [
            authoring.setup(""), authoring.solution(ADAGRAD),
            authoring.tests(OPTIONAL, "adagrad_step", ADAGRAD_TESTS, points=points),
            authoring.answer("why_shrink", 1, "The sum only grows."),
            authoring.mark_scheme("why_shrink", "- 1 pt: the sum only grows")])
    for name in ("wdlab", "data_gen"):  # the student packages the bundle ships
        (root / name).mkdir()
        (root / name / "__init__.py").write_text(f'"""{name} (test copy)."""\n')
    (root / "requirements.txt").write_text("torch==2.0\n")
    (root / "course_config.py").write_text("# test copy\n")
    cfg = course_config.load({"notebooks": notebooks, "points": points,
                              "state_dir": str(root / "state"), "cell_timeout_s": "30",
                              **overrides}, environ={})
    return Course(cfg, root)


def submission(course, body, notebook=NOTEBOOK):
    """The released ``notebook`` with the answer cell replaced by ``body``."""
    nb = nbformat.read(course.release_dir / f"{notebook}.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = body
    return nb


CORRECT = "def l2_to_decay(lr, l2):\n    return l2 * lr\n"
WRONG = "def l2_to_decay(lr, l2):\n    return lr + l2\n"
# Fakes a pass in its own kernel: the hidden test compares with abs(...) < 1e-12.
CHEAT = "import builtins\nbuiltins.abs = lambda x: 0\n" + WRONG


def canvas_name(student):
    """A Canvas download's file name for ``student`` (login_userid_fileid_original name), with a
    user id of its own per student."""
    user = zlib.crc32(student.encode()) % 10**6
    return f"{student}_{user}_{user + 1}_{NOTEBOOK}.ipynb"


def with_state(course, state):
    return Course(dataclasses.replace(course.cfg, state_dir=str(state)), course.root)
