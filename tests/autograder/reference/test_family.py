"""The optimizer family (Nesterov, Adagrad, Adadelta, Adamax, NAdam, RAdam) against torch.optim.

Each rule runs 500 steps in float64 on the noisy smooth problem of ``test_reference`` next to
the torch optimizer fed the same gradients, for two or three hyperparameter settings, and must
stay within 1e-10 relative at every step; float32 (and CUDA where present) within float32
rounding. Grid calls ([G, n] theta, [G, 1] hyperparameters) must equal G separate runs.
"""
import contextlib

import pytest
import torch

from autograder.reference import RULES
from autograder.reference.family import nadam, radam
from tests.autograder.reference.test_reference import (
    max_rel_err,
    problem,
    run_reference,
    run_torch,
)
from tests.conftest import DEVICES

# (case id, torch optimizer, its kwargs, reference rule, the same hyperparameters in the course's names)
ORACLES = [
    ("nesterov", torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True),
     "nesterov", dict(lr=0.05, momentum=0.9)),
    ("nesterov-l2", torch.optim.SGD, dict(lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.05),
     "nesterov", dict(lr=0.1, momentum=0.5, l2=0.05)),
    ("adagrad", torch.optim.Adagrad, dict(lr=0.1),
     "adagrad", dict(lr=0.1)),
    ("adagrad-all", torch.optim.Adagrad,
     dict(lr=0.3, lr_decay=0.01, initial_accumulator_value=0.5, eps=1e-6, weight_decay=0.05),
     "adagrad", dict(lr=0.3, lr_decay=0.01, initial_accumulator_value=0.5, eps=1e-6, l2=0.05)),
    ("adadelta", torch.optim.Adadelta, dict(lr=1.0),
     "adadelta", dict(lr=1.0)),
    ("adadelta-all", torch.optim.Adadelta, dict(lr=0.5, rho=0.95, eps=1e-4, weight_decay=0.05),
     "adadelta", dict(lr=0.5, rho=0.95, eps=1e-4, l2=0.05)),
    ("adamax", torch.optim.Adamax, dict(lr=2e-3),
     "adamax", dict(lr=2e-3)),
    ("adamax-all", torch.optim.Adamax, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05),
     "adamax", dict(lr=0.02, beta1=0.8, beta2=0.99, eps=1e-6, l2=0.05)),
    ("nadam", torch.optim.NAdam, dict(lr=2e-3),
     "nadam", dict(lr=2e-3)),
    ("nadam-l2", torch.optim.NAdam,
     dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, momentum_decay=0.01, weight_decay=0.05),
     "nadam", dict(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, momentum_decay=0.01, l2=0.05)),
    ("nadam-decoupled", torch.optim.NAdam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
     "nadamw_torch", dict(lr=0.01, wd=0.1)),
    ("radam", torch.optim.RAdam, dict(lr=1e-3),
     "radam", dict(lr=1e-3)),
    ("radam-l2", torch.optim.RAdam, dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.05),
     "radam", dict(lr=0.01, beta1=0.8, beta2=0.9, eps=1e-6, l2=0.05)),
    ("radam-decoupled", torch.optim.RAdam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
     "radamw_torch", dict(lr=0.01, wd=0.1)),
]
FAMILY = ("nesterov", "adagrad", "adadelta", "adamax", "nadam", "nadamw_torch", "radam", "radamw_torch")


@contextlib.contextmanager
def default_dtype(dtype):
    """torch.optim keeps scalar state (NAdam's mu_product) in the default dtype."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(saved)


def test_every_family_rule_has_an_oracle():
    assert {case[3] for case in ORACLES} == set(FAMILY) <= set(RULES)


@pytest.mark.parametrize(("cls", "kwargs", "name", "hp"), [case[1:] for case in ORACLES],
                         ids=[case[0] for case in ORACLES])
def test_family_matches_torch_optim(cls, kwargs, name, hp):
    theta0, grad_fn = problem((4, 3), seed=7)
    ours = run_reference(RULES[name], hp, theta0, grad_fn)
    with default_dtype(torch.float64):
        theirs = run_torch(lambda p: cls(p, **kwargs), theta0, grad_fn)
    assert len(ours) >= 500
    assert max_rel_err(ours, theirs) <= 1e-10


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("cls", "kwargs", "name", "hp"), [case[1:] for case in ORACLES],
                         ids=[case[0] for case in ORACLES])
def test_family_matches_torch_optim_float32(cls, kwargs, name, hp, device):
    theta0, grad_fn = problem((4, 3), seed=8, dtype=torch.float32, device=device)
    ours = run_reference(RULES[name], hp, theta0, grad_fn, steps=50)
    theirs = run_torch(lambda p: cls(p, **kwargs), theta0, grad_fn, steps=50)
    assert ours.dtype == torch.float32 and ours.device.type == device
    assert max_rel_err(ours, theirs) <= 1e-4


def test_radam_cases_take_both_branches():
    """Step 1 is always un-rectified (rho_1 = 1); the settings above reach rho_t > 5 early."""
    for beta2 in (0.999, 0.9):
        rho_inf = 2 / (1 - beta2) - 1
        rho = [rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t) for t in range(1, 501)]
        assert rho[0] == pytest.approx(1.0) and max(rho) > 5 and sum(r > 5 for r in rho) > 400


def test_nesterov_is_sutskevers_look_ahead_at_the_look_ahead_point():
    """v_t = mu v - lr grad f(theta + mu v), theta_t = theta + v_t; the rule's parameters are
    theta + mu v (the point where the gradient is taken), as its docstring says."""
    lr, mu = 0.05, 0.9
    theta0, grad_fn = problem((6,), seed=2)
    ours = run_reference(RULES["nesterov"], dict(lr=lr, momentum=mu), theta0, grad_fn)
    theta, v, points = theta0.clone(), torch.zeros_like(theta0), []
    for t in range(1, len(ours) + 1):
        v = mu * v - lr * grad_fn(theta + mu * v, t)
        theta = theta + v
        points.append(theta + mu * v)
    assert max_rel_err(ours, torch.stack(points)) <= 1e-10


@pytest.mark.parametrize("rule", [nadam, radam])
def test_paper_decay_is_torch_decay_with_wd_over_lr(rule):
    theta0, grad_fn = problem((5,), seed=4)
    lr, wd = 0.01, 1e-3
    paper = _run(rule, dict(lr=lr, wd=wd, decay="paper"), theta0, grad_fn)
    torch_conv = _run(rule, dict(lr=lr, wd=wd / lr, decay="torch"), theta0, grad_fn)
    assert max_rel_err(paper, torch_conv) <= 1e-10


def _run(fn, hp, theta0, grad_fn, steps=200):
    state = {k: torch.zeros_like(theta0) for k in ("m", "v", "mu_prod")}
    theta, path = theta0.clone(), []
    for t in range(1, steps + 1):
        theta, state = fn(theta, grad_fn(theta, t), state, t, **hp)
        path.append(theta)
    return torch.stack(path)


@pytest.mark.parametrize("rule", [nadam, radam])
def test_unknown_decay_convention_is_named(rule):
    theta = torch.ones(3)
    with pytest.raises(ValueError, match="decay='adamw'.*'paper', 'torch'"):
        rule(theta, theta, {"m": theta, "v": theta, "mu_prod": theta}, 1, lr=0.1, decay="adamw")


def test_radam_rejects_beta2_of_one():
    theta = torch.ones(3)
    with pytest.raises(ValueError, match="0 <= beta2 < 1"):
        radam(theta, theta, {"m": theta, "v": theta}, 1, lr=0.1, beta2=1.0)


# [G, 1] grid values of each family rule; radam's beta2 = 0.6 (rho_inf = 4) never rectifies
