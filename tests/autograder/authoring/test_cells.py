"""The authoring checks and the hidden-test helpers catch what they are meant to catch."""
import importlib

import nbformat
import pytest
import torch

from autograder import authoring as A
from autograder.reference import RULES
from autograder.reference.checks import check_function, check_rule

NB = "01_sgd_weight_decay"
ITEMS = ["l2_to_decay", "sgd_l2_momentum_step", "sgdw_momentum_step", "sgdw_equivalent_l2"]


def notebook(test_source="assert True", setup=True):
    cells = [A.setup()] if setup else [A.code("x = 1")]
    for fn in ITEMS:
        cells += [A.solution(f"def {fn}():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION"),
                  A.tests(NB, fn, test_source if fn == "l2_to_decay" else "assert True")]
    cells += [A.answer("q1", 2, "model answer"), A.mark_scheme("q1", "- 2 pt: all")]
    return nbformat.v4.new_notebook(cells=cells)


def test_a_conforming_notebook_has_no_problems():
    assert A.check(notebook(), NB) == []


@pytest.mark.parametrize("source, problem", [
    ("x = 1\nx", "ends in an expression"),
    ("assert True\n### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS\n1.0", "ends in an expression"),
    ("import autograder\nassert True", "outside its hidden-tests region"),
])
def test_bad_test_cells_are_reported(source, problem):
    assert any(problem in p for p in A.check(notebook(source), NB))


def test_missing_setup_cell_and_mark_scheme_are_reported():
    assert any("setup cell" in p for p in A.check(notebook(setup=False), NB))
    nb = notebook()
    nb.cells.pop()  # the mark scheme
    assert any("mark scheme" in p for p in A.check(nb, NB))


def test_tests_take_points_from_the_config_and_refuse_unknown_items():
    cell = A.tests(NB, "l2_to_decay", "assert True")
    assert cell.metadata.nbgrader["grade_id"] == "test_l2_to_decay"
    with pytest.raises(KeyError, match="not a graded item"):
        A.tests(NB, "no_such_function", "assert True")


def test_solution_cells_need_a_solution_region():
    with pytest.raises(ValueError, match="BEGIN SOLUTION"):
        A.solution("def f():\n    return 1")


def by_keyword(rule, rename=None):
    def fn(theta, grad, state, t, **hp):
        for new, old in (rename or {}).items():
            hp[old] = hp.pop(new)
        return rule(theta, grad, state, t, **hp)
    return fn


def test_check_rule_accepts_the_reference_itself():
    check_rule(by_keyword(RULES["sgdw_momentum"]), "sgdw_momentum", steps=3,
               lr=(1e-3, 1.0), wd=(1e-5, 1e-1), beta1=0.9)


def test_check_rule_rejects_l2_passed_off_as_decoupled_decay():
    wrong = by_keyword(RULES["sgd_l2_momentum"], rename={"wd": "l2"})
    with pytest.raises(AssertionError, match="differs"):
        check_rule(wrong, "sgdw_momentum", steps=3, lr=(1e-3, 1.0), wd=(1e-5, 1e-1), beta1=0.9)


def test_check_rule_rejects_in_place_updates():
    def in_place(theta, grad, state, t, lr, l2, beta1=0.9, eta=1.0):
        m = state["m"].mul_(beta1).add_(eta * lr * (grad + l2 * theta))
        return theta.sub_(m), {"m": m}
    with pytest.raises(AssertionError, match="in place"):
        check_rule(in_place, "sgd_l2_momentum", steps=2, lr=0.1, l2=0.01, beta1=0.9)


def test_check_rule_rejects_delegation_to_torch_optim():
    def delegating(theta, grad, state, t, lr, l2, beta1=0.9, eta=1.0):
        p = torch.nn.Parameter(theta.clone())
        torch.optim.SGD([p], lr=lr, weight_decay=l2).step()
        return p.detach(), state
    with pytest.raises(AssertionError, match="not torch.optim"):
        check_rule(delegating, "sgd_l2_momentum", lr=0.1, l2=0.01, beta1=0.0)


def test_check_function_reports_the_failing_inputs():
    with pytest.raises(AssertionError, match="inputs"):
        check_function(lambda lr, l2: lr + l2, lambda lr, l2: lr * l2, [{"lr": 0.1, "l2": 0.2}])


def adam_by_kernel(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
    """Adam through torch.optim's functional kernel: right numbers, but no optimizer object."""
    params, m, v = [theta.clone()], [state["m"].clone()], [state["v"].clone()]
    steps = [torch.tensor(float(t - 1), dtype=theta.dtype)]
    importlib.import_module("torch.optim.adam").adam(
        params, [grad], m, v, [], steps, amsgrad=False, beta1=beta1, beta2=beta2,
        lr=float(eta * lr), weight_decay=0.0, eps=eps, maximize=False)
    return params[0], {"m": m[0], "v": v[0]}


def test_check_rule_rejects_delegation_to_a_functional_kernel():
    theta, grad = torch.randn(5, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    zeros = RULES["adam"].init_state(theta)
    got, _ = adam_by_kernel(theta, grad, zeros, 1, lr=0.01)
    want, _ = RULES["adam"](theta, grad, zeros, 1, lr=0.01)
    torch.testing.assert_close(got, want)   # the kernel does compute Adam
    with pytest.raises(AssertionError, match="not torch.optim"):
        check_rule(adam_by_kernel, "adam", lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8)


def test_check_rule_grids_the_regularizer_too():
    def scalar_decay_only(theta, grad, state, t, lr, wd, beta1=0.9, eta=1.0):
        wd = wd.flatten()[0] if torch.is_tensor(wd) else wd   # ignores all configurations but one
        return RULES["sgdw_momentum"](theta, grad, state, t, lr=lr, wd=wd, beta1=beta1, eta=eta)
    with pytest.raises(AssertionError, match=r"wd as \[3, 1\] tensors"):
        check_rule(scalar_decay_only, "sgdw_momentum", steps=3, lr=(1e-3, 1.0), wd=(1e-5, 1e-1), beta1=0.9)


@pytest.mark.parametrize("name, hparams", [
    ("adam", dict(lr=(1e-4, 0.3), beta1=(0.5, 0.99), beta2=(0.9, 0.9999), eps=(1e-10, 1e-6))),
    ("adam_l2", dict(lr=(1e-4, 0.3), l2=(1e-4, 2.0), beta1=0.9)),
    ("adamw_paper", dict(lr=(1e-4, 0.3), wd=(1e-4, 0.1), beta1=0.9)),
])
def test_check_rule_accepts_the_adam_references(name, hparams):
    check_rule(by_keyword(RULES[name]), name, steps=3, **hparams)
