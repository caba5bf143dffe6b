"""Experiment cells: tagged by the authoring helper, skipped by ``grade``'s nbgrader pass only."""
import nbformat
import pytest

from autograder import authoring, nbmeta
from autograder.course import Course
from autograder.nbgrader_glue import preprocessors
from autograder.reports import ItemId
from course_config import CONFIG, ROOT


def preprocess(cells):
    nb = nbformat.v4.new_notebook(cells=cells)
    out, _ = preprocessors.SkipExperiments()(nb, {})  # as nbconvert calls it (only if enabled)
    return [c.source for c in out.cells]


def test_tagged_demonstrations_are_replaced_and_the_rest_is_kept():
    sources = preprocess([authoring.code("train()", experiment=True), authoring.code("x = 1"),
                          authoring.markdown("text")])
    assert sources == [preprocessors.SKIPPED, "x = 1", "text"]
    assert preprocessors.SKIPPED.startswith("#") and "\n" not in preprocessors.SKIPPED


@pytest.mark.parametrize("make", [
    lambda: authoring.tests("01_sgd_weight_decay", "l2_to_decay", "assert l2_to_decay(1, 2) == 2"),
    lambda: authoring.solution("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"),
    lambda: authoring.code("import torch", locked_id="imports"),
])
def test_a_tag_added_to_a_graded_or_locked_cell_is_ignored(make):
    cell = make()
    cell.metadata[nbmeta.EXPERIMENT_KEY] = {"experiment": True}  # what a student could add
    assert not nbmeta.is_experiment(cell)
    assert preprocess([cell]) == [cell.source]


def test_grade_and_nbgraders_own_apps_skip_experiments_unless_asked(tmp_path):
    course = Course(CONFIG, tmp_path)
    steps = course.nbgrader_config().Autograde.autograde_preprocessors
    assert steps.index("autograder.nbgrader_glue.preprocessors.SkipExperiments") + 1 == \
        [s.rsplit(".", 1)[-1] for s in steps].index("Execute")
    assert "autograde_preprocessors" not in course.nbgrader_config(run_experiments=True).Autograde
    from traitlets.config.loader import PyFileConfigLoader
    apps = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert apps.Autograde.autograde_preprocessors == steps


def test_course_notebooks_tag_demonstrations_only():
    """Every notebook has tagged cells, and none of them defines a graded function or is graded."""
    graded = {ItemId.parse(k).name for k in CONFIG.points}
    for notebook in CONFIG.notebooks:
        nb = nbformat.read(ROOT / "solutions" / CONFIG.assignment / f"{notebook}.ipynb", as_version=4)
        tagged = [c for c in nb.cells if nbmeta.is_experiment(c)]
        assert tagged, f"{notebook}: no experiment cells"
        for cell in tagged:
            assert not any(f"def {fn}(" in cell.source for fn in graded), cell.source[:80]
