import numpy as np
import pytest
import torch

import wdlab
from autograder.reference import RULES, cosine_warm_restarts

STEPS = 30


def _close(a, b, rtol):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("rule, hp, make_opt", [
    ("adam", dict(lr=3e-3), lambda p: torch.optim.Adam(p, lr=3e-3)),
    ("adam_l2", dict(lr=3e-3, l2=1e-2), lambda p: torch.optim.Adam(p, lr=3e-3, weight_decay=1e-2)),
    ("adamw_torch", dict(lr=3e-3, wd=0.5), lambda p: torch.optim.AdamW(p, lr=3e-3, weight_decay=0.5)),
    ("sgd_torch", dict(lr=0.1, l2=1e-3, momentum=0.9),
     lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=1e-3, momentum=0.9)),
])
def test_course_rule_and_torch_optim_train_alike(small_data, rule, hp, make_opt):
    mine = wdlab.train(RULES[rule], small_data, steps=STEPS, batch_size=50, hidden=(16, 16),
                       eval_every=10, **hp)
    lib = wdlab.train_torch(make_opt, small_data, steps=STEPS, batch_size=50, hidden=(16, 16),
                            eval_every=10)
    assert mine.train_loss.shape == (STEPS,) and list(mine.steps) == [10, 20, 30]
    _close(mine.train_loss, lib.train_loss, 1e-4)
    _close(mine.val_loss, lib.val_loss, 1e-4)
    for name in mine.params:
        torch.testing.assert_close(mine.params[name], lib.params[name], rtol=1e-4, atol=1e-5)
    assert mine.train_loss[-1] < mine.train_loss[0]  # it learns


def test_schedule_reaches_the_rule_and_torch_lambda_lr(small_data):
    sched = lambda t: cosine_warm_restarts(t, period=10)  # noqa: E731
    mine = wdlab.train(RULES["adamw_torch"], small_data, steps=STEPS, batch_size=50,
                       hidden=(16, 16), schedule=sched, lr=3e-3, wd=0.1)
    lib = wdlab.train_torch(lambda p: torch.optim.AdamW(p, lr=3e-3, weight_decay=0.1), small_data,
                            steps=STEPS, batch_size=50, hidden=(16, 16), schedule=sched)
    flat = wdlab.train(RULES["adamw_torch"], small_data, steps=STEPS, batch_size=50,
                       hidden=(16, 16), lr=3e-3, wd=0.1)
    _close(mine.train_loss, lib.train_loss, 1e-4)
    assert not np.allclose(mine.train_loss, flat.train_loss)


def test_student_function_without_declared_state(small_data):
    def momentum_sgd(theta, grad, state, t, lr, beta1=0.9, eta=1.0):
        m = beta1 * state["m"] + grad  # state["m"] reads as zeros at step 1
        return theta - eta * lr * m, {"m": m}

    mine = wdlab.train(momentum_sgd, small_data, steps=STEPS, batch_size=50, hidden=(16, 16), lr=0.05)
    lib = wdlab.train_torch(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), small_data,
                            steps=STEPS, batch_size=50, hidden=(16, 16))
    _close(mine.train_loss, lib.train_loss, 1e-4)


def test_float64_and_seed(small_data):
    a = wdlab.train(RULES["adam"], small_data, steps=5, hidden=(8,), batch_size=50, lr=1e-2,
                    dtype=torch.float64, seed=1)
    b = wdlab.train(RULES["adam"], small_data, steps=5, hidden=(8,), batch_size=50, lr=1e-2, seed=2)
    assert a.params["w1"].dtype == torch.float64
    assert not np.allclose(a.train_loss, b.train_loss)


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=0), "steps"),
    (dict(batch_size=10_000), "batch_size"),
    (dict(eval_every=0), "eval_every"),
    (dict(hidden=(0,)), "hidden"),
    (dict(dtype=torch.int64), "dtype"),
])
def test_bad_settings_name_the_argument(small_data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        wdlab.train(RULES["adam"], small_data, lr=1e-3, **kwargs)


def test_wrong_signature_and_bad_output(small_data):
    with pytest.raises(ValueError, match="signature"):
        wdlab.train(lambda theta, grad: theta, small_data, steps=2, lr=1e-3)
    with pytest.raises(ValueError, match="new_theta"):
        wdlab.train(lambda theta, grad, state, t, lr: (theta[:, :3], state), small_data,
                    steps=2, lr=1e-3)
    with pytest.raises(ValueError, match="return"):
        wdlab.train(lambda theta, grad, state, t, lr: theta, small_data, steps=2, lr=1e-3)
    with pytest.raises(ValueError, match="rule must be a function"):
        wdlab.train("adam", small_data, steps=2)


def test_mismatched_data_shapes(small_data):
    bad = type(small_data)(small_data.x_train, small_data.y_train[:-1], small_data.x_val,
                           small_data.y_val, small_data.x_test, small_data.y_test)
    with pytest.raises(ValueError, match="shapes"):
        wdlab.train(RULES["adam"], bad, lr=1e-3)


def test_layer_norm_model_trains_like_torch(small_data):
    mine = wdlab.train(RULES["adamw_torch"], small_data, steps=STEPS, batch_size=50, hidden=(16, 16),
                       layer_norm=True, lr=3e-3, wd=0.1)
    lib = wdlab.train_torch(lambda p: torch.optim.AdamW(p, lr=3e-3, weight_decay=0.1), small_data,
                            steps=STEPS, batch_size=50, hidden=(16, 16), layer_norm=True)
    _close(mine.train_loss, lib.train_loss, 1e-4)
