"""wdlab.validate: a student's check before submitting, run headless from a fresh kernel."""
import sys

import nbformat
import pytest

import course_config
from wdlab import validate

STEM = "01_sgd_weight_decay"
CFG = course_config.load({"notebooks": (STEM,), "points": {f"{STEM}:f": 1.0}}, environ={})


def graded(cell, gid, solution=False, grade=False):
    cell.metadata["nbgrader"] = {"grade_id": gid, "solution": solution, "grade": grade,
                                 "locked": not solution, "schema_version": 3}
    return cell


def notebook(folder, cells, name=f"{STEM}.ipynb"):
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / name
    nbformat.write(nb, path)
    return path


def test_a_notebook_with_mistakes_lists_each_in_cell_order_and_stays_unchanged(tmp_path):
    v4 = nbformat.v4
    path = notebook(tmp_path, [
        v4.new_code_cell("import time"),
        graded(v4.new_markdown_cell("YOUR ANSWER HERE"), "derive", solution=True, grade=True),
        graded(v4.new_code_cell("def f():\n    return 1"), "f", solution=True),
        graded(v4.new_code_cell('assert f() == 2, "f should give 2"'), "test_f", grade=True),
        v4.new_code_cell("time.sleep(60)"),
        v4.new_code_cell("print('after the slow cell')"),
    ])
    before = path.read_bytes()
    result = validate.validate(path, timeout_s=3, cfg=CFG)
    assert path.read_bytes() == before
    assert len(result.problems) == 3, result.problems
    answer, check, slow = result.problems
    assert answer.startswith("cell 2 (derive)") and "written answer not given yet" in answer
    assert check.startswith("cell 4 (test_f)") and "AssertionError: f should give 2" in check
    assert slow.startswith("cell 5 `time.sleep(60)`") and "ran longer than 3 s" in slow
    assert result.cells_run == 5  # the cell after the stopped one ran too
    assert "3 to fix" in validate.report(result)


def test_a_finished_notebook_passes_in_a_kernel_of_this_python_in_its_folder(tmp_path, capsys,
                                                                           monkeypatch):
    path = notebook(tmp_path, [
        graded(nbformat.v4.new_code_cell("def f():\n    return 2"), "f", solution=True),
        graded(nbformat.v4.new_code_cell("assert f() == 2"), "test_f", grade=True),
        nbformat.v4.new_code_cell("import sys\nopen('kernel.txt', 'w').write(sys.executable)"),
    ])
    monkeypatch.setattr(course_config, "CONFIG", CFG)  # main() reads the course's settings
    assert validate.main([str(path)]) == 0
    assert f"{path}: OK (3 code cells ran without an error)" in capsys.readouterr().out
    assert (tmp_path / "kernel.txt").read_text() == sys.executable


def test_a_renamed_notebook_and_a_deleted_check_are_named(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[graded(nbformat.v4.new_code_cell("def f(): pass"), "f",
                                                solution=True)])
    renamed = validate.static_problems(tmp_path / "my_work.ipynb", nb, CFG)
    assert renamed == [(-1, "'my_work.ipynb' is not a notebook name of the assignment "
                            "(01_sgd_weight_decay.ipynb): the grader only finds a notebook under "
                            "its original name")]
    deleted = validate.static_problems(tmp_path / f"{STEM}.ipynb", nb, CFG)
    assert [text for _, text in deleted] == [
        "graded cell 'test_f' is missing: copy it back from the notebook you were given"]


def test_a_file_that_is_not_a_notebook_is_a_clear_error(tmp_path, capsys):
    broken = tmp_path / f"{STEM}.ipynb"
    broken.write_text("{ not json")
    with pytest.raises(ValueError, match="cannot be read as a notebook"):
        validate.validate(broken, cfg=CFG)
    assert validate.main([str(broken)]) == 2
    assert "restore it" in capsys.readouterr().err


def test_default_notebooks_are_the_assignments_in_teaching_order():
    paths = validate.default_notebooks(course_config.CONFIG)
    assert [p.stem for p in paths] == list(course_config.CONFIG.notebooks)
    assert all(p.parent == course_config.ROOT / "notebooks" / course_config.CONFIG.assignment
               for p in paths)
