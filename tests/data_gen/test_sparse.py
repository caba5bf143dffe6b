import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso

from data_gen import least_squares, make_sparse_regression
from data_gen.sparse import MAGNITUDES
from tests.conftest import DEVICES


def test_the_true_weights_have_exactly_k_nonzeros_bounded_away_from_zero():
    data = make_sparse_regression(d=30, k=7, seed=1)
    assert data.k == 7 and int((data.w_star != 0).sum()) == 7
    assert torch.equal(data.support, data.w_star != 0) and data.support.dtype == torch.bool
    magnitudes = data.w_star[data.support].abs()
    assert magnitudes.min() >= MAGNITUDES[0] and magnitudes.max() <= MAGNITUDES[1]
    assert data.x_train.shape == (200, 30) and data.y_train.shape == (200,)
    assert data.x_val.shape == (200, 30) and data.y_val.shape == (200,)


def test_the_noise_is_what_was_asked_for():
    data = make_sparse_regression(n_train=4000, d=10, k=3, noise=0.3, seed=2)
    residual = data.y_train - data.x_train @ data.w_star
    assert abs(residual.std().item() - 0.3) < 0.02


@pytest.mark.parametrize("rho", [0.0, 0.6])
def test_neighbouring_features_are_correlated_as_asked(rho):
    data = make_sparse_regression(n_train=20000, d=6, k=2, correlation=rho, seed=3)
    corr = np.corrcoef(data.x_train.numpy().T)
    assert np.allclose(np.diag(corr, 1), rho, atol=0.03)
    assert np.allclose(np.diag(corr, 2), rho ** 2, atol=0.03)  # C_ij = rho^|i-j|


def test_the_same_seed_gives_the_same_problem_and_another_seed_another():
    a, b, c = make_sparse_regression(seed=4), make_sparse_regression(seed=4), make_sparse_regression(seed=5)
    for name in ("x_train", "y_train", "x_val", "y_val", "w_star", "support"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.support, c.support) or not torch.equal(a.x_train, c.x_train)


@pytest.mark.parametrize("device", DEVICES)
def test_deterministic_on_every_device(device):
    a, b = make_sparse_regression(seed=6), make_sparse_regression(seed=6, device=device)
    assert torch.equal(a.x_train, b.x_train.cpu()) and torch.equal(a.w_star, b.w_star.cpu())
    assert b.support.device.type == torch.device(device).type


def test_least_squares_is_batched_and_its_gradient_is_autograds():
    data = make_sparse_regression(d=8, k=2, seed=7)
    w = torch.randn(3, 8, dtype=torch.float64, requires_grad=True)
    loss, grad = least_squares(w, data.x_train, data.y_train)
    assert loss.shape == (3,) and grad.shape == (3, 8)
    (auto,) = torch.autograd.grad(loss.sum(), w)
    torch.testing.assert_close(grad, auto, rtol=1e-12, atol=1e-12)
    one = 0.5 * ((data.x_train @ w[1] - data.y_train) ** 2).mean()
    torch.testing.assert_close(loss[1], one)
    torch.testing.assert_close(data.loss(w[1], "val"), least_squares(w[1], data.x_val, data.y_val)[0])


def test_the_default_problem_is_one_the_lasso_solves():
    """The usual penalty noise sqrt(2 log d / n) (scikit-learn's Lasso: same loss convention)
    selects exactly the true support."""
    data = make_sparse_regression()
    n, d = data.x_train.shape
    alpha = data.noise * math.sqrt(2 * math.log(d) / n)
    w = Lasso(alpha=alpha, fit_intercept=False, tol=1e-10, max_iter=100_000).fit(
        data.x_train.numpy(), data.y_train.numpy()).coef_
    assert np.array_equal(w != 0, data.support.numpy())


@pytest.mark.parametrize("kwargs, name", [
    (dict(n_train=1), "n_train"), (dict(n_val=0), "n_val"), (dict(d=0), "d"), (dict(k=0), "k"),
    (dict(d=5, k=6), "k"), (dict(noise=-0.1), "noise"), (dict(correlation=-0.2), "correlation"),
    (dict(correlation=1.0), "correlation"), (dict(seed=-1), "seed"), (dict(k=2.0), "k"),
    (dict(dtype=torch.int64), "dtype"),
])
def test_bad_arguments_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_sparse_regression(**kwargs)


def test_loss_rejects_an_unknown_split():
    with pytest.raises(ValueError, match="split must be 'train' or 'val'"):
        make_sparse_regression(d=4, k=1).loss(torch.zeros(4, dtype=torch.float64), "test")
