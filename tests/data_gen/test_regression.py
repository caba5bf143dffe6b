import pytest
import torch
from sklearn.linear_model import Ridge

from data_gen import make_regression, ridge_solution
from tests.conftest import DEVICES


def test_ridge_solution_matches_scikit_learn():
    """sklearn's Ridge minimises |y - Xw|^2 + alpha |w|^2, i.e. alpha = n * l2 here."""
    r = make_regression(n=100, d=8, condition_number=50.0, seed=1)
    ours = r.ridge_solution(0.3)
    theirs = Ridge(alpha=100 * 0.3, fit_intercept=False).fit(r.x.numpy(), r.y.numpy()).coef_
    torch.testing.assert_close(ours, torch.from_numpy(theirs), rtol=1e-8, atol=1e-10)


def test_ridge_solution_zeroes_the_gradient():
    r = make_regression(n=60, d=5, seed=2)
    w = ridge_solution(r.x, r.y, 0.1)
    assert r.grad(w, 0.1).abs().max() < 1e-12


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1000.0])
def test_condition_number_is_as_requested(kappa):
    r = make_regression(n=80, d=6, condition_number=kappa, seed=3)
    s = torch.linalg.svdvals(r.x / 80 ** 0.5)
    assert abs((s.max() / s.min()).item() / kappa - 1) < 1e-9


@pytest.mark.parametrize("device", DEVICES)
def test_deterministic_on_every_device(device):
    a, b = make_regression(seed=4), make_regression(seed=4, device=device)
    assert torch.equal(a.x, b.x.cpu()) and torch.equal(a.w_true, b.w_true.cpu())


@pytest.mark.parametrize("kwargs, name", [
    (dict(n=1), "n"), (dict(d=0), "d"), (dict(d=500), "d"),
    (dict(condition_number=0.5), "condition_number"), (dict(noise=-1.0), "noise"),
])
def test_bad_arguments_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_regression(**kwargs)
