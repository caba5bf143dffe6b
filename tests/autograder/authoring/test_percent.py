"""The percent-format reader builds each cell kind with the authoring builders, names the file and
line of a bad cell, and turns each real source into exactly the committed solution notebook."""
import re

import pytest

from autograder import authoring as A
from autograder import nbmeta
from autograder.authoring import percent
from autograder.authoring.conventions import solutions_dir
from course_config import CONFIG

NB = "01_sgd_weight_decay"   # a real notebook, so ``tests`` cells find their points

SOURCE = r'''"""A docstring: ignored, even with # %% [markdown] inside a line."""

# %% [markdown]
# # Title
#
#   indented $\lambda'$ line
#no space after the hash

# %% [markdown] locked=intro
# Read only.

# %% setup
import math

# %% solution
def l2_to_decay(lr, l2):
    ### BEGIN SOLUTION
    return lr * l2
    ### END SOLUTION

# %% solution grade_id=helpers
HALF = 0.5


def helper():
    ### BEGIN SOLUTION
    return HALF
    ### END SOLUTION

# %% tests l2_to_decay
assert l2_to_decay(1, 2) == 2
### BEGIN HIDDEN TESTS
assert l2_to_decay(2, 2) == 4
### END HIDDEN TESTS

# %% [markdown] answer q1 points=2.5
# Model answer with $\alpha\lambda'$.

# %% [markdown] mark_scheme q1
# - 2.5 pt: all of it.

# %%
x = 1


y = "\n"

# %% experiment
print(x)

# %% locked=frozen
z = 2
'''


def read(tmp_path, text, stem=NB):
    path = tmp_path / f"{stem}.py"
    path.write_text(text, encoding="utf-8")
    return percent.read_cells(path)


def test_each_cell_kind_is_built_by_its_builder(tmp_path):
    cells = read(tmp_path, SOURCE)
    expected = [
        A.markdown("# Title\n\n  indented $\\lambda'$ line\nno space after the hash"),
        A.markdown("Read only.", locked_id="intro"),
        A.setup("import math"),
        A.solution("def l2_to_decay(lr, l2):\n    ### BEGIN SOLUTION\n    return lr * l2\n"
                   "    ### END SOLUTION"),
        A.solution("HALF = 0.5\n\n\ndef helper():\n    ### BEGIN SOLUTION\n    return HALF\n"
                   "    ### END SOLUTION", grade_id="helpers"),
        A.tests(NB, "l2_to_decay", "assert l2_to_decay(1, 2) == 2\n### BEGIN HIDDEN TESTS\n"
                "assert l2_to_decay(2, 2) == 4\n### END HIDDEN TESTS"),
        A.answer("q1", 2.5, "Model answer with $\\alpha\\lambda'$."),
        A.mark_scheme("q1", "- 2.5 pt: all of it."),
        A.code('x = 1\n\n\ny = "\\n"'),
        A.code("print(x)", experiment=True),
        A.code("z = 2", locked_id="frozen"),
    ]
    assert [(c.cell_type, c.source, c.metadata) for c in cells] == \
        [(c.cell_type, c.source, c.metadata) for c in expected]


def test_cell_metadata_is_the_nbgrader_one(tmp_path):
    cells = read(tmp_path, SOURCE)
    kinds = [(c.cell_type, nbmeta.grade_id(c), {k for k, v in nbmeta.nbgrader(c).items() if v is True})
             for c in cells]
    assert kinds == [
        ("markdown", None, set()),
        ("markdown", "intro", {"locked"}),
        ("code", "setup", {"locked"}),
        ("code", "l2_to_decay", {"solution"}),
        ("code", "helpers", {"solution"}),
        ("code", "test_l2_to_decay", {"grade", "locked"}),
        ("markdown", "q1", {"grade", "solution"}),
        ("markdown", "q1_mark_scheme", {"locked", "task"}),
        ("code", None, set()),
        ("code", None, set()),
        ("code", "frozen", {"locked"}),
    ]
    assert nbmeta.nbgrader(cells[5])["points"] == CONFIG.points[f"{NB}:l2_to_decay"]
    assert nbmeta.nbgrader(cells[6])["points"] == 2.5
    assert cells[2].source.startswith("import random") and cells[2].source.endswith("import math")
    assert cells[6].source == "### BEGIN SOLUTION\nModel answer with $\\alpha\\lambda'$.\n### END SOLUTION"
    assert [nbmeta.is_experiment(c) for c in cells[8:]] == [False, True, False]


@pytest.mark.parametrize("header, problem", [
    ("# %% sollution", "unknown cell kind 'sollution'"),
    ("# %% [markdown] answr q1 points=1", "unknown markdown cell kind 'answr'"),
    ("# %% tests", "expected 'tests <function>'"),
    ("# %% [markdown] answer q1", "expected '[markdown] answer <grade_id> points=<n>'"),
    ("# %% [markdown] answer q1 points=two", "points must be a number"),
    ("# %% [markdown] answer q1 2", "expected points=<n>, got '2'"),
    ("# %% [markdown] mark_scheme", "expected '[markdown] mark_scheme <answer_id>'"),
    ("# %% setup now", "unexpected argument 'now'"),
    ("# %% solution grade_id=", "unexpected argument 'grade_id='"),
    ("# %% experiment experiment", "either 'experiment' or 'locked=<id>', not both"),
    ("# %% experiment locked=x", "either 'experiment' or 'locked=<id>', not both"),
    ("# %% locked", "unknown cell kind 'locked'"),
    ("# %% [markdown] locked=x extra=1", "unexpected argument 'extra=1'"),
    ("# %% tests not_a_graded_function", "not a graded item"),
])
def test_bad_headers_are_value_errors_naming_file_and_line(tmp_path, header, problem):
    text = f'"""doc"""\n\n# %%\nx = 1\n\n{header}\ndef f():\n    ### BEGIN SOLUTION\n' \
           f'    pass\n    ### END SOLUTION\n'
    path = tmp_path / f"{NB}.py"
    with pytest.raises(ValueError, match=re.escape(f"{path}:6: ") + ".*" + re.escape(problem)):
        read(tmp_path, text)


def test_bad_bodies_are_value_errors_naming_file_and_line(tmp_path):
    path = tmp_path / f"{NB}.py"
    with pytest.raises(ValueError, match=re.escape(f"{path}:3: ") + "markdown lines must be comments"):
        read(tmp_path, "# %%\nx = 1\n# %% [markdown]\n# text\nnot a comment\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}:1: ") + "solution: source must contain"):
        read(tmp_path, "# %% solution\ndef f():\n    return 1\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}: ") + "no '# %%' line"):
        read(tmp_path, '"""Only a docstring."""\n')


def test_a_percent_like_line_is_not_a_header(tmp_path):
    cells = read(tmp_path, "# %% [markdown]\n# 100%% sure\n#%% not a header\n")
    assert [c.source for c in cells] == ["100%% sure\n%% not a header"]


def test_the_sources_are_the_course_notebooks():
    assert [p.stem for p in percent.source_files()] == list(CONFIG.notebooks)


@pytest.mark.parametrize("source", percent.source_files(), ids=lambda p: p.stem)
def test_each_source_builds_the_committed_solution_byte_for_byte(source, tmp_path):
    built = percent.build_source(source, tmp_path)
    committed = solutions_dir() / f"{source.stem}.ipynb"
    assert built == tmp_path / committed.name
    assert built.read_bytes() == committed.read_bytes(), \
        f"{committed} is stale: run `python -m autograder.authoring.percent {source.stem}`"


def test_main_rejects_an_unknown_name(capsys):
    with pytest.raises(SystemExit):
        percent.main(["04_no_such_notebook"])
    assert "no source for 04_no_such_notebook" in capsys.readouterr().err
