import inspect
import math

import numpy as np
import pytest
import torch

from autograder.reference import RULES
from wdlab import landscape
from wdlab.landscape import (
    Axis,
    CosineAnnealing,
    Landscape,
    LandscapeSettings,
    basin,
    basins,
    paper_landscape,
    ridge_slope,
    slopes,
    train_hidden_only,
    zero_stand_in,
)
from wdlab.sweep import SweepResult

# A small landscape that still shows the finding: 5 x 5 grids (and the decay-0 row), 150 steps,
# a 32-32 MLP; the rest (cosine schedule, 1000 training points, grid ranges) as the notebook's.
FAST = LandscapeSettings(steps=150, grid_size=5, hidden=(32, 32))
TINY = LandscapeSettings(steps=15, grid_size=2, hidden=(8, 8))


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)  # tiny tensors on a shared machine


def finding_problems(found):
    """What keeps the landscape {label: Basin} from showing the paper's finding ([] if nothing):
    each best setting inside the grid on both axes and better than decay 0, Adam + L2's good
    region diagonal (negative slopes), AdamW's axis-aligned (slopes near 0)."""
    problems = []
    for label, b in found.items():
        if not b.interior:
            problems.append(f"{label}: best lr {b.best_lr:.2g}, decay {b.best_decay:.2g} is on the "
                            f"grid's edge (lr inside: {b.lr_interior}, decay inside: {b.decay_interior})")
        if not b.loss_gain > 0.005:
            problems.append(f"{label}: regularization gains {b.loss_gain:+.4f} in validation loss")
    l2, decoupled = found["Adam + L2"], found["AdamW (paper)"]
    if not (l2.slope <= -0.3 and l2.ridge_slope <= -0.3):
        problems.append(f"Adam + L2 is not diagonal: slope {l2.slope:+.2f}, ridge {l2.ridge_slope:+.2f}")
    if not (abs(decoupled.slope) <= 0.3 and abs(decoupled.ridge_slope) <= 0.3):
        problems.append(f"AdamW is not axis-aligned: slope {decoupled.slope:+.2f}, ridge "
                        f"{decoupled.ridge_slope:+.2f}")
    return problems


@pytest.mark.parametrize("seed", [0, 4])
def test_decay_helps_inside_the_grid_diagonal_for_l2_separable_for_adamw(seed):
    found = basins(paper_landscape("adam", seed=seed, settings=FAST, rules=RULES))
    assert finding_problems(found) == [], found
    assert all(b.acc_gain > 0 for b in found.values()), found


def ignores_decay(theta, grad, state, t, lr, wd, **kw):
    return RULES["adam"](theta, grad, state, t, lr=lr, **kw)


def test_the_finding_fails_when_decay_is_switched_off():
    found = basins(paper_landscape("adam", settings=FAST, rules=(RULES["adam_l2"], ignores_decay)))
    decoupled = found["AdamW (paper)"]
    assert not decoupled.decay_interior and abs(decoupled.loss_gain) < 1e-4, decoupled
    assert any(p.startswith("AdamW (paper)") for p in finding_problems(found))


def test_the_finding_fails_on_a_grid_of_no_decay():
    # every decay at 1e-12: a grid that holds only (numerically) zero decay
    none = {name: Axis(axis.label, axis.decay, axis.lr, (1e-12, 1e-12)) for name, axis in FAST.axes.items()}
    found = basins(paper_landscape("adam", settings=FAST.with_(axes=none), rules=RULES))
    assert all(not b.decay_interior and abs(b.loss_gain) < 1e-3 for b in found.values()), found
    assert finding_problems(found)


def test_pytorch_adamw_couples_decay_to_the_learning_rate():
    found = slopes(paper_landscape("adamw", seed=0, settings=FAST, rules=RULES))
    assert found["AdamW (PyTorch)"] <= -0.5, found
    assert abs(found["AdamW (paper)"]) <= 0.3, found


def test_the_reference_row_trains_with_decay_zero():
    seen = []

    def adamw_recording(theta, grad, state, t, lr, wd, **kw):
        if t == 1:
            seen.append(wd.flatten().tolist() if isinstance(wd, torch.Tensor) else [wd])
        return RULES["adamw_paper"](theta, grad, state, t, lr=lr, wd=wd, **kw)

    found = paper_landscape("adam", settings=TINY, rules=(RULES["adam_l2"], adamw_recording))
    assert isinstance(found, Landscape) and list(found.unregularized) == list(found)
    grid = TINY.grid("adamw_paper")["wd"]
    assert found["AdamW (paper)"].grid == TINY.grid("adamw_paper") and found["AdamW (paper)"].shape == (2, 2)
    reference = found.unregularized["AdamW (paper)"]
    assert reference.grid == {"lr": TINY.grid("adamw_paper")["lr"]} and reference.fixed["wd"] == 0.0
    values = sorted({round(v, 12) for call in seen for v in call})
    assert values[0] == 0.0 and np.allclose(values[1:], grid, rtol=1e-6), values
    # decay 0 for AdamW is plain Adam: the reference row is the sweep of Adam alone
    adam = paper_landscape("adam", settings=TINY.with_(unregularized=False),
                           rules=(RULES["adam_l2"], ignores_decay))
    np.testing.assert_allclose(reference.val_loss, adam["AdamW (paper)"].val_loss[:, 0], rtol=1e-5)


def test_no_reference_row_when_the_settings_ask_for_none():
    found = paper_landscape("adam", settings=TINY.with_(unregularized=False), rules=RULES)
    assert found.unregularized == {} and found["Adam + L2"].shape == (2, 2)
    assert all(math.isnan(b.loss_gain) for b in basins(found).values())


def synthetic(loss, lrs, decays, name="wd"):
    loss = np.asarray(loss, float)
    return SweepResult({"lr": list(lrs), name: list(decays)}, 1 - loss, loss, np.zeros((*loss.shape, 1)),
                       {}, np.array([1]), 0.0)


def test_basin_finds_the_best_setting_and_the_ridge():
    lrs, decays = [1e-3, 1e-2, 1e-1, 1.0], [1e-4, 1e-3, 1e-2, 1e-1, 1.0]

    def valley(shift):  # along log decay = -log lr - shift (slope -1), deepest at lr 1e-2
        return [[(np.log10(d) + np.log10(lr) + shift) ** 2 + (np.log10(lr) + 2) ** 2 for d in decays]
                for lr in lrs]

    result = synthetic(valley(3), lrs, decays)
    reference = SweepResult({"lr": lrs}, np.full(4, 0.2), np.full(4, 2.0), np.zeros((4, 1)), {},
                            np.array([1]), 0.0)
    b = basin(result, reference, "valley")
    assert (b.best_lr, b.best_decay, b.interior) == (1e-2, 1e-1, True)
    assert b.loss_gain == pytest.approx(2.0) and b.acc_gain == pytest.approx(0.8)
    slope, columns = ridge_slope(result)
    assert columns == 3 and slope == pytest.approx(-1.0)  # lr 1 has its best decay off the grid
    edge = basin(synthetic(valley(2), lrs, decays), reference)  # best decay: the largest
    assert (edge.best_decay, edge.decay_interior, edge.lr_interior) == (1.0, False, True)
    with pytest.raises(ValueError, match="same learning rates"):
        basin(result, SweepResult({"lr": [1.0]}, np.ones(1), np.ones(1), np.zeros((1, 1)), {},
                                  np.array([1]), 0.0))


def test_zero_stand_in_reads_one_value_as_zero_and_keeps_the_signature():
    rule = RULES["adamw_paper"]
    wrapped = zero_stand_in(rule, "wd", 1e-5)
    theta, grad = torch.randn(3, 6), torch.randn(3, 6)
    wd = torch.tensor([[1e-5], [1e-3], [1e-2]])
    new, _ = wrapped(theta, grad, rule.init_state(theta), 1, lr=0.1, wd=wd)
    zeroed = torch.tensor([[0.0], [1e-3], [1e-2]])
    expected, _ = rule(theta, grad, rule.init_state(theta), 1, lr=0.1, wd=zeroed)
    assert torch.equal(new, expected)
    alone, _ = wrapped(theta[:1], grad[:1], rule.init_state(theta[:1]), 1, lr=0.1, wd=1e-5)
    assert torch.equal(alone, expected[:1])
    assert inspect.signature(wrapped) == inspect.signature(rule) and wrapped.state == rule.state


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
        np.testing.assert_allclose(own.unregularized[label].val_loss, ref.unregularized[label].val_loss,
                                   rtol=1e-4)
    assert own["Adam + L2"].mode == "batched"


def test_the_schedule_comes_from_the_settings_unless_given():
    cosine = LandscapeSettings(steps=4).eta()
    assert isinstance(cosine, CosineAnnealing)
    assert [cosine(t) for t in range(4)] == pytest.approx([1.0, 0.853553, 0.5, 0.146447], abs=1e-6)
    assert LandscapeSettings(schedule="constant").eta() is None
    quiet = TINY.with_(unregularized=False)
    constant = paper_landscape("adam", settings=quiet.with_(schedule="constant"), rules=RULES)
    given_none = paper_landscape("adam", settings=quiet, rules=RULES, schedule=None)
    cosine_run = paper_landscape("adam", settings=quiet, rules=RULES)
    label = "AdamW (paper)"
    np.testing.assert_array_equal(constant[label].val_loss, given_none[label].val_loss)
    assert not np.allclose(constant[label].val_loss, cosine_run[label].val_loss)


def test_the_data_has_the_settings_training_points():
    data = LandscapeSettings(n_train=300).data("hard", seed=2)
    assert data.x_train.shape[0] == 300 and data.x_val.shape[0] == 1000


def test_decoupled_decay_grids_scale_with_the_run_length():
    base, half = LandscapeSettings(), LandscapeSettings(steps=LandscapeSettings().steps // 2)
    assert np.allclose(half.grid("adamw_paper")["wd"], 2 * np.array(base.grid("adamw_paper")["wd"]))
    assert half.grid("adam_l2") == base.grid("adam_l2")
    assert len(base.grid("sgdw_momentum")["lr"]) == base.grid_size


def test_both_decay_axes_span_the_same_decades():
    axes = LandscapeSettings().axes
    spans = [math.log10(axes[name].decays[1] / axes[name].decays[0]) for name in landscape.PAIRS["adam"]]
    assert spans[0] == pytest.approx(spans[1])


@pytest.mark.parametrize("kwargs, match", [
    (dict(pair="rmsprop"), "pair"),
    (dict(rules=(RULES["adam_l2"],)), "2 functions"),
    (dict(rules={"adam": RULES["adam"]}), "missing"),
    (dict(rules=None), "rules is required"),
    (dict(settings={"steps": 10}), "LandscapeSettings"),
    (dict(schedule="cosine"), "schedule"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        paper_landscape(**{"rules": RULES, **kwargs})


@pytest.mark.parametrize("kwargs, match", [
    (dict(schedule="linear"), "schedule must be one of"),
    (dict(steps=0), "steps"),
    (dict(n_train=2.5), "n_train"),
])
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LandscapeSettings(**kwargs)


def test_every_pair_has_settings():
    settings = LandscapeSettings()
    for names in landscape.PAIRS.values():
        for name in names:
            assert set(settings.grid(name)) == {"lr", settings.axes[name].decay}
