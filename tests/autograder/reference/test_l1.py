"""Adam + L1 and decoupled L1: the soft threshold, torch.optim.Adam oracles, sparse recovery.

The sparse problem is least squares on n = 200 samples of d = 40 Gaussian features whose true
weights have 5 non-zeros; it is built here, seeded, so the support is known.
"""
import pytest
import torch

from autograder.reference import RULES, adam, adamw_l1, soft_threshold
from tests.autograder.reference.test_reference import max_rel_err, problem, run_reference

STEPS = 500


def test_soft_threshold_is_the_prox_of_the_l1_norm():
    """sign(theta) max(|theta| - tau, 0) minimizes 1/2 (x - theta)^2 + tau |x| (grid search)."""
    x = torch.linspace(-3, 3, 60_001, dtype=torch.float64)  # spacing 1e-4
    gen = torch.Generator().manual_seed(0)
    thetas = torch.cat([4 * torch.rand(20, generator=gen, dtype=torch.float64) - 2,
                        torch.tensor([0.0, 0.5, -0.5, 1.5, -1.5], dtype=torch.float64)])
    for tau in (0.0, 0.1, 0.5, 1.0):
        objective = 0.5 * (x[None, :] - thetas[:, None]) ** 2 + tau * x.abs()[None, :]
        best = x[objective.argmin(dim=1)]
        prox = soft_threshold(thetas, tau)
        torch.testing.assert_close(prox, best, rtol=0, atol=1e-4)
        at_prox = 0.5 * (prox - thetas) ** 2 + tau * prox.abs()
        assert (at_prox <= objective.min(dim=1).values + 1e-15).all()


def test_soft_threshold_zeros_and_shrinkage_are_exact():
    gen = torch.Generator().manual_seed(1)
    theta = torch.randn(4, 50, generator=gen, dtype=torch.float64)
    theta[:, :5] = 0.0
    tau = torch.tensor([[0.0], [0.1], [0.5], [2.0]], dtype=torch.float64)  # one threshold per row
    out = soft_threshold(theta, tau)
    inside = theta.abs() <= tau
    assert (out[:, :5] == 0).all()                         # zeros stay exactly zero
    assert (out[inside] == 0).all() and inside[1:].any()   # |theta| <= tau goes to exactly zero
    assert torch.equal(out[~inside].sign(), theta[~inside].sign())
    torch.testing.assert_close(out.abs()[~inside], (theta.abs() - tau.expand_as(theta))[~inside])
    assert torch.equal(soft_threshold(theta, 0.0), theta)


def test_decoupled_threshold_is_eta_l1_without_lr():
    """With no gradient and no history the Adam step is zero, so only the prox acts: by
    eta_t l1, whatever the learning rate."""
    theta = torch.tensor([0.0, 0.05, -0.05, 0.3, -2.0], dtype=torch.float64)
    zeros = RULES["adamw_l1"].init_state(theta)
    for lr in (1e-3, 1.0):
        out, _ = RULES["adamw_l1"](theta, torch.zeros_like(theta), zeros, 1, lr=lr, l1=0.1, eta=0.5)
        assert torch.equal(out, soft_threshold(theta, 0.05))


def test_a_zero_weight_stays_zero_only_under_the_decoupled_prox():
    """Adam's first step moves every coordinate by about lr; with l1 >= lr the prox takes it
    back to exactly zero, while sign(0) = 0 gives the coupled penalty nothing to push with."""
    theta, grad = torch.zeros(6, dtype=torch.float64), torch.linspace(-1, 1, 6, dtype=torch.float64)
    state = RULES["adam"].init_state(theta)
    decoupled, _ = RULES["adamw_l1"](theta, grad, state, 1, lr=0.01, l1=0.01)
    coupled, _ = RULES["adam_l1"](theta, grad, state, 1, lr=0.01, l1=0.01)
    assert (decoupled == 0).all() and (coupled != 0).all()


def _torch_adam(theta0, grad_fn, lr, l1, prox, steps=STEPS):
    """torch.optim.Adam on grad + l1 sign(theta) (prox=False), or on grad and then the soft
    threshold by l1 applied to the parameters (prox=True)."""
    p = torch.nn.Parameter(theta0.clone())
    opt, path = torch.optim.Adam([p], lr=lr), []
    for t in range(1, steps + 1):
        g = grad_fn(p.detach(), t)
        p.grad = g if prox else g + l1 * p.detach().sign()
        opt.step()
        if prox:
            with torch.no_grad():
                p.copy_(p.sign() * (p.abs() - l1).clamp(min=0))
        path.append(p.detach().clone())
    return torch.stack(path)


@pytest.mark.parametrize(("lr", "l1"), [(1e-2, 1e-3), (3e-2, 2e-2)])
@pytest.mark.parametrize("name", ["adam_l1", "adamw_l1"])
def test_l1_rules_match_torch_adam(name, lr, l1):
    theta0, grad_fn = problem((4, 3), seed=5)
    ours = run_reference(RULES[name], dict(lr=lr, l1=l1), theta0, grad_fn)
    theirs = _torch_adam(theta0, grad_fn, lr, l1, prox=name == "adamw_l1")
    assert max_rel_err(ours, theirs) <= 1e-10


def sparse_problem(seed=0, n=200, d=40, k=5, noise=0.01):
    """Features x ~ N(0, 1), a k-sparse w* with |w*_j| in [1, 2], y = x w* + noise; returns the
    gradient of 1/(2n) |X w - y|^2 and w*."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    w_star = torch.zeros(d, dtype=torch.float64)
    support = torch.randperm(d, generator=gen)[:k]
    signs = torch.randint(0, 2, (k,), generator=gen).to(torch.float64) * 2 - 1
    w_star[support] = signs * (1 + torch.rand(k, generator=gen, dtype=torch.float64))
    y = x @ w_star + noise * torch.randn(n, generator=gen, dtype=torch.float64)
    return (lambda w: x.T @ (x @ w - y) / n), w_star


def train(name, grad, d, steps, **hp):
    theta = torch.zeros(d, dtype=torch.float64)
    state = RULES[name].init_state(theta)
    for t in range(1, steps + 1):
        theta, state = RULES[name](theta, grad(theta), state, t, **hp)
    return theta


def support_scores(w, w_star):
    found, true = w != 0, w_star != 0
    hits = int((found & true).sum())
    return hits / max(int(found.sum()), 1), hits / int(true.sum())


# lr, l1 = 0.3 lr; eps sets the scale of the lasso penalty decoupled L1 converges to (see l1.py)
SPARSE = dict(lr=0.01, eps=1e-2, beta2=0.99)


def lasso_penalty(lr, l1, eps):
    """The lasso penalty at the fixed points of adamw_l1 (l1.py): eps r / (1 - r), r = l1/lr."""
    r = l1 / lr
    return eps * r / (1 - r)


@pytest.mark.parametrize("seed", [0, 1])
def test_decoupled_l1_recovers_the_support_and_adam_l1_does_not_zero_weights(seed):
    grad, w_star = sparse_problem(seed)
    l1 = 0.3 * SPARSE["lr"]
    decoupled = train("adamw_l1", grad, len(w_star), 2000, l1=l1, **SPARSE)
    # Adam + L1 aimed at the same lasso (same penalty in gradient units)
    coupled = train("adam_l1", grad, len(w_star), 2000, l1=lasso_penalty(SPARSE["lr"], l1, SPARSE["eps"]),
                    **SPARSE)
    assert support_scores(decoupled, w_star) == (1.0, 1.0)
    assert int((decoupled == 0).sum()) == 35
    assert int((coupled == 0).sum()) <= 3          # measured 0: small weights oscillate around 0
    assert support_scores(coupled, w_star)[0] < 0.2
    for w in (decoupled, coupled):                # both are good fits: the gap is in the zeros
        assert (w - w_star).norm() < 0.05


@pytest.mark.parametrize(("eps", "r"), [(1e-2, 0.3), (1e-3, 0.5)])
def test_decoupled_l1_converges_to_the_lasso_with_penalty_eps_r_over_1_minus_r(eps, r):
    """At a fixed point Adam's step is lr g/(|g| + eps); balancing the threshold l1 = r lr
    gives |g_j| = eps r/(1 - r) on the support and at most that off it: the lasso's KKT
    conditions, whose solution is unique here (200 samples, 40 features)."""
    grad, w_star = sparse_problem(0)
    lr = 0.03
    w = train("adamw_l1", grad, len(w_star), 2000, lr=lr, l1=r * lr, eps=eps, beta2=0.95)
    lam, g, on = lasso_penalty(lr, r * lr, eps), grad(w), w != 0
    assert ((g[on] + lam * w[on].sign()).abs() <= 1e-8 * lam).all()
    assert (g[~on].abs() <= lam).all() and (~on).sum() >= 30


def test_default_eps_makes_the_decoupled_penalty_vanish():
    """With eps = 1e-8 the fixed point is a lasso with penalty ~1e-8: most true zeros stay
    non-zero, and l1 >= lr instead removes every weight."""
    grad, w_star = sparse_problem(0)
    kept = train("adamw_l1", grad, len(w_star), 2000, lr=0.01, l1=0.005)
    gone = train("adamw_l1", grad, len(w_star), 500, lr=0.01, l1=0.011)
    assert int((kept == 0).sum()) < 15 and support_scores(kept, w_star)[1] == 1.0
    assert (gone == 0).all()


def test_adamw_l1_is_the_adam_step_then_the_prox():
    theta0, grad_fn = problem((7,), seed=2)
    state = {k: torch.rand(7, dtype=torch.float64) for k in ("m", "v")}
    stepped, want_state = adam(theta0, grad_fn(theta0, 3), state, 3, lr=0.01, eta=0.7)
    got, got_state = adamw_l1(theta0, grad_fn(theta0, 3), state, 3, lr=0.01, l1=0.2, eta=0.7)
    assert torch.equal(got, soft_threshold(stepped, 0.7 * 0.2))
    assert all(torch.equal(got_state[k], want_state[k]) for k in want_state)
