"""Notebooks run in real kernels: solutions pass their own tests; student versions fail only
with NotImplementedError, and every graded test cell fails. (Their run time is measured by
``make bench-notebooks``, not asserted here: it depends on the machine's load.)"""
import pytest

from .conftest import NOTEBOOKS, errors, execute, meta, release_path, solution_path, stderr


@pytest.mark.slow
@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_solution_notebook_runs_and_passes_its_tests(stem):
    nb, _ = execute(solution_path(stem))
    failures = [(i, e.ename, e.evalue) for i, c in enumerate(nb.cells) for e in errors(c)]
    assert not failures, f"{stem}: cells failed: {failures}"
    noisy = [meta(c)["grade_id"] for c in nb.cells if meta(c).get("grade") and c.cell_type == "code"
             and stderr(c)]
    assert not noisy, f"{stem}: test cells wrote to stderr (nbgrader would give 0): {noisy}"
    valued = [meta(c)["grade_id"] for c in nb.cells if meta(c).get("grade") and c.cell_type == "code"
              and any(o.output_type == "execute_result" for o in c.outputs)]
    assert not valued, f"{stem}: test cells end in an expression: {valued}"


@pytest.mark.slow
@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_student_notebook_fails_only_where_code_is_missing(stem):
    nb, _ = execute(release_path(stem))
    wrong = [(i, e.ename, e.evalue) for i, c in enumerate(nb.cells) for e in errors(c)
             if e.ename != "NotImplementedError"]
    assert not wrong, f"{stem}: errors other than NotImplementedError: {wrong}"
    passing = [meta(c)["grade_id"] for c in nb.cells
               if meta(c).get("grade") and c.cell_type == "code" and not errors(c)]
    assert not passing, f"{stem}: test cells pass without any student code: {passing}"
