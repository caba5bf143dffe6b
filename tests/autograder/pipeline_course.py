"""A tiny nbgrader course in a temp folder, for the pipeline tests (release .. export).

One notebook, ``01_sgd_weight_decay``, with one autograded function (``l2_to_decay``, a real
graded item, so the trusted verdict knows it), one experiment cell and one written answer graded
by hand.
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

# A demonstration cell: students run it, `grade` skips it.
EXPERIMENT = 'print("EXPERIMENT RAN")'


def make_course(root, **overrides):
    """Write solutions/<assignment>/01_sgd_weight_decay.ipynb under ``root``; returns the Course."""
    root = Path(root)
    cells = [authoring.setup(""), authoring.solution(SOLUTION),
             authoring.tests(NOTEBOOK, "l2_to_decay", TESTS), authoring.code(EXPERIMENT, experiment=True),
             authoring.answer("derive_decay", 2, "SGD on the regularized loss gives lambda = lr * l2."),
             authoring.mark_scheme("derive_decay", "- 2 pt: the derivation")]
    nb = nbformat.v4.new_notebook(cells=cells)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    nb.metadata["kernelspec"] = dict(authoring.KERNELSPEC)
    folder = root / "solutions" / "weight_decay"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")
    for name in ("wdlab", "data_gen"):  # the student packages the bundle ships
        (root / name).mkdir()
        (root / name / "__init__.py").write_text(f'"""{name} (test copy)."""\n')
    (root / "requirements.txt").write_text("torch==2.0\n")
    (root / "course_config.py").write_text("# test copy\n")
    cfg = course_config.load({"notebooks": (NOTEBOOK,), "points": {ITEM: 1.0},
                              "state_dir": str(root / "state"), "cell_timeout_s": "30",
                              **overrides}, environ={})
    return Course(cfg, root)


def submission(course, body):
    """The released notebook with the answer cell replaced by ``body``."""
    nb = nbformat.read(course.release_dir / f"{NOTEBOOK}.ipynb", as_version=4)
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
