"""Sanitize/extract: notebooks of any readable version in, the student's defining code out."""
import json

import nbformat
import pytest

from autograder.trusted import extract


def _nb(*sources, test=None):
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    if test:
        cell = nbformat.v4.new_code_cell(test)
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "test_f",
                                     "points": 1, "locked": True}
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


def test_magics_and_shell_escapes_are_removed_keeping_blocks_valid():
    source = "%matplotlib inline\n!pip install x\nfiles = !ls\ndef f(x):\n    %time y = 1\n    return x\nf?\n"
    clean = extract.strip_magics(source)
    assert "%" not in clean and "!" not in clean
    namespace = {}
    exec(clean, namespace)
    assert namespace["f"](3) == 3


def test_not_equal_and_modulo_are_not_mistaken_for_magics():
    assert extract.strip_magics("ok = 1 != 2\n") == "ok = 1 != 2"


def test_cell_magics_keep_python_bodies_only():
    assert "x = 1" in extract.strip_magics("%%time\nx = 1\n")
    assert extract.strip_magics("%%bash\nrm -rf /\n") == ""


def test_only_definitions_survive():
    kept, dropped = extract.definitions(
        "import torch\nLR = 0.1\nDEV = torch.device('cpu')\nhist = train(model)\n"
        "def f():\n    return LR\nwhile True:\n    pass\nprint('hi')\n")
    assert "def f" in kept and "LR = 0.1" in kept and "torch.device" in kept
    assert "train" not in kept and "while" not in kept and "print" not in kept
    assert len(dropped) == 3


def test_unused_imports_are_pruned_used_ones_kept():
    nb = _nb("import torch\nimport matplotlib.pyplot as plt\nfrom data_gen import make_regression",
             "def f(x):\n    return torch.zeros(1) + x",
             "plt.plot(make_regression(n=3, d=2).x)")
    sources = [c.source for c in extract.student_cells(nb)]
    assert "import torch" in sources[0]
    assert "matplotlib" not in sources[0] and "data_gen" not in sources[0]


def test_autograder_test_cells_are_never_student_code():
    nb = _nb("def f():\n    return 1", test="assert f() == 1\ndef sneaky():\n    pass")
    assert [c.index for c in extract.student_cells(nb)] == [0]


def test_unparsable_cell_is_kept_verbatim_for_the_worker_to_report():
    cells = extract.student_cells(_nb("def f(:\n    pass", "def g():\n    return 2"))
    assert cells[0].source.startswith("def f(:") and "def g" in cells[1].source


def test_malformed_json_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.ipynb"
    path.write_text('{"cells": [ this is not json')
    with pytest.raises(extract.SubmissionError, match="not a valid notebook"):
        extract.load_notebook(path)


def test_missing_file_and_non_notebook_json(tmp_path):
    with pytest.raises(extract.SubmissionError, match="not found"):
        extract.load_notebook(tmp_path / "nope.ipynb")
    (tmp_path / "list.ipynb").write_text(json.dumps([1, 2]))
    with pytest.raises(extract.SubmissionError):
        extract.load_notebook(tmp_path / "list.ipynb")


def test_nbformat_v3_is_upgraded(tmp_path):
    v3 = nbformat.v3.new_notebook(worksheets=[nbformat.v3.new_worksheet(cells=[
        nbformat.v3.new_code_cell(input="def f():\n    return 3")])])
    path = tmp_path / "old.ipynb"
    path.write_text(nbformat.writes(v3, version=3))
    cells = extract.student_cells(extract.load_notebook(path))
    assert cells and "def f" in cells[0].source


# Experiment cells of a notebook: they must never reach the trusted worker (exec would fail on
# the undefined train/plt, so running the kept code proves they were dropped).
EXPERIMENT = "history = train(adam_step, steps=10_000)\nfig = plt.figure()\nplt.plot(history)\n"
SHAPES = {
    "partial": "import functools\n"
               "def _adam_impl(theta, grad, state, t, lr, amsgrad=True):\n"
               "    return theta - lr * grad, state\n"
               "adam_step = functools.partial(_adam_impl, amsgrad=False)\n",
    "factory": "def make_rule(scale):\n"
               "    def rule(theta, grad, state, t, lr):\n"
               "        return theta - scale * lr * grad, state\n"
               "    return rule\n"
               "adam_step = make_rule(1.0)\n",
    "callable instance": "class AdamStep:\n"
                         "    def __call__(self, theta, grad, state, t, lr):\n"
                         "        return theta - lr * grad, state\n"
                         "adam_step = AdamStep()\n",
    "config default": "from dataclasses import dataclass\n"
                      "@dataclass\nclass Config:\n    scale: float = 1.0\n"
                      "CFG = Config(scale=1.0)\n"
                      "def adam_step(theta, grad, state, t, lr, scale=CFG.scale):\n"
                      "    return theta - scale * lr * grad, state\n",
}


def _run(cells):
    namespace = {}
    for cell in cells:
        exec(cell.source, namespace)
    return namespace


def test_graded_names_bound_by_calls_are_kept_experiments_dropped():
    for shape, source in SHAPES.items():
        cells = extract.student_cells(_nb(source, EXPERIMENT), keep_names=["adam_step"])
        code = "\n".join(c.source for c in cells)
        assert "train(" not in code and "plt" not in code, shape
        assert _run(cells)["adam_step"](1.0, 1.0, {}, 1, 0.5) == (0.5, {}), shape


def test_names_the_graded_code_needs_are_followed_across_cells():
    cells = extract.student_cells(_nb(
        "import functools\nimport json",
        "def _rule(theta, grad, state, t, lr, scale):\n    log.append(t)\n"
        "    return theta - scale * lr * grad, state",
        "CONFIG = json.loads('{\"scale\": 1.0}')\nunused = expensive_sweep()",
        "adam_step = functools.partial(_rule, scale=CONFIG['scale'])",
        # the function reads `log`: its cheap binding is enough, the training run stays out
        "log = []\nlog = train(adam_step)"), keep_names=["adam_step"])
    code = "\n".join(c.source for c in cells)
    assert "expensive_sweep" not in code and "train" not in code and "log = []" in code
    assert _run(cells)["adam_step"](1.0, 1.0, {}, 1, 0.5) == (0.5, {})


def test_a_modulo_continuation_line_is_not_a_magic():
    source = ("def f(a, b):\n    x = (a\n         % b)\n    y = a \\\n% b\n    %time z = 1\n"
              "    return x + y + (a\n% 3 if False else 0)\n%matplotlib inline\ns = '''\n% kept'''\n")
    clean = extract.strip_magics(source)
    assert clean.count("% b") == 2 and "% 3" in clean and "% kept" in clean
    assert "%time" not in clean and "%matplotlib" not in clean
    namespace = {}
    exec(clean, namespace)
    assert namespace["f"](7, 4) == 6
    assert "% b" in extract.student_cells(_nb(source), keep_names=["f"])[0].source
