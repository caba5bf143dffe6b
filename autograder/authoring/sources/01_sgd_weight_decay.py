"""Source of notebook 01: SGD, L2 regularization and decoupled weight decay (SGDW).

Percent format, read by autograder/authoring/percent.py (its docstring describes the cell
kinds): each `# %%` line starts a notebook cell. Build the notebook with

    python -m autograder.authoring.percent 01_sgd_weight_decay

which writes solutions/<assignment>/01_sgd_weight_decay.ipynb.
"""

# %% [markdown]
# # 01 · SGD, L2 regularization and decoupled weight decay (SGDW)
#
# In this notebook you will
#
# 1. derive why plain SGD on an L2-penalized loss *is* weight decay (Proposition 1 of Loshchilov & Hutter, 2019) and write the mapping as code;
# 2. measure the price of that equivalence: the L2 coefficient and the learning rate are **coupled**;
# 3. implement SGD + L2 with momentum and SGDW with momentum, the paper's decoupled variant;
# 4. compare their trajectories and fixed points, and derive which L2 coefficient SGDW's fixed point corresponds to;
# 5. train a small network with your own update rules, next to `torch.optim.SGD`.
#
# Graded functions: `l2_to_decay`, `sgd_l2_momentum_step`, `sgdw_momentum_step`, `sgdw_equivalent_l2`, plus three written answers.
# Replace each `raise NotImplementedError(...)` with your code, then run the check cell under it.
# The checks you see are only part of the grading: hidden tests run more cases (more steps, float32 and float64, edge cases).
#
# **Notation.** $\theta_t$ parameters after step $t$; $g_t = \nabla f_t(\theta_{t-1})$ the minibatch gradient;
# $\alpha$ the learning rate; $\eta_t$ a schedule multiplier (1 unless said otherwise);
# $\lambda$ (or $w$) a weight-decay factor; $\lambda'$ an L2 coefficient.

# %% setup
import math

import matplotlib.pyplot as plt
import sympy as sp

from data_gen import make_classification, make_regression

# %% [markdown]
# ## 1 · Weight decay and L2 regularization
#
# **Weight decay** (Hanson & Pratt, 1988) shrinks the weights by a fixed fraction $\lambda$ at every step, next to the gradient step:
# $$\theta_{t+1} = (1-\lambda)\,\theta_t - \alpha \nabla f_t(\theta_t).$$
#
# **L2 regularization** instead changes the loss: $f^{\text{reg}}_t(\theta) = f_t(\theta) + \frac{\lambda'}{2}\lVert\theta\rVert_2^2$, and plain SGD is run on $f^{\text{reg}}$.
#
# **Question 1 (2 points).** Show that SGD with learning rate $\alpha$ on $f^{\text{reg}}$ produces exactly the weight-decay iteration above, and give $\lambda$ as a function of $\alpha$ and $\lambda'$.

# %% [markdown] answer prop1_derivation points=2
# The penalty's gradient is $\nabla \frac{\lambda'}{2}\lVert\theta\rVert^2 = \lambda'\theta$, so one SGD step on $f^{\text{reg}}$ reads
# $$\theta_{t+1} = \theta_t - \alpha\big(\nabla f_t(\theta_t) + \lambda'\theta_t\big) = (1-\alpha\lambda')\,\theta_t - \alpha\nabla f_t(\theta_t).$$
# This is the weight-decay step with $\lambda = \alpha\lambda'$. The identity holds for every $\theta_t$ and every minibatch, so from the same start the two methods produce the same sequence of iterates. Read backwards: a decay factor $\lambda$ needs the L2 coefficient $\lambda' = \lambda/\alpha$.

# %% [markdown] mark_scheme prop1_derivation
# - 1 pt: gradient of the penalty ($\lambda'\theta$) and the SGD step on $f^{\text{reg}}$ written out.
# - 1 pt: terms collected into $(1-\alpha\lambda')\theta_t - \alpha\nabla f_t$ and $\lambda = \alpha\lambda'$ stated (equivalently $\lambda' = \lambda/\alpha$).
# - Deduct 0.5 if the answer claims the equivalence only approximately or only at convergence.

# %% solution
def l2_to_decay(lr, l2):
    """The weight-decay factor lambda that plain SGD with learning rate `lr` applies at each
    step when it minimizes f + (l2 / 2) ||theta||^2 (Proposition 1).

    Works for floats, torch tensors and sympy symbols alike.
    """
    ### BEGIN SOLUTION
    return lr * l2
    ### END SOLUTION

# %% tests l2_to_decay
# Proposition 1 on one step: SGD on the L2-penalized loss equals one weight-decay step.
theta = torch.randn(6, dtype=torch.float64)
g = torch.randn(6, dtype=torch.float64)
lr, l2 = 0.05, 0.3
sgd_on_reg = theta - lr * (g + l2 * theta)
decay_step = (1 - l2_to_decay(lr, l2)) * theta - lr * g
assert torch.allclose(sgd_on_reg, decay_step), "one SGD step on f_reg should equal one weight-decay step"
assert l2_to_decay(0.1, 0.0) == 0, "no L2 penalty, no decay"
assert torch.is_tensor(l2_to_decay(torch.tensor([0.1, 0.01]), 0.5)), "should work on tensors"
eta, lam = sp.symbols("eta lambda_prime", positive=True)
assert isinstance(l2_to_decay(eta, lam), sp.Expr), "should work on sympy symbols"
### BEGIN HIDDEN TESTS
assert sp.simplify(l2_to_decay(eta, lam) - eta * lam) == 0, "lambda_w should equal eta * lambda'"
_gen = torch.Generator().manual_seed(1)
for _dtype in (torch.float32, torch.float64):
    _lr = torch.rand(3, 1, generator=_gen, dtype=torch.float64).to(_dtype)
    _l2 = torch.rand(1, 4, generator=_gen, dtype=torch.float64).to(_dtype)
    _got = l2_to_decay(_lr, _l2)
    assert _got.dtype == _dtype and _got.shape == (3, 4), "should broadcast and keep the dtype"
    assert torch.allclose(_got, _lr * _l2), "wrong value on tensors"
for _lr, _l2 in [(1e-4, 5e-4), (1.0, 0.0), (0.3, 2.0)]:
    assert math.isclose(l2_to_decay(_lr, _l2), _lr * _l2, rel_tol=1e-12, abs_tol=0.0)
if torch.cuda.is_available():
    assert l2_to_decay(torch.tensor(0.1, device="cuda"), 0.2).device.type == "cuda"
### END HIDDEN TESTS

# %% [markdown]
# ## 2 · The coupling between learning rate and L2 coefficient
#
# Proposition 1 has a cost. With L2, the shrinkage applied per step is $\alpha\lambda'$: change the learning rate and a fixed $\lambda'$ suddenly decays the weights faster or slower. A weight that receives no gradient halves after $\ln 2 / (-\ln(1-\alpha\lambda'))\approx \ln 2/(\alpha\lambda')$ steps:

# %%
l2 = 1e-2
for lr in (0.01, 0.1, 1.0):
    print(f"lr = {lr:5}: L2 coefficient {l2} halves an idle weight every "
          f"{math.log(2) / -math.log(1 - lr * l2):8.0f} steps")

# %% [markdown]
# When the amount of decay over a run is what regularizes, the *best* L2 coefficient must therefore move with the learning rate. The experiment below makes that visible on a least-squares problem with known true weights `w_true`:
#
# * the inputs are badly conditioned (curvatures from 1 down to $10^{-6}$), so in 100 steps gradient descent learns only the well-curved directions;
# * training starts from a large random initialization, so the poorly-curved directions hold leftover noise that only the decay removes;
# * we measure the estimation error $\lVert\theta_T - w_{\text{true}}\rVert^2$ on a grid of learning rates × regularization factors, once with L2 (factor $\lambda'$, applied as $\alpha\lambda'$) and once with decay applied to the weights directly (factor $\lambda$, independent of $\alpha$).
#
# All grid points train at once: the hyperparameters are tensors of shape `[lrs, factors, 1]` that broadcast against the parameters.

# %% experiment
reg = make_regression(n=200, d=20, condition_number=1000.0, noise=0.5, seed=0)
theta0 = 3.0 * torch.randn(20, dtype=torch.float64)
lrs = torch.logspace(-1.3, 0.2, 9, dtype=torch.float64)        # all below 2 / (largest curvature = 1)
factors = torch.logspace(-4, 0, 17, dtype=torch.float64)


def final_error(decoupled, steps=100):
    # Full-batch gradient descent for every (lr, factor) pair at once.
    lr, factor = lrs.view(-1, 1, 1), factors.view(1, -1, 1)
    theta = theta0.expand(len(lrs), len(factors), -1).clone()
    for _ in range(steps):
        grad = (theta @ reg.x.T - reg.y) @ reg.x / len(reg.y)
        if decoupled:
            theta = theta - lr * grad - factor * theta      # decay acts on the weights directly
        else:
            theta = theta - lr * (grad + factor * theta)    # L2: its gradient is scaled by lr
    return ((theta - reg.w_true) ** 2).sum(-1)              # [lrs, factors]


def best_factor_slope(error):
    # Slope of log10(best factor) against log10(lr): -1 = coupled, 0 = independent.
    best = factors[error.argmin(dim=1)]
    return float(np.polyfit(np.log10(lrs.numpy()), np.log10(best.numpy()), 1)[0]), best


fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
slopes = {}
for ax, decoupled, name in [(axes[0], False, "L2 coefficient $\\lambda'$"),
                            (axes[1], True, "decay factor $\\lambda$")]:
    error = final_error(decoupled)
    slope, best = best_factor_slope(error)
    slope = round(slope, 2) + 0.0                           # no "-0.00"
    slopes["decay" if decoupled else "L2"] = slope
    # Clip the colour scale: diverging runs (top right) would otherwise wash out the rest.
    mesh = ax.pcolormesh(factors, lrs, error.log10().clamp(max=3), shading="nearest", cmap="viridis_r")
    ax.plot(best, lrs, "w*", markersize=10, label="best factor for each lr")
    ax.set(xscale="log", yscale="log", xlabel=name, title=f"slope of best factor vs lr: {slope:+.2f}")
    fig.colorbar(mesh, ax=ax, label="log10 estimation error after 100 steps (clipped at 3)")
    ax.legend(loc="lower left", fontsize=8)
axes[0].set_ylabel("learning rate $\\alpha$")
fig.suptitle("Where is the best regularization factor, for each learning rate?")
plt.show()
print("slope of log10(best factor) against log10(lr):", {k: round(v, 2) for k, v in slopes.items()})

# %% [markdown]
# On this problem the best L2 coefficient falls as the learning rate rises, with a log–log slope close to $-1$ (printed above): what matters is the product $\alpha\lambda'$, so tuning $\lambda'$ after changing $\alpha$ starts from scratch. The best decoupled factor stays put (slope close to 0): learning rate and decay can be tuned one at a time. The paper finds the same picture on a ResNet trained on CIFAR-10 (its Figure 2), where the good region of SGD + L2 is a diagonal and that of SGDW is axis-aligned.

# %% [markdown]
# ## 3 · Momentum: three ways to write it
#
# Proposition 1 is about plain SGD. With momentum, the place where the regularization enters matters. Three conventions are in use, and they are easy to mix up:
#
# | | momentum buffer | parameter update |
# |---|---|---|
# | **this course = the paper's Algorithm 1** | $m_t = \beta_1 m_{t-1} + \eta_t\,\alpha\,(g_t + \lambda'\theta_{t-1})$, $m_0 = 0$ | $\theta_t = \theta_{t-1} - m_t - \eta_t\, w\, \theta_{t-1}$ |
# | the problem set's Algorithm 1 | $m_t = (1-\beta_1)\, m_{t-1} + \beta_1 g_t$ ($g_t$ already includes $\lambda'\theta_{t-1}$) | $\theta_t = \theta_{t-1} - \alpha\, m_t$ |
# | `torch.optim.SGD` | $b_t = \mu\, b_{t-1} + (1-\text{dampening})(g_t + \lambda'\theta_{t-1})$, with $b_1 = g_1 + \lambda'\theta_0$ | $\theta_t = \theta_{t-1} - \text{lr}\; b_t$ |
#
# **This course uses the paper's form.** SGD + L2 with momentum is the first row with $w = 0$; SGDW with momentum is the first row with $\lambda' = 0$. In SGDW the decay term $\eta_t w\theta_{t-1}$ never enters the momentum buffer and is not multiplied by the learning rate $\alpha$ (only by the schedule multiplier $\eta_t$).
#
# How the others relate:
# * In the problem set's version $\beta_1$ weights the **new** gradient, so its $\beta_1 = 0.1$ corresponds to our $\beta_1 = 0.9$ (and the step is also scaled by $\beta_1$).
# * PyTorch stores raw gradients in its buffer and multiplies by the learning rate afterwards. With dampening 0 and a constant learning rate, $\alpha\, b_t$ follows exactly the recursion of our $m_t$ (both start at $\alpha g_1$), so `torch.optim.SGD(lr=α, momentum=β1, weight_decay=λ')` *is* our SGD + L2; the check under your first rule uses that. The two differ once the learning rate changes during training: our buffer holds steps already scaled by past learning rates, PyTorch's does not.
#
# **Question 2 (2 points).** Starting from SGD + L2 with momentum (first row, $w = 0$), what do you change to obtain SGDW with momentum, and why does the change make the decay independent of $\alpha$ and of $\beta_1$?

# %% [markdown] answer sgdw_modification points=2
# Remove $\lambda'\theta_{t-1}$ from the gradient that feeds the momentum buffer, so $m_t = \beta_1 m_{t-1} + \eta_t\alpha g_t$ averages only the data gradient, and subtract $\eta_t w\theta_{t-1}$ from the parameters directly in the update, $\theta_t = \theta_{t-1} - m_t - \eta_t w\theta_{t-1}$.
#
# With L2 inside the buffer, the penalty's gradient is multiplied by $\alpha$ and then accumulated over past steps with weights $\beta_1^k$, so the effective shrinkage depends on both $\alpha$ and $\beta_1$. Applied outside the buffer, the weights shrink by exactly the fraction $\eta_t w$ at every step, whatever $\alpha$ and $\beta_1$ are.

# %% [markdown] mark_scheme sgdw_modification
# - 1 pt: the two changes (no $\lambda'\theta$ in the momentum/gradient; $-\eta_t w\theta_{t-1}$ in the parameter update, not multiplied by $\alpha$).
# - 1 pt: the reason: inside the buffer the penalty is scaled by $\alpha$ and smeared over past steps by $\beta_1$; outside it the per-step shrinkage is $\eta_t w$.

# %% solution
def sgd_l2_momentum_step(theta, grad, state, t, lr, l2, beta1=0.9, eta=1.0):
    """One step of SGD with momentum on f + (l2 / 2) ||theta||^2 (the paper's Algorithm 1, w = 0).

    theta, grad: tensors of the same shape; state: {"m": momentum buffer} (zeros before step 1);
    t: step number (1, 2, ...); lr, l2, beta1, eta: floats or tensors broadcasting against theta.
    Returns (new_theta, {"m": new_m}) and leaves the inputs unchanged.
    """
    ### BEGIN SOLUTION
    m = beta1 * state["m"] + eta * lr * (grad + l2 * theta)
    return theta - m, {"m": m}
    ### END SOLUTION

# %% tests sgd_l2_momentum_step
# A hand-computed first step: m_1 = lr * (g + l2 * theta), theta_1 = theta - m_1.
theta = torch.tensor([1.0, -2.0], dtype=torch.float64)
state = {"m": torch.zeros(2, dtype=torch.float64)}
new_theta, new_state = sgd_l2_momentum_step(theta, torch.tensor([0.5, 0.5], dtype=torch.float64),
                                            state, 1, lr=0.1, l2=0.2, beta1=0.9)
assert torch.allclose(new_state["m"], torch.tensor([0.07, 0.01], dtype=torch.float64)), new_state["m"]
assert torch.allclose(new_theta, torch.tensor([0.93, -2.01], dtype=torch.float64)), new_theta
assert torch.equal(theta, torch.tensor([1.0, -2.0], dtype=torch.float64)), "theta was modified in place"
assert torch.equal(state["m"], torch.zeros(2, dtype=torch.float64)), "state was modified in place"

# With a constant learning rate this is torch.optim.SGD(momentum=beta1, weight_decay=l2).
torch.manual_seed(0)
p = torch.nn.Parameter(torch.randn(5, dtype=torch.float64))
opt = torch.optim.SGD([p], lr=0.05, momentum=0.8, weight_decay=0.1)
theta, state = p.detach().clone(), {"m": torch.zeros(5, dtype=torch.float64)}
for t in range(1, 6):
    g = torch.randn(5, dtype=torch.float64)
    p.grad = g.clone()
    opt.step()
    theta, state = sgd_l2_momentum_step(theta, g, state, t, lr=0.05, l2=0.1, beta1=0.8)
    assert torch.allclose(theta, p.detach()), f"differs from torch.optim.SGD at step {t}"
### BEGIN HIDDEN TESTS
from autograder.reference.checks import check_rule
check_rule(sgd_l2_momentum_step, "sgd_l2_momentum", lr=(1e-3, 1.0), l2=(1e-5, 1e-1), beta1=(0.5, 0.99))
### END HIDDEN TESTS

# %% solution
def sgdw_momentum_step(theta, grad, state, t, lr, wd, beta1=0.9, eta=1.0):
    """One step of SGDW with momentum (the paper's Algorithm 1 with lambda' = 0): the decay
    eta * wd * theta is applied to the weights, outside the momentum buffer, and is not
    multiplied by lr. Same arguments and return value as sgd_l2_momentum_step (wd for l2).
    """
    ### BEGIN SOLUTION
    m = beta1 * state["m"] + eta * lr * grad
    return theta - m - eta * wd * theta, {"m": m}
    ### END SOLUTION

# %% tests sgdw_momentum_step
torch.manual_seed(1)
theta = torch.randn(4, dtype=torch.float64)
zero = {"m": torch.zeros(4, dtype=torch.float64)}
g = torch.randn(4, dtype=torch.float64)

# Without decay, SGDW is plain SGD with momentum.
a, sa = sgdw_momentum_step(theta, g, zero, 1, lr=0.1, wd=0.0, beta1=0.9)
b, sb = sgd_l2_momentum_step(theta, g, zero, 1, lr=0.1, l2=0.0, beta1=0.9)
assert torch.allclose(a, b) and torch.allclose(sa["m"], sb["m"]), "with wd=0 SGDW should be SGD + momentum"

# The decay never enters the momentum buffer.
_, s_decay = sgdw_momentum_step(theta, g, sa, 2, lr=0.1, wd=0.3, beta1=0.9)
_, s_plain = sgdw_momentum_step(theta, g, sa, 2, lr=0.1, wd=0.0, beta1=0.9)
assert torch.allclose(s_decay["m"], s_plain["m"]), "the momentum buffer must not depend on wd"

# With no gradient and an empty buffer, one step shrinks theta by (1 - eta * wd) whatever lr is.
no_grad = torch.zeros(4, dtype=torch.float64)
for lr in (1e-3, 1.0):
    shrunk, _ = sgdw_momentum_step(theta, no_grad, zero, 1, lr=lr, wd=0.01, beta1=0.9, eta=0.5)
    assert torch.allclose(shrunk, (1 - 0.5 * 0.01) * theta), "the decay must not be scaled by lr"
assert torch.equal(zero["m"], torch.zeros(4, dtype=torch.float64)), "state was modified in place"
### BEGIN HIDDEN TESTS
from autograder.reference.checks import check_rule
check_rule(sgdw_momentum_step, "sgdw_momentum", lr=(1e-3, 1.0), wd=(1e-5, 1e-1), beta1=(0.5, 0.99))
### END HIDDEN TESTS

# %% [markdown]
# ## 4 · Trajectories and fixed points with momentum
#
# Without momentum, SGD + L2 with coefficient $\lambda'$ and decay with $\lambda = \alpha\lambda'$ are the same method. With momentum they are not: the L2 gradient is accumulated in the buffer and its effect builds up over roughly $1/(1-\beta_1)$ steps, while the decoupled decay acts once per step. Below, both run on a 2-D least-squares problem from the same start:
#
# * **SGD + L2** with $\lambda'$;
# * **SGDW** with the per-step equivalent of Proposition 1, $w = \alpha\lambda'$;
# * **SGDW** with $w$ chosen so that its fixed point is the same as SGD + L2's (you will derive this $w$ in Question 3).

# %% experiment
plane = make_regression(n=50, d=2, condition_number=3.0, noise=0.5, seed=2)
lr, l2, beta1, steps = 0.1, 0.5, 0.9, 300
start = torch.tensor([3.0, -3.0], dtype=torch.float64)


def run(step, **hp):
    theta, state, path = start.clone(), {"m": torch.zeros(2, dtype=torch.float64)}, [start]
    for t in range(1, steps + 1):
        theta, state = step(theta, plane.grad(theta), state, t, beta1=beta1, **hp)
        path.append(theta)
    return torch.stack(path)


paths = {
    "SGD + L2, $\\lambda'$": run(sgd_l2_momentum_step, lr=lr, l2=l2),
    "SGDW, $w = \\alpha\\lambda'$": run(sgdw_momentum_step, lr=lr, wd=lr * l2),
    "SGDW, $w = \\alpha\\lambda'/(1-\\beta_1)$": run(sgdw_momentum_step, lr=lr, wd=lr * l2 / (1 - beta1)),
}
ridge = plane.ridge_solution(l2)

grid = torch.linspace(-4, 4, 81, dtype=torch.float64)
w1, w2 = torch.meshgrid(grid, grid, indexing="xy")
points = torch.stack([w1.flatten(), w2.flatten()], dim=1)
loss = (0.5 * ((points @ plane.x.T - plane.y) ** 2).mean(1) + 0.5 * l2 * (points ** 2).sum(1)).view(w1.shape)

fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
axes[0].contour(w1, w2, loss, levels=20, cmap="Greys")
for name, path in paths.items():
    axes[0].plot(path[:, 0], path[:, 1], ".-", markersize=2, label=name)
    axes[1].semilogy((path - ridge).norm(dim=1), label=name)
axes[0].plot(*ridge, "k*", markersize=14, label="minimizer of $f + \\frac{\\lambda'}{2}\\|\\theta\\|^2$")
axes[0].set(xlabel="$\\theta_1$", ylabel="$\\theta_2$", title="trajectories on the L2-regularized loss")
axes[0].legend(fontsize=8)
axes[1].set(xlabel="step $t$", ylabel="$\\|\\theta_t - \\theta^*_{L2}\\|$",
            title="distance to the L2 minimizer")
axes[1].legend(fontsize=8)
plt.show()
for name, path in paths.items():
    print(f"{name:45s} final distance to the L2 minimizer: {(path[-1] - ridge).norm():.2e}")

# %% [markdown]
# The first two runs agree at step 1 (the buffer is empty, so both shrink by $\alpha\lambda'$) and then drift apart: they end at different points. The third run follows a different path from SGD + L2, but converges to the same point.
#
# **Question 3 (3 points).** Take a constant schedule $\eta_t = \eta$ and a full-batch gradient $\nabla f$. (a) Show that every fixed point $\theta^*$ of SGD + L2 with momentum satisfies $\nabla f(\theta^*) + \lambda'\theta^* = 0$, whatever $\alpha$, $\beta_1$ and $\eta$. (b) Find the condition satisfied by a fixed point of SGDW with momentum, and deduce the L2 coefficient $\lambda'$ whose minimizer it is. How does it depend on $\alpha$ and $\beta_1$?

# %% [markdown] answer sgdw_fixed_point points=3
# (a) At a fixed point $\theta_t = \theta_{t-1} = \theta^*$ and $m_t = m_{t-1} = m^*$. The update $\theta_t = \theta_{t-1} - m_t$ gives $m^* = 0$; the buffer equation then gives $0 = \eta\alpha(\nabla f(\theta^*) + \lambda'\theta^*)$, i.e. $\nabla f(\theta^*) + \lambda'\theta^* = 0$: the minimizer of $f + \frac{\lambda'}{2}\lVert\theta\rVert^2$, independent of $\alpha$, $\beta_1$, $\eta$.
#
# (b) For SGDW, $\theta^* = \theta^* - m^* - \eta w\theta^*$ gives $m^* = -\eta w\theta^*$. The buffer equation $m^* = \beta_1 m^* + \eta\alpha\nabla f(\theta^*)$ gives $(1-\beta_1)m^* = \eta\alpha\nabla f(\theta^*)$. Together: $-(1-\beta_1)\eta w\theta^* = \eta\alpha\nabla f(\theta^*)$, i.e.
# $$\nabla f(\theta^*) + \frac{(1-\beta_1)\,w}{\alpha}\,\theta^* = 0 .$$
# So SGDW's fixed point is the minimizer of the L2-regularized loss with $\lambda' = (1-\beta_1)w/\alpha$. It does not depend on $\eta$; it is inversely proportional to $\alpha$ and proportional to $1-\beta_1$ (the buffer amplifies the gradient by $1/(1-\beta_1)$ at equilibrium, the decay is not amplified). Without momentum ($\beta_1 = 0$) this is Proposition 1 again, $\lambda' = w/\alpha$.

# %% [markdown] mark_scheme sgdw_fixed_point
# - 1 pt: (a) fixed-point equations for SGD + L2; $m^* = 0$; $\nabla f + \lambda'\theta^* = 0$, no dependence on $\alpha, \beta_1, \eta$.
# - 1 pt: (b) $m^* = -\eta w\theta^*$ and $(1-\beta_1)m^* = \eta\alpha\nabla f(\theta^*)$ combined correctly.
# - 1 pt: $\lambda' = (1-\beta_1)w/\alpha$ with the dependence stated (grows with $w$, falls with $\alpha$, vanishes as $\beta_1 \to 1$; consistent with Proposition 1 at $\beta_1 = 0$).

# %% solution
def sgdw_equivalent_l2(lr, wd, beta1):
    """The L2 coefficient lambda' whose regularized minimizer is the fixed point of SGDW with
    momentum (learning rate lr, decay wd, momentum beta1). Works for floats, tensors, sympy."""
    ### BEGIN SOLUTION
    return (1 - beta1) * wd / lr
    ### END SOLUTION

# %% tests sgdw_equivalent_l2
# Run SGDW with momentum (your sgdw_momentum_step) to convergence: it must land on the minimizer
# of the L2-regularized loss whose coefficient your function gives (closed form: ridge_solution).
problem = make_regression(n=100, d=5, condition_number=4.0, noise=0.3, seed=3)
for lr, wd, beta1 in [(0.2, 0.02, 0.9), (0.5, 0.01, 0.5)]:
    theta, state = torch.zeros(5, dtype=torch.float64), {"m": torch.zeros(5, dtype=torch.float64)}
    for t in range(1, 1501):
        theta, state = sgdw_momentum_step(theta, problem.grad(theta), state, t, lr=lr, wd=wd, beta1=beta1)
    target = problem.ridge_solution(sgdw_equivalent_l2(lr, wd, beta1))
    assert torch.allclose(theta, target, atol=1e-8), f"lr={lr}, wd={wd}, beta1={beta1}: {theta} vs {target}"
### BEGIN HIDDEN TESTS
_a, _w, _b = sp.symbols("alpha w beta_1", positive=True)
assert sp.simplify(sgdw_equivalent_l2(_a, _w, _b) - (1 - _b) * _w / _a) == 0, "lambda' = (1 - beta1) w / alpha"
_gen = torch.Generator().manual_seed(2)
for _dtype in (torch.float32, torch.float64):
    _lr = torch.rand(4, 1, generator=_gen, dtype=torch.float64).to(_dtype) + 0.01
    _wd = torch.rand(1, 3, generator=_gen, dtype=torch.float64).to(_dtype)
    _got = sgdw_equivalent_l2(_lr, _wd, 0.9)
    assert _got.dtype == _dtype and torch.allclose(_got, (1 - 0.9) * _wd / _lr), "wrong value on tensors"
assert sgdw_equivalent_l2(0.1, 0.0, 0.9) == 0, "wd = 0 corresponds to no L2"
assert math.isclose(sgdw_equivalent_l2(0.1, 0.01, 0.0), 0.1, rel_tol=1e-12), "beta1 = 0 gives Proposition 1"
### END HIDDEN TESTS

# %% [markdown]
# ## 5 · Your rules train a network
#
# `wdlab.train` trains a small MLP (cross-entropy, minibatches of 100) on the course's synthetic classification data with *any* function of the course's rule signature `rule(theta, grad, state, t, **hyperparameters)` — here, yours. `wdlab.train_torch` trains the same model from the same initialization on the same minibatches with a `torch.optim` optimizer: `torch.optim.SGD` should draw the same curve as your SGD + L2 (Section 3). SGDW uses the decay whose fixed point matches the L2 run, $w = \alpha\lambda'/(1-\beta_1)$.

# %% experiment
import wdlab

data = make_classification(difficulty="medium", seed=0)
lr, l2, beta1, steps = 0.1, 1e-3, 0.9, 200
runs = {
    "your SGD + L2": wdlab.train(sgd_l2_momentum_step, data, steps=steps, hidden=(32,),
                                 lr=lr, l2=l2, beta1=beta1),
    "torch.optim.SGD(weight_decay=L2)": wdlab.train_torch(
        lambda params: torch.optim.SGD(params, lr=lr, momentum=beta1, weight_decay=l2),
        data, steps=steps, hidden=(32,)),
    "your SGDW": wdlab.train(sgdw_momentum_step, data, steps=steps, hidden=(32,),
                             lr=lr, wd=lr * l2 / (1 - beta1), beta1=beta1),
}
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for (name, history), style in zip(runs.items(), ["-", "--", ":"]):
    axes[0].plot(np.arange(1, steps + 1), history.train_loss, style, label=name)
    axes[1].plot(history.steps, history.val_acc, style + "o", markersize=3, label=name)
axes[0].set(xlabel="step", ylabel="minibatch training loss", yscale="log", title="training loss")
axes[1].set(xlabel="step", ylabel="validation accuracy", title="validation accuracy")
for ax in axes:
    ax.legend()
plt.show()
for name, history in runs.items():
    print(f"{name:34s} final validation accuracy {history.val_acc[-1]:.3f}")

# %% [markdown]
# ## Summary
#
# * Plain SGD on $f + \frac{\lambda'}{2}\lVert\theta\rVert^2$ is weight decay with $\lambda = \alpha\lambda'$ (Proposition 1) — so the L2 coefficient and the learning rate are coupled, and the best $\lambda'$ moves when $\alpha$ moves.
# * SGDW applies the decay to the weights, outside the momentum buffer and without the factor $\alpha$.
# * With momentum, SGD + L2 and SGDW differ step by step; SGDW's fixed point is the L2 minimizer for $\lambda' = (1-\beta_1)w/\alpha$.
# * Next notebook: adaptive methods, where even without momentum no L2 coefficient reproduces weight decay.
