"""The reference rules against the trusted library (torch.optim) and the paper's propositions.

One table drives the oracle tests: (torch optimizer, its hyperparameters, the reference rule and
the same hyperparameters in the course's names). Trajectories run 500 steps on a random smooth
problem whose gradient depends on the current parameters, so any difference compounds.
"""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.reference import RULES, rmsprop_preconditioner
from tests.conftest import DEVICES
from tests.strategies import adam_lrs, beta2s, betas, decays, epss, lrs, seeds, shapes

STEPS = 500


def problem(shape, seed, dtype=torch.float64, device="cpu", steps=STEPS):
    """Start point and minibatch-gradient oracle grad(theta, t) of a noisy smooth problem:
    f(theta) = sum(a (theta - c)^2 / 2 + 0.1 cos(theta)) plus fixed gradient noise at step t.
    The noise keeps optimizers in the regime of real training (without it Adam orbits the
    optimum chaotically and any last-digit difference in rounding grows without bound)."""
    gen = torch.Generator().manual_seed(seed)
    draw = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64)  # noqa: E731
    a = torch.rand(shape, generator=gen, dtype=torch.float64) + 0.1
    c, theta0, noise = draw(shape), draw(shape), 0.5 * draw(steps + 1, *shape)
    a, c, theta0, noise = (x.to(dtype=dtype, device=device) for x in (a, c, theta0, noise))
    return theta0, lambda theta, t: a * (theta - c) - 0.1 * torch.sin(theta) + noise[t]


def run_reference(rule, hp, theta0, grad_fn, steps=STEPS):
    theta, state, path = theta0.clone(), rule.init_state(theta0), []
    for t in range(1, steps + 1):
        theta, state = rule(theta, grad_fn(theta, t), state, t, **hp)
        path.append(theta)
    return torch.stack(path)


def run_torch(make_opt, theta0, grad_fn, steps=STEPS):
    p = torch.nn.Parameter(theta0.clone())
    opt, path = make_opt([p]), []
    for t in range(1, steps + 1):
        p.grad = grad_fn(p.detach(), t)
        opt.step()
        path.append(p.detach().clone())
    return torch.stack(path)


def max_rel_err(a, b):
    """Largest relative distance between two trajectories [steps, ...], step by step."""
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return ((a - b).norm(dim=1) / b.norm(dim=1)).max().item()


def _nesterov_needs_momentum(kwargs):
    """torch.optim.SGD accepts Nesterov only with momentum > 0 and no dampening."""
    if kwargs["nesterov"]:
        return dict(kwargs, momentum=max(kwargs["momentum"], 0.1), dampening=0.0)
    return kwargs


# (torch class, strategy of torch kwargs, reference rule, torch kwargs -> reference hparams)
ORACLES = {
    "SGD": (torch.optim.SGD, st.fixed_dictionaries(dict(
        lr=lrs, momentum=betas, dampening=st.floats(0, 0.9), weight_decay=decays,
        nesterov=st.booleans())).map(_nesterov_needs_momentum), "sgd_torch",
        lambda k: dict(lr=k["lr"], momentum=k["momentum"], dampening=k["dampening"],
                       l2=k["weight_decay"], nesterov=k["nesterov"])),
    "Adam": (torch.optim.Adam, st.fixed_dictionaries(dict(
        lr=adam_lrs, betas=st.tuples(betas, beta2s), eps=epss, weight_decay=decays,
        amsgrad=st.booleans())), None,
        lambda k: dict(lr=k["lr"], beta1=k["betas"][0], beta2=k["betas"][1], eps=k["eps"],
                       l2=k["weight_decay"])),
    "AdamW": (torch.optim.AdamW, st.fixed_dictionaries(dict(
        lr=adam_lrs, betas=st.tuples(betas, beta2s), eps=epss, weight_decay=st.floats(0, 1))),
        "adamw_torch",
        lambda k: dict(lr=k["lr"], beta1=k["betas"][0], beta2=k["betas"][1], eps=k["eps"],
                       wd=k["weight_decay"])),
    "RMSprop": (torch.optim.RMSprop, st.fixed_dictionaries(dict(
        lr=st.floats(1e-4, 1e-2), alpha=beta2s, eps=epss, weight_decay=decays, momentum=betas,
        centered=st.booleans())), "rmsprop_torch",
        lambda k: dict(lr=k["lr"], alpha=k["alpha"], eps=k["eps"], l2=k["weight_decay"],
                       momentum=k["momentum"], centered=k["centered"])),
}


def oracle_rule(name, kwargs):
    rule_name = ORACLES[name][2] or ("amsgrad" if kwargs["amsgrad"] else "adam_l2")
    return RULES[rule_name]


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_reference_matches_torch_optim(name):
    cls, kwargs_strategy, _, to_ref = ORACLES[name]

    @given(kwargs=kwargs_strategy, shape=shapes, seed=seeds)
    def check(kwargs, shape, seed):
        theta0, grad_fn = problem(shape, seed)
        rule = oracle_rule(name, kwargs)
        ours = run_reference(rule, to_ref(kwargs), theta0, grad_fn)
        theirs = run_torch(lambda p: cls(p, **kwargs), theta0, grad_fn)
        assert max_rel_err(ours, theirs) <= 1e-10, (name, kwargs)

    check()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(ORACLES))
def test_reference_matches_torch_optim_float32(name, device):
    """float32 (and CUDA where present): same trajectories up to float32 rounding."""
    cls, kwargs_strategy, _, to_ref = ORACLES[name]

    @settings(max_examples=5)
    @given(kwargs=kwargs_strategy, seed=seeds)
    def check(kwargs, seed):
        theta0, grad_fn = problem((4, 3), seed, dtype=torch.float32, device=device)
        ours = run_reference(oracle_rule(name, kwargs), to_ref(kwargs), theta0, grad_fn, steps=50)
        theirs = run_torch(lambda p: cls(p, **kwargs), theta0, grad_fn, steps=50)
        assert ours.dtype == torch.float32 and ours.device.type == device
        assert max_rel_err(ours, theirs) <= 1e-4

    check()


@given(lr=adam_lrs, w=st.floats(0, 1e-2), b1=betas, b2=beta2s, eps=epss, shape=shapes, seed=seeds)
def test_paper_adamw_is_torch_adamw_with_wd_over_lr(lr, w, b1, b2, eps, shape, seed):
    theta0, grad_fn = problem(shape, seed)
    common = dict(lr=lr, beta1=b1, beta2=b2, eps=eps)
    paper = run_reference(RULES["adamw_paper"], dict(common, wd=w), theta0, grad_fn)
    torch_conv = run_reference(RULES["adamw_torch"], dict(common, wd=w / lr), theta0, grad_fn)
    assert max_rel_err(paper, torch_conv) <= 1e-10


@given(lr=lrs, l2=st.floats(0, 1.0), shape=shapes, seed=seeds)
def test_proposition_1_sgd_l2_is_weight_decay(lr, l2, shape, seed):
    """Plain SGD on f + (l2/2)|theta|^2 equals theta <- (1 - lr*l2) theta - lr g."""
    theta0, grad_fn = problem(shape, seed)
    with_l2 = run_reference(RULES["sgd_torch"], dict(lr=lr, l2=l2), theta0, grad_fn)
    decayed = run_reference(RULES["sgdw_momentum"], dict(lr=lr, wd=lr * l2, beta1=0.0),
                            theta0, grad_fn)
    assert max_rel_err(with_l2, decayed) <= 1e-10


@given(lr=st.floats(1e-3, 1e-1), beta2=beta2s, shape=st.integers(1, 6), seed=seeds,
       steps=st.integers(1, 30))
def test_rmsprop_step_is_preconditioned_gradient(lr, beta2, shape, seed, steps):
    """With v_0 = 0 and eps = 0 each RMSProp step is -lr M_t g_t, M_t built from G_t(beta2)."""
    gen = torch.Generator().manual_seed(seed)
    grads = torch.randn(steps, shape, generator=gen, dtype=torch.float64)
    theta = torch.randn(shape, generator=gen, dtype=torch.float64)
    state = {"v": torch.zeros(shape, dtype=torch.float64)}
    for t in range(1, steps + 1):
        new, state = RULES["rmsprop_bc"](theta, grads[t - 1], state, t, lr=lr, beta2=beta2, eps=0.0)
        expected = -lr * rmsprop_preconditioner(grads[:t], beta2) @ grads[t - 1]
        torch.testing.assert_close(new - theta, expected, rtol=1e-10, atol=1e-14)
        theta = new


GRID_HPARAMS = {
    "nesterov": dict(lr=[0.01, 0.1], momentum=[0.5, 0.9], l2=[0.0, 0.05]),
    "adagrad": dict(lr=[0.05, 0.2], lr_decay=[0.0, 0.01], initial_accumulator_value=[0.0, 0.5]),
    "adadelta": dict(lr=[0.5, 1.0], rho=[0.9, 0.95], eps=[1e-6, 1e-4]),
    "adamax": dict(lr=[1e-3, 1e-2], beta1=[0.8, 0.9], beta2=[0.99, 0.999]),
    "nadam": dict(lr=[1e-3, 1e-2], momentum_decay=[4e-3, 1e-2], l2=[0.0, 0.05]),
    "nadamw_torch": dict(lr=[1e-3, 1e-2], wd=[0.0, 0.1], eta=[0.5, 1.0]),
    "radam": dict(lr=[1e-3, 1e-2], beta2=[0.6, 0.999], l2=[0.0, 0.05]),
    "radamw_torch": dict(lr=[1e-3, 1e-2], wd=[0.0, 0.1], eta=[0.5, 1.0]),
    "adam_l1": dict(lr=[1e-3, 1e-2], l1=[0.0, 0.01], beta1=[0.8, 0.9]),
    "adamw_l1": dict(lr=[1e-3, 1e-2], l1=[0.0, 0.01], eta=[0.5, 1.0]),
    "sgd_torch": dict(lr=[0.01, 0.1], momentum=[0.0, 0.9], l2=[0.0, 0.05]),
    "sgd_l2_momentum": dict(lr=[0.01, 0.1], beta1=[0.5, 0.9], l2=[0.0, 0.05]),
    "sgdw_momentum": dict(lr=[0.01, 0.1], beta1=[0.5, 0.9], wd=[0.0, 0.05]),
    "sgd_problem_set": dict(lr=[0.01, 0.1], beta1=[0.5, 0.9], wd=[0.0, 0.05]),
    "rmsprop_bc": dict(lr=[1e-3, 1e-2], beta2=[0.9, 0.999], wd=[0.0, 0.01]),
    "rmsprop_torch": dict(lr=[1e-3, 1e-2], alpha=[0.9, 0.99], momentum=[0.0, 0.5]),
    "adam": dict(lr=[1e-3, 1e-2], beta1=[0.8, 0.9], beta2=[0.99, 0.999]),
    "adam_l2": dict(lr=[1e-3, 1e-2], l2=[0.0, 0.1], eta=[0.5, 1.0]),
    "adamw_paper": dict(lr=[1e-3, 1e-2], wd=[0.0, 0.1], eta=[0.5, 1.0]),
    "adamw_torch": dict(lr=[1e-3, 1e-2], wd=[0.0, 0.1], eta=[0.5, 1.0]),
    "amsgrad": dict(lr=[1e-3, 1e-2], beta2=[0.9, 0.999], l2=[0.0, 0.1]),
}


def test_every_rule_has_a_grid_case():
    assert set(GRID_HPARAMS) == set(RULES)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", sorted(RULES))
def test_grid_call_equals_separate_calls(name, dtype, device):
    """Hyperparameters shaped [G, 1, 1] train G configurations at once, each as if alone."""
    rule, hp = RULES[name], GRID_HPARAMS[name]
    g = len(next(iter(hp.values())))
    theta0, grad_fn = problem((g, 3, 2), seed=3, dtype=dtype, device=device)
    grid_hp = {k: torch.tensor(v, dtype=dtype, device=device).view(g, 1, 1) for k, v in hp.items()}
    batched = run_reference(rule, grid_hp, theta0, grad_fn, steps=40)
    for i in range(g):
        alone = run_reference(rule, {k: v[i] for k, v in hp.items()}, theta0[i],
                              lambda th, t, i=i: grad_fn_slice(grad_fn, theta0, i, th, t), steps=40)
        # float32: a Python-float hyperparameter is rounded once, a float32 tensor one earlier
        tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-15)
        torch.testing.assert_close(batched[:, i], alone, **tol)
    assert batched.dtype == dtype and batched.device.type == device


def grad_fn_slice(grad_fn, theta0, i, theta_i, t):
    """The gradient of configuration i alone: embed it in a full grid and take its slice."""
    full = theta0.clone()
    full[i] = theta_i
    return grad_fn(full, t)[i]


@pytest.mark.parametrize("name", sorted(RULES))
def test_rules_do_not_modify_inputs(name):
    rule = RULES[name]
    theta0, grad_fn = problem((5,), seed=1)
    state = {k: torch.rand(5, dtype=torch.float64) for k in rule.state}
    before = (theta0.clone(), {k: v.clone() for k, v in state.items()})
    hp = {k: v[-1] for k, v in GRID_HPARAMS[name].items()}
    hp.setdefault("lr", 0.01)
    rule(theta0, grad_fn(theta0, 2), state, 2, **hp)
    assert torch.equal(theta0, before[0])
    assert all(torch.equal(state[k], before[1][k]) for k in state)
