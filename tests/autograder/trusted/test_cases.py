"""Generated grading cases: the edge cases that let the family's mistakes be told apart."""
import pytest
import torch

from autograder.trusted import items
from autograder.trusted.cases import REGULARIZERS
from course_config import CONFIG

NB4_STEPS = [i for i in items.TABLE.values() if i.notebook == items.NB4]
SEEDS = [CONFIG.seed, *range(12)]


def _trajectory(item, case):
    """The reference's iterates theta_0 .. theta_T on ``case``."""
    theta = case.theta0
    state = {k: torch.zeros_like(theta) for k in case.state_keys}
    thetas = [theta]
    for t in range(1, case.steps + 1):
        theta, state = item.reference(theta, case.grad(theta, t), state, t, **case.kwargs(t))
        thetas.append(theta)
    return thetas


def test_the_fourth_notebook_has_its_four_step_items():
    assert sorted(i.function for i in NB4_STEPS) == ["adagrad_step", "adamax_step", "adamw_l1_step",
                                                     "nadam_step"]
    assert all(i.kind == "step" for i in NB4_STEPS)


@pytest.mark.parametrize("item", NB4_STEPS, ids=lambda i: i.function)
def test_some_gradients_are_exactly_zero_from_the_first_step(item):
    case = next(c for c in items.item_cases(item.id, CONFIG.seed) if "exactly zero" in c.name)
    for theta in (case.theta0, torch.randn_like(case.theta0) * 100):
        for t in range(1, case.steps + 1):
            grad = case.grad(theta, t)
            assert bool((grad[0, :2] == 0).all()) and bool((grad[1] != 0).all())


@pytest.mark.parametrize("seed", SEEDS)
def test_decoupled_l1_cases_zero_some_weights_and_carry_others_across_zero(seed):
    item = items.TABLE[f"{items.NB4}:adamw_l1_step"]
    case = next(c for c in items.item_cases(item.id, seed) if "near zero" in c.name)
    thetas = _trajectory(item, case)
    zeroed = sum(int(((new == 0) & (old != 0)).sum()) for old, new in zip(thetas, thetas[1:]))
    crossed = sum(int((new * old < 0).sum()) for old, new in zip(thetas, thetas[1:]))
    assert zeroed >= 2 and crossed >= 1, (zeroed, crossed)


def test_l1_is_a_regularizer_of_the_cases():
    """Set to 0 once and gridded with lr, as l2 and wd are."""
    assert "l1" in REGULARIZERS
    cases = items.item_cases(f"{items.NB4}:adamw_l1_step", CONFIG.seed)
    assert any(c.hparams.get("l1") == 0.0 for c in cases)
    grid = next(c for c in cases if "grid" in c.name)
    assert grid.hparams["l1"].shape == (4, 1)

