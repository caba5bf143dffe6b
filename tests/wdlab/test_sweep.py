import numpy as np
import pytest
import torch

import wdlab
from autograder.reference import RULES, cosine_warm_restarts
from autograder.reference.fused import FUSED_RULES
from wdlab.landscape import train_hidden_only
from wdlab.progress import report_to

SMALL = dict(steps=25, batch_size=50, hidden=(16, 16))
LRS, WDS = [1e-3, 1e-2, 5e-2], [1e-4, 1e-2]


def _alone(rule, data, **hp):
    return wdlab.train(rule, data, eval_every=None, **SMALL, **hp)


def _assert_slice_equals(result, index, alone):
    """A configuration inside the grid trains exactly as alone (<= 1e-5 relative)."""
    np.testing.assert_allclose(result.train_loss[index], alone.train_loss, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(result.val_loss[index], alone.val_loss[-1], rtol=1e-5)
    assert result.val_acc[index] == pytest.approx(alone.val_acc[-1], abs=1e-6)


@pytest.mark.parametrize("rule, decay", [("adamw_paper", "wd"), ("adam_l2", "l2"),
                                         ("sgdw_momentum", "wd")])
def test_grid_points_match_training_alone(small_data, rule, decay):
    result = wdlab.sweep(RULES[rule], small_data, grid={"lr": LRS, decay: WDS}, **SMALL)
    assert result.mode == "batched" and result.shape == (3, 2)
    assert result.train_loss.shape == (3, 2, 25)
    for i, j in [(0, 0), (1, 1), (2, 0)]:
        _assert_slice_equals(result, (i, j), _alone(RULES[rule], small_data, lr=LRS[i], **{decay: WDS[j]}))
    assert np.ptp(result.val_loss) > 0  # the configurations really differ


def test_schedule_axis_and_fixed_hyperparameters(small_data):
    cosine = lambda t: cosine_warm_restarts(t, period=10)  # noqa: E731
    result = wdlab.sweep(RULES["adamw_paper"], small_data, beta1=0.8,
                         grid={"schedule": [None, cosine], "lr": LRS, "wd": [1e-3]}, **SMALL)
    assert result.shape == (2, 3, 1)
    _assert_slice_equals(result, (0, 1, 0), _alone(RULES["adamw_paper"], small_data, lr=LRS[1],
                                                   wd=1e-3, beta1=0.8))
    _assert_slice_equals(result, (1, 2, 0), wdlab.train(
        RULES["adamw_paper"], small_data, schedule=cosine, eval_every=None, lr=LRS[2], wd=1e-3,
        beta1=0.8, **SMALL))
    flat = result.select("schedule", 1)
    assert flat.shape == (3, 1) and flat.fixed["schedule"] is cosine


def test_rule_that_needs_floats_falls_back_to_a_loop(small_data, capsys):
    def sgdw(theta, grad, state, t, lr, wd, eta=1.0):
        return theta - float(lr) * grad - wd * theta, state

    result = wdlab.sweep(sgdw, small_data, grid={"lr": LRS, "wd": WDS}, **SMALL)
    out = capsys.readouterr().out
    assert result.mode == "loop" and "one at a time" in out and out.count("\n") == 1
    _assert_slice_equals(result, (2, 1), _alone(sgdw, small_data, lr=LRS[2], wd=WDS[1]))


def test_rule_that_mixes_configurations_falls_back(small_data):
    def mixed(theta, grad, state, t, lr, wd):
        lr = lr.mean() if torch.is_tensor(lr) else lr  # silently wrong when batched
        return theta - lr * grad - wd * theta, state

    result = wdlab.sweep(mixed, small_data, grid={"lr": LRS, "wd": WDS}, **SMALL)
    assert result.mode == "loop" and "differs" in result.note


def test_best_and_progress(small_data):
    result = wdlab.sweep(RULES["adamw_paper"], small_data, grid={"lr": LRS, "wd": WDS},
                         progress=True, eval_every=5, **SMALL)
    assert list(result.eval_steps) == [5, 10, 15, 20, 25]
    assert result.curves["val_acc"].shape == (3, 2, 5)
    best = result.best()
    i, j = LRS.index(best["lr"]), WDS.index(best["wd"])
    assert result.val_acc[i, j] == result.val_acc.max()


@pytest.mark.parametrize("grid, match", [
    ({}, "non-empty"),
    ({"lr": []}, "empty"),
    ({"lr": [1e-3, 0.0]}, "positive"),
    ({"lr": [1e-3], "wd": [-1e-2]}, "positive"),
    ({"lr": [float("nan")]}, "positive"),
    ({"schedule": ["cosine"], "lr": [1e-3]}, "schedule"),
])
def test_bad_grids(small_data, grid, match):
    with pytest.raises(ValueError, match=match):
        wdlab.sweep(RULES["adamw_paper"], small_data, grid=grid, **SMALL)


def test_bad_rule_and_clash(small_data):
    with pytest.raises(ValueError, match="signature"):
        wdlab.sweep(lambda theta, grad, state, t, lr: (theta, state), small_data,
                    grid={"lr": LRS, "wd": WDS}, **SMALL)
    with pytest.raises(ValueError, match="both a grid axis and a fixed"):
        wdlab.sweep(RULES["adamw_paper"], small_data, grid={"lr": LRS}, lr=1e-3, **SMALL)


def test_parts_side_by_side_give_the_same_results(small_data):
    # equal to rounding: BLAS may block a product differently when it holds fewer configurations
    grid = {"lr": LRS, "wd": WDS}
    one = wdlab.sweep(RULES["adamw_paper"], small_data, grid=grid, workers=1, dtype=torch.float64, **SMALL)
    two = wdlab.sweep(RULES["adamw_paper"], small_data, grid=grid, workers=2, dtype=torch.float64, **SMALL)
    assert (one.workers, two.workers) == (1, 2) and two.mode == "batched"
    np.testing.assert_allclose(two.train_loss, one.train_loss, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(two.val_loss, one.val_loss, rtol=1e-12, atol=1e-14)


def test_the_loop_mode_runs_configurations_side_by_side(small_data):
    def sgdw(theta, grad, state, t, lr, wd, eta=1.0):
        return theta - float(lr) * grad - wd * theta, state

    one = wdlab.sweep(sgdw, small_data, grid={"lr": LRS, "wd": WDS}, workers=1, **SMALL)
    two = wdlab.sweep(sgdw, small_data, grid={"lr": LRS, "wd": WDS}, workers=2, **SMALL)
    assert two.mode == "loop" and two.workers == 2
    np.testing.assert_array_equal(two.train_loss, one.train_loss)


@pytest.mark.parametrize("name, decay", [("adamw_paper", "wd"), ("adam_l2", "l2"), ("sgdw_momentum", "wd")])
def test_fused_rules_train_as_the_reference(small_data, name, decay):
    grid = {"lr": LRS, decay: WDS}
    fused = wdlab.sweep(FUSED_RULES[name], small_data, grid=grid, dtype=torch.float64, **SMALL)
    reference = wdlab.sweep(RULES[name], small_data, grid=grid, dtype=torch.float64, **SMALL)
    assert fused.fused and not reference.fused
    np.testing.assert_allclose(fused.train_loss, reference.train_loss, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("rules", [RULES, FUSED_RULES])
def test_frozen_tail_equals_the_hidden_only_wrapper(small_data, rules):
    n = 16 * 3 + 3  # the readout of the 16-16 MLP on 3 classes
    grid = {"lr": LRS, "wd": WDS}
    frozen = wdlab.sweep(rules["adamw_paper"], small_data, grid=grid, frozen_tail=n, layer_norm=True,
                         dtype=torch.float64, **SMALL)
    wrapped = wdlab.sweep(train_hidden_only(rules["adamw_paper"], n), small_data, grid=grid,
                          layer_norm=True, dtype=torch.float64, **SMALL)
    assert frozen.fused == (rules is FUSED_RULES) and not wrapped.fused
    np.testing.assert_allclose(frozen.train_loss, wrapped.train_loss, rtol=1e-10, atol=1e-12)


def test_progress_reaches_a_reporter(small_data):
    seen = []
    with report_to(lambda done, total: seen.append((done, total))):
        wdlab.sweep(RULES["adamw_paper"], small_data, grid={"lr": LRS, "wd": WDS}, workers=2, **SMALL)
    assert seen[0] == (0, 50) and seen[-1] == (50, 50)  # 25 steps for each of the two parts


@pytest.mark.parametrize("kwargs, match", [({"workers": 0}, "workers must be"), ({"workers": 1.5}, "workers"),
                                           ({"frozen_tail": -1}, "frozen_tail must be")])
def test_bad_workers_and_frozen_tail(small_data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        wdlab.sweep(RULES["adamw_paper"], small_data, grid={"lr": LRS, "wd": WDS}, **kwargs, **SMALL)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_sweep_matches_cpu(small_data):
    cpu = wdlab.sweep(RULES["adamw_paper"], small_data, grid={"lr": LRS, "wd": WDS}, **SMALL)
    gpu = wdlab.sweep(RULES["adamw_paper"], small_data, grid={"lr": LRS, "wd": WDS}, device="cuda",
                      **SMALL)
    np.testing.assert_allclose(gpu.train_loss, cpu.train_loss, rtol=1e-3, atol=1e-5)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_fused_sweep_matches_cpu(small_data):
    grid = {"lr": LRS, "wd": WDS}
    cpu = wdlab.sweep(FUSED_RULES["adamw_paper"], small_data, grid=grid, **SMALL)
    gpu = wdlab.sweep(FUSED_RULES["adamw_paper"], small_data, grid=grid, device="cuda", **SMALL)
    assert gpu.fused and gpu.workers == 1
    np.testing.assert_allclose(gpu.train_loss, cpu.train_loss, rtol=1e-3, atol=1e-5)
