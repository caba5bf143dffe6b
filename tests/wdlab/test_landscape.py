import inspect

import numpy as np
import pytest
import torch

from autograder.reference import RULES
from wdlab import landscape
from wdlab.landscape import LandscapeSettings, paper_landscape, slopes, train_hidden_only

# A small landscape that still shows the finding: 5 x 5 grids, 100 steps, a 32-32 MLP.
FAST = LandscapeSettings(steps=100, grid_size=5, hidden=(32, 32))
TINY = LandscapeSettings(steps=15, grid_size=2, hidden=(8, 8))


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)  # tiny tensors on a shared machine


@pytest.mark.parametrize("seed", [0, 1])
def test_l2_is_diagonal_and_paper_adamw_separable(seed):
    found = slopes(paper_landscape("adam", seed=seed, settings=FAST, rules=RULES))
    assert found["Adam + L2"] <= -0.7, found
    assert abs(found["AdamW (paper)"]) <= 0.3, found


def test_pytorch_adamw_couples_decay_to_the_learning_rate():
    found = slopes(paper_landscape("adamw", seed=0, settings=FAST, rules=RULES))
    assert found["AdamW (PyTorch)"] <= -0.5, found
    assert abs(found["AdamW (paper)"]) <= 0.3, found


def test_hidden_only_rule_keeps_the_readout_and_the_signature():
    rule = RULES["adamw_paper"]
    wrapped = train_hidden_only(rule, 3)
    theta, grad = torch.randn(2, 10), torch.randn(2, 10)
    new, state = wrapped(theta, grad, rule.init_state(theta), 1, lr=0.1, wd=0.01)
    expected, _ = rule(theta, grad, rule.init_state(theta), 1, lr=0.1, wd=0.01)
    assert torch.equal(new[:, -3:], theta[:, -3:])
    assert torch.equal(new[:, :-3], expected[:, :-3])
    assert set(state) == {"m", "v"} and wrapped.state == rule.state
    assert inspect.signature(wrapped) == inspect.signature(rule)


def test_own_rules_give_the_reference_landscape():
    def adam_l2_step(theta, grad, state, t, lr, l2, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
        g = grad + l2 * theta
        m = beta1 * state["m"] + (1 - beta1) * g
        v = beta2 * state["v"] + (1 - beta2) * g * g
        step = lr * (m / (1 - beta1 ** t)) / ((v / (1 - beta2 ** t)).sqrt() + eps)
        return theta - eta * step, {"m": m, "v": v}

    own = paper_landscape("adam", settings=TINY, rules=(adam_l2_step, RULES["adamw_paper"]))
    ref = paper_landscape("adam", settings=TINY, rules=RULES)
    for label in ref:
        np.testing.assert_allclose(own[label].val_loss, ref[label].val_loss, rtol=1e-4)
    assert own["Adam + L2"].mode == "batched"


def test_decoupled_decay_grids_scale_with_the_run_length():
    base, half = LandscapeSettings(), LandscapeSettings(steps=100)
    assert np.allclose(half.grid("adamw_paper")["wd"], 2 * np.array(base.grid("adamw_paper")["wd"]))
    assert half.grid("adam_l2") == base.grid("adam_l2")
    assert len(base.grid("sgdw_momentum")["lr"]) == base.grid_size


@pytest.mark.parametrize("kwargs, match", [
    (dict(pair="rmsprop"), "pair"),
    (dict(rules=(RULES["adam_l2"],)), "2 functions"),
    (dict(rules={"adam": RULES["adam"]}), "missing"),
    (dict(rules=None), "rules is required"),
    (dict(settings={"steps": 10}), "LandscapeSettings"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        paper_landscape(**{"rules": RULES, **kwargs})


def test_every_pair_has_settings():
    settings = LandscapeSettings()
    for names in landscape.PAIRS.values():
        for name in names:
            assert set(settings.grid(name)) == {"lr", settings.axes[name].decay}
