import dataclasses

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso

import data_gen
from autograder.reference import RULES
from wdlab import sparsity
from wdlab.sparsity import f1_score, relative_error, ridge_slope, support_metrics, sweep_l1


@pytest.fixture(scope="module")
def data():
    return data_gen.make_sparse_regression()


@pytest.fixture(scope="module")
def small():
    return data_gen.make_sparse_regression(n_train=60, n_val=20, d=8, k=2, seed=1)


def _lasso(data, penalty):
    return Lasso(alpha=penalty, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(
        data.x_train.numpy(), data.y_train.numpy()).coef_


# ---------------------------------------------------------------- metrics

def test_support_metrics_known_answers():
    support = torch.tensor([True, True, False, False])
    assert support_metrics(torch.tensor([1.0, 0.0, 2.0, 0.0]), support) == (0.5, 0.5)
    assert support_metrics(torch.tensor([1.0, -3.0, 0.0, 0.0]), support) == (1.0, 1.0)
    assert support_metrics(torch.tensor([1.0, 1e-3, 1e-3, 0.0]), support, threshold=1e-2) == (1.0, 0.5)
    assert support_metrics(np.array([1.0, 1.0, 1.0, 1.0]), support.numpy()) == (0.5, 1.0)


def test_no_nonzero_has_precision_one_recall_zero_and_f1_zero():
    precision, recall = support_metrics(torch.zeros(4), torch.tensor([True, False, False, False]))
    assert (precision, recall) == (1.0, 0.0)
    assert f1_score(precision, recall) == 0.0
    assert f1_score(0.0, 0.0) == 0.0 and f1_score(0.5, 1.0) == pytest.approx(2 / 3)


def test_metrics_are_batched():
    support = torch.tensor([True, False, False])
    w = torch.tensor([[[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 1.0, 1.0]]])
    precision, recall = support_metrics(w, support)
    assert np.array_equal(precision, [[1.0, 0.5], [1.0, 0.0]])
    assert np.array_equal(recall, [[1.0, 1.0], [0.0, 0.0]])
    assert np.allclose(relative_error(w, torch.tensor([1.0, 0.0, 0.0])), [[0.0, 1.0], [1.0, np.sqrt(3)]])


def test_relative_error_known_answers():
    w_star = torch.tensor([3.0, 4.0])
    assert relative_error(torch.zeros(2), w_star) == 1.0
    assert relative_error(w_star, w_star) == 0.0
    assert relative_error(np.array([3.0, 0.0]), w_star) == pytest.approx(0.8)


@pytest.mark.parametrize("call, match", [
    (lambda: support_metrics(torch.zeros(3), torch.tensor([1, 0, 0])), "boolean mask"),
    (lambda: support_metrics(torch.zeros(3), torch.zeros(3, dtype=torch.bool)), "support is empty"),
    (lambda: support_metrics(torch.zeros(4), torch.tensor([True, False, False])), r"shaped \[\.\.\., 3\]"),
    (lambda: support_metrics(torch.zeros(3), torch.tensor([True, False, False]), threshold=-1), "threshold"),
    (lambda: relative_error(torch.zeros(3), torch.zeros(3)), "all zeros"),
    (lambda: relative_error(torch.zeros(2), torch.ones(3)), "shaped"),
])
def test_bad_metric_input_says_what_is_wrong(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- the sweep

def _alone(rule, data, steps, order=None, **hparams):
    """One configuration by hand: plain float hyperparameters, the gradient written out."""
    x, y = data.x_train, data.y_train
    theta = torch.zeros(1, x.shape[1], dtype=torch.float64)
    state = {k: torch.zeros_like(theta) for k in rule.state}
    for t in range(1, steps + 1):
        xb, yb = (x, y) if order is None else (x[order[t - 1]], y[order[t - 1]])
        grad = (theta @ xb.T - yb) @ xb / len(yb)
        theta, state = rule(theta, grad, state, t, **hparams)
    return theta[0]


@pytest.mark.parametrize("name", ["adamw_l1", "adam_l1"])
def test_the_batched_sweep_equals_separate_runs(small, name):
    grid = {"lr": [0.01, 0.05], "l1": [0.002, 0.01, 0.03]}
    result = sweep_l1(RULES[name], small, grid=grid, steps=150, eps=1e-2, workers=1)
    assert result.mode == "batched" and result.shape == (2, 3) and result.weights.shape == (2, 3, 8)
    for i, lr in enumerate(grid["lr"]):
        for j, l1 in enumerate(grid["l1"]):
            alone = _alone(RULES[name], small, 150, lr=lr, l1=l1, eps=1e-2)
            np.testing.assert_allclose(result.weights[i, j], alone.numpy(), rtol=1e-10, atol=1e-12)
    precision, recall = support_metrics(torch.from_numpy(result.weights), small.support)
    assert np.array_equal(result.precision, precision) and np.array_equal(result.recall, recall)
    assert np.array_equal(result.nonzeros, (result.weights != 0).sum(-1))
    val = small.loss(torch.from_numpy(result.weights), "val").numpy()
    np.testing.assert_allclose(result.val_loss, val, rtol=1e-12)
    assert result.train_loss.shape == (2, 3, 150)


def test_parts_side_by_side_give_the_same_weights(small):
    grid = {"lr": [0.01, 0.02, 0.05, 0.1], "l1": [0.001, 0.003, 0.01]}
    one = sweep_l1(RULES["adamw_l1"], small, grid=grid, steps=100, workers=1)
    two = sweep_l1(RULES["adamw_l1"], small, grid=grid, steps=100, workers=2)
    assert two.workers == 2
    np.testing.assert_allclose(two.weights, one.weights, rtol=1e-12, atol=1e-14)


def test_minibatches_follow_the_seed(small):
    from wdlab.engine import batch_order
    grid = {"lr": [0.02], "l1": [0.005]}
    run = lambda seed: sweep_l1(RULES["adamw_l1"], small, grid=grid, steps=40, batch_size=20,  # noqa: E731
                                seed=seed, workers=1)
    a, b, c = run(3), run(3), run(4)
    assert np.array_equal(a.weights, b.weights) and not np.array_equal(a.weights, c.weights)
    alone = _alone(RULES["adamw_l1"], small, 40, order=batch_order(60, 20, 40, 3), lr=0.02, l1=0.005)
    np.testing.assert_allclose(a.weights[0, 0], alone.numpy(), rtol=1e-10, atol=1e-12)


def test_a_rule_that_does_not_broadcast_trains_one_configuration_at_a_time(small, capsys):
    def scalar_only(theta, grad, state, t, lr, l1, eta=1.0):
        step = theta - float(lr) * grad  # float(): a [G, 1] tensor cannot be converted
        return step.sign() * (step.abs() - float(l1)).clamp(min=0), state

    grid = {"lr": [0.05, 0.1], "l1": [0.001, 0.01]}
    looped = sweep_l1(scalar_only, small, grid=grid, steps=50, workers=1)
    assert looped.mode == "loop" and "can be converted" in looped.note
    assert "one at a time" in capsys.readouterr().out
    for i, lr in enumerate(grid["lr"]):
        for j, l1 in enumerate(grid["l1"]):
            alone = _alone(_stateless(scalar_only), small, 50, lr=lr, l1=l1)
            np.testing.assert_allclose(looped.weights[i, j], alone.numpy(), rtol=1e-12)


def _stateless(fn):
    fn.state = ()  # what _alone reads: the rule keeps no state
    return fn


def test_decoupled_l1_recovers_the_support_and_adam_l1_makes_no_exact_zero(data):
    """The defaults' problem: decoupled L1 (eps 1e-2, l1 / lr = 0.9) finds exactly the true
    support; Adam with l1 sign(theta) in the gradient ends near the lasso but zeroes nothing."""
    decoupled = sweep_l1(RULES["adamw_l1"], data, grid={"lr": [0.05], "l1": [0.045]}, steps=2000,
                         eps=1e-2, beta2=0.99)
    assert decoupled.precision[0, 0] == 1.0 and decoupled.recall[0, 0] == 1.0
    assert np.array_equal(decoupled.weights[0, 0] != 0, data.support.numpy())
    in_grad = sweep_l1(RULES["adam_l1"], data, grid={"lr": [0.01], "l1": [0.05]}, steps=2000, beta2=0.99)
    assert in_grad.nonzeros[0, 0] == data.x_train.shape[1]
    assert in_grad.precision[0, 0] == pytest.approx(data.k / data.x_train.shape[1])
    lasso = _lasso(data, 0.05)
    assert abs(in_grad.rel_error[0, 0] - relative_error(lasso, data.w_star)) < 0.01


def test_decoupled_l1_converges_to_the_lasso_with_penalty_eps_r_over_1_minus_r(data):
    lr, l1, eps = 0.05, 0.03, 1e-2
    result = sweep_l1(RULES["adamw_l1"], data, grid={"lr": [lr], "l1": [l1]}, steps=2000, eps=eps,
                      beta2=0.99)
    r = l1 / lr
    lasso = _lasso(data, eps * r / (1 - r))
    assert np.abs(result.weights[0, 0] - lasso).max() < 1e-3
    assert np.array_equal(result.weights[0, 0] != 0, lasso != 0)


def test_best_picks_the_most_accurate_of_the_perfect_cells(small):
    result = sweep_l1(RULES["adamw_l1"], small, grid={"lr": [0.05, 0.1], "l1": [0.01, 0.02]}, steps=20)
    result = dataclasses.replace(result, f1=np.ones((2, 2)), rel_error=np.array([[0.3, 0.2], [0.1, 0.4]]))
    assert result.best("f1") == {"lr": 0.1, "l1": 0.01}
    assert result.best("rel_error") == {"lr": 0.1, "l1": 0.01}
    assert result.at(0.05, 0.02)["rel_error"] == 0.2
    with pytest.raises(ValueError, match="not a cell"):
        result.at(0.07, 0.01)
    with pytest.raises(ValueError, match="metric must be one of"):
        result.best("nonzeros")


# ---------------------------------------------------------------- bad input

def test_a_rule_without_the_course_signature_is_refused(small):
    with pytest.raises(ValueError, match="course signature"):
        sweep_l1(lambda theta, grad: theta, small, grid={"lr": [0.1], "l1": [0.01]}, steps=5)


def test_a_rule_returning_the_wrong_shape_is_refused(small):
    def flat(theta, grad, state, t, lr, l1, eta=1.0):
        return theta.flatten(), state

    with pytest.raises(ValueError, match="shaped like theta"):
        sweep_l1(flat, small, grid={"lr": [0.1], "l1": [0.01]}, steps=5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(grid={"lr": [0.1]}), "exactly the axes"),
    (dict(grid={"lr": [0.1], "wd": [0.1]}), "exactly the axes"),
    (dict(grid={"lr": [0.1], "l1": [0.0]}), "positive finite"),
    (dict(grid={"lr": [0.1], "l1": [0.1]}, steps=0), "steps"),
    (dict(grid={"lr": [0.1], "l1": [0.1]}, batch_size=61), "batch_size"),
    (dict(grid={"lr": [0.1], "l1": [0.1]}, threshold=-1.0), "threshold"),
    (dict(grid={"lr": [0.1], "l1": [0.1]}, workers=0), "workers"),
    (dict(grid={"lr": [0.1], "l1": [0.1]}, l1=0.1), "both a grid axis and a fixed"),
])
def test_bad_sweep_arguments_say_what_is_wrong(small, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sweep_l1(RULES["adamw_l1"], small, **kwargs)


def test_data_that_is_not_a_sparse_regression_is_refused():
    with pytest.raises(ValueError, match="make_sparse_regression"):
        sweep_l1(RULES["adamw_l1"], data_gen.make_regression(), grid={"lr": [0.1], "l1": [0.1]})


# ---------------------------------------------------------------- ridge and heatmaps

@pytest.fixture(scope="module")
def grid_result(small):
    lrs = np.logspace(-3, -1, 5).tolist()
    return sweep_l1(RULES["adamw_l1"], small, grid={"lr": lrs, "l1": lrs}, steps=10)


def test_ridge_slope_reads_where_the_best_l1_lies(grid_result):
    n = len(grid_result.grid["lr"])
    diagonal = np.eye(n)             # best l1 = lr: slope +1
    anti = np.eye(n)[::-1]           # best l1 = 1e-4 / lr: slope -1
    flat_row = np.zeros((n, n))
    flat_row[:, 2] = 1.0             # the same l1 for every lr: slope 0
    for f1, slope in [(diagonal, 1.0), (anti, -1.0), (flat_row, 0.0)]:
        assert ridge_slope(dataclasses.replace(grid_result, f1=f1), "f1") == pytest.approx(slope, abs=1e-9)
    assert ridge_slope(dataclasses.replace(grid_result, rel_error=1.0 - diagonal), "rel_error") == \
        pytest.approx(1.0)
    assert np.isnan(ridge_slope(dataclasses.replace(grid_result, f1=np.full((n, n), 0.2)), "f1"))


def test_heatmaps_draw_a_row_per_metric_with_the_ridge_slope(grid_result):
    import matplotlib.pyplot as plt
    fig = sparsity.heatmaps({"a": grid_result, "b": grid_result}, metrics=("f1", "rel_error", "nonzeros"))
    axes = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    assert len(axes) == 6
    titles = [a.get_title() for a in axes]
    # f1 and rel_error say their ridge ("no ridge (flat)" where the metric is the same in every
    # cell); nonzeros has no better direction
    assert sum("ridge slope" in t or "no ridge (flat)" in t for t in titles) == 4
    assert not any("nan" in t for t in titles)
    plt.close(fig)
    with pytest.raises(ValueError, match="metric must be one of"):
        sparsity.heatmaps({"a": grid_result}, metrics="val_acc")
    with pytest.raises(ValueError, match="L1Sweep"):
        sparsity.heatmaps({})
