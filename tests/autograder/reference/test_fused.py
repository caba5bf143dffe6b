"""The in-place rules equal their reference rules to float rounding, in float32 and float64.

Every fused rule is compared with the reference on the same inputs (one step, from a random
state, grid hyperparameters as [G, 1] tensors), and over a trajectory where both run on their
own; the schedule multiplier eta includes a 0 (the fallback branch of the step denominator).
"""
import functools

import pytest
import torch

from autograder.reference import RULES
from autograder.reference.fused import FUSED_RULES, INPLACE, FusedRule, with_fused

G, P = 5, 7
# the grid axes of each rule, as [G, 1] tensors; everything else stays at its number
AXES = {
    "adam": ("lr",), "adam_l2": ("lr", "l2"), "adamw_paper": ("lr", "wd"), "adamw_torch": ("lr", "wd"),
    "amsgrad": ("lr", "l2", "wd"), "sgd_l2_momentum": ("lr", "l2"), "sgdw_momentum": ("lr", "wd"),
    "rmsprop_bc": ("lr", "l2", "wd"),
}
DTYPES = [torch.float32, torch.float64]


def test_every_fused_rule_is_covered():
    assert set(AXES) == set(INPLACE) == set(FUSED_RULES)


def _inputs(name, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    draw = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64).to(dtype)  # noqa: E731
    theta, grad = draw(G, P), draw(G, P)
    state = {k: draw(G, P).abs() if k.startswith("v") else draw(G, P) for k in RULES[name].state}
    hp = {k: torch.logspace(-3, -1, G, dtype=dtype).unsqueeze(1) for k in AXES[name]}
    return theta, grad, state, hp


def _tol(dtype, like):
    eps = torch.finfo(dtype).eps
    return dict(rtol=16 * eps, atol=16 * eps * float(like.abs().max()))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(INPLACE))
@pytest.mark.parametrize("t", [1, 2, 9])
def test_one_step_equals_the_reference(name, dtype, t):
    theta, grad, state, hp = _inputs(name, dtype, seed=t)
    hp["eta"] = torch.tensor([[1.0], [0.5], [0.0], [0.25], [1.0]], dtype=dtype)
    ref_theta, ref_state = RULES[name](theta, grad, state, t, **hp)
    got = {k: v.clone() for k, v in state.items()}
    FUSED_RULES[name].fused(theta_f := theta.clone(), grad.clone(), got, t, **hp)
    torch.testing.assert_close(theta_f, ref_theta, **_tol(dtype, ref_theta))
    for key, value in ref_state.items():
        torch.testing.assert_close(got[key], value, **_tol(dtype, value))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_trajectory_equals_the_reference(name, dtype):
    """60 steps on a smooth problem, each rule on its own path, with numbers as hyperparameters
    (the other branches of the in-place helpers)."""
    theta0, _, _, _ = _inputs(name, dtype, seed=1)
    target = torch.linspace(-1, 1, P, dtype=dtype)
    hp = {k: 1e-2 for k in AXES[name]}
    ref, fused, state_r, state_f = theta0.clone(), theta0.clone(), {}, {}
    rule = FUSED_RULES[name]
    state_r, state_f = rule.init_state(ref), rule.init_state(fused)
    for t in range(1, 61):
        ref, state_r = rule(ref, ref - target, state_r, t, **hp)
        rule.fused(fused, fused - target, state_f, t, **hp)
    scale = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(fused, ref, rtol=scale, atol=scale)


def test_calling_a_fused_rule_runs_the_reference():
    theta, grad, state, hp = _inputs("adamw_paper", torch.float64, seed=0)
    ours, theirs = FUSED_RULES["adamw_paper"](theta, grad, state, 3, **hp), RULES["adamw_paper"](
        theta, grad, state, 3, **hp)
    assert torch.equal(ours[0], theirs[0])
    assert FUSED_RULES["adamw_paper"].state == RULES["adamw_paper"].state
    table = with_fused(RULES)
    assert isinstance(table["adamw_paper"], FusedRule) and table["sgd_torch"] is RULES["sgd_torch"]


def test_a_wrapper_does_not_inherit_the_in_place_update():
    @functools.wraps(FUSED_RULES["adamw_paper"])
    def wrapped(theta, grad, state, t, **hp):
        return FUSED_RULES["adamw_paper"](theta, grad, state, t, **hp)

    assert not hasattr(wrapped, "fused") and wrapped.state == ("m", "v")


def test_bad_decay_convention_is_named():
    theta, grad, state, hp = _inputs("adam", torch.float64, seed=0)
    with pytest.raises(ValueError, match="decay must be"):
        INPLACE["adam"](theta, grad, state, 1, decay="pytorch", **hp)
