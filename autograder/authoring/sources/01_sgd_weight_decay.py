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
from wdlab import checks, selfcheck

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
# Visible checks: fixed numbers, Proposition 1 on one step, tensors and sympy symbols.
checks.close(l2_to_decay(0.1, 0.5), 0.05, "l2_to_decay(0.1, 0.5)", hint="lambda is a function of lr and l2 only")
checks.close(l2_to_decay(0.1, 0.0), 0.0, "l2_to_decay(0.1, 0.0)", hint="no L2 penalty, no decay")
theta = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
g = torch.tensor([0.3, 0.1, -0.2], dtype=torch.float64)
lr, l2 = 0.05, 0.3
sgd_on_reg = theta - lr * (g + l2 * theta)                  # one SGD step on f + (l2 / 2) ||theta||^2
decay_step = (1 - l2_to_decay(lr, l2)) * theta - lr * g     # one weight-decay step with your lambda
checks.close(decay_step, sgd_on_reg, "weight-decay step with lambda = l2_to_decay(0.05, 0.3) against the "
             "SGD step on f_reg", hint="collect the terms in theta of theta - lr * (g + l2 * theta)")
got = l2_to_decay(torch.tensor([0.1, 0.01], dtype=torch.float64), 0.5)
assert torch.is_tensor(got), f"l2_to_decay should work on tensors, got {type(got).__name__}"
checks.close(got, [0.05, 0.005], "l2_to_decay(tensor([0.1, 0.01]), 0.5)")
eta, lam = sp.symbols("eta lambda_prime", positive=True)
assert isinstance(l2_to_decay(eta, lam), sp.Expr), \
    f"l2_to_decay should work on sympy symbols, got {type(l2_to_decay(eta, lam)).__name__}"
print("l2_to_decay: visible checks passed")
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
# **Self-check A** (not graded). Plain SGD with $\alpha = 0.1$ minimizes $f + \frac{\lambda'}{2}\lVert\theta\rVert^2$ with $\lambda' = 10^{-2}$. By what factor is a weight that receives no gradient multiplied at each step?

# %%
answer = None   # a number
selfcheck.check("01-idle-weight", answer)

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


def final_error(decoupled, factor=factors.view(1, -1, 1), steps=100):
    # Full-batch gradient descent for every (lr, factor) pair at once: [lrs, factors].
    lr = lrs.view(-1, 1, 1)
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
slopes, errors = {}, {}
for ax, decoupled, name in [(axes[0], False, "L2 coefficient $\\lambda'$"),
                            (axes[1], True, "decay factor $\\lambda$")]:
    error = errors["decay" if decoupled else "L2"] = final_error(decoupled)
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
#
# **One family of runs, two coordinate systems.** Without momentum, decay $\lambda$ at learning rate $\alpha$ *is* L2 with $\lambda' = \lambda/\alpha$ (Proposition 1). So every run of the right panel is also a run of the left panel, drawn at $\lambda' = \lambda/\alpha$ instead of $\lambda$: a vertical line $\lambda = $ const on the right is the diagonal $\lambda' = \text{const}/\alpha$ on the left. Slope $-1$ and slope $0$ are the same finding, read in two coordinate systems; the decoupled one is the convenient one, because there the good settings lie along an axis. The next cell checks that the two panels hold the same runs.

# %% experiment
# Decay lambda at lr alpha against L2 with lambda' = lambda / alpha: the same 153 runs.
twins = final_error(decoupled=False, factor=factors.view(1, -1, 1) / lrs.view(-1, 1, 1))
gap = float(((twins - errors["decay"]) / errors["decay"]).abs().max())
print(f"largest relative difference between a decay run and its L2 twin: {gap:.1e}")
assert gap < 1e-9, f"decay (alpha, lambda) should equal L2 (alpha, lambda / alpha); relative gap {gap:.1e}"

# %% [markdown]
# **Short runs and converged runs.** Why is the best $\lambda$ the same for every $\alpha$ here? In 100 steps gradient descent hardly moves the poorly-curved directions; there only the decay acts, shrinking the leftover noise by $(1-\lambda)^{100}$ whatever $\alpha$ is. That is a property of *short* runs. Run long enough, every setting ends at its fixed point, the minimizer of $f + \frac{\lambda'}{2}\lVert\theta\rVert^2$ with $\lambda'$ for L2 and $\lambda/\alpha$ for decay. Then the best L2 coefficient no longer depends on $\alpha$ (slope 0) and the best decay grows in proportion to $\alpha$ (slope $+1$). The next cell computes the errors of converged runs from the closed-form minimizer (`ridge_solution`) and checks one long run against it.

# %% experiment
def converged_error(l2):
    return float(((reg.ridge_solution(float(l2)) - reg.w_true) ** 2).sum())


limits = {"L2": torch.tensor([[converged_error(f) for f in factors] for lr in lrs], dtype=torch.float64),
          "decay": torch.tensor([[converged_error(f / lr) for f in factors] for lr in lrs], dtype=torch.float64)}
converged_slopes = {k: round(best_factor_slope(v)[0], 2) + 0.0 for k, v in limits.items()}
print("slope of log10(best factor) against log10(lr) after 100 steps:", slopes)
print("slope of log10(best factor) against log10(lr) at convergence: ", converged_slopes)

# One long run of decay (lr = 1, lambda = 0.05) lands on the minimizer for lambda' = lambda / lr.
theta = theta0.clone()
for _ in range(2000):
    theta = theta - 1.0 * (theta @ reg.x.T - reg.y) @ reg.x / len(reg.y) - 0.05 * theta
distance = float((theta - reg.ridge_solution(0.05 / 1.0)).norm())
print(f"distance of a 2000-step decay run to ridge_solution(lambda / lr): {distance:.1e}")
assert distance < 1e-8, f"the decay run should converge to ridge_solution(lambda / lr); distance {distance:.1e}"

# %% [markdown]
# So "the best decay does not depend on the learning rate" holds for runs that stop long before they converge, where the decay acts on its own. Section 4 finds the same tension with momentum, and notebook 03 measures which of the two regimes its 200-step networks are in.

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
# * In the problem set's version $\beta_1$ weights the **new** gradient, so its $\beta_1 = 0.1$ corresponds to our $\beta_1 = 0.9$. Its buffer is an average of gradients (weights summing to 1), while ours sums learning-rate-scaled steps. Multiply its recursion by $\alpha$: $\alpha m_t = (1-\beta_1)\,\alpha m_{t-1} + \alpha\beta_1 g_t$. That is our buffer with momentum $1-\beta_1$ and learning rate $\alpha\beta_1$: the problem set's $(\alpha, \beta_1 = 0.1)$ is our $(0.1\,\alpha, 0.9)$, a step ten times smaller (the cell after the table checks this).
# * PyTorch stores raw gradients in its buffer and multiplies by the learning rate afterwards. With dampening 0 and a constant learning rate, $\alpha\, b_t$ follows exactly the recursion of our $m_t$ (both start at $\alpha g_1$), so `torch.optim.SGD(lr=α, momentum=β1, weight_decay=λ')` *is* our SGD + L2; the check under your first rule uses that. The two differ once the learning rate changes during training: our buffer holds steps already scaled by past learning rates, PyTorch's does not.
#
# %%
# The problem set's momentum with (alpha, beta1_ps) against this course's with (alpha * beta1_ps, 1 - beta1_ps).
gen = torch.Generator().manual_seed(0)
alpha, beta1_ps = 0.1, 0.1
m_ps = m_ours = torch.zeros(3, dtype=torch.float64)
for g in torch.randn(50, 3, generator=gen, dtype=torch.float64):
    m_ps = (1 - beta1_ps) * m_ps + beta1_ps * g                      # problem set: theta -= alpha * m_ps
    m_ours = (1 - beta1_ps) * m_ours + (alpha * beta1_ps) * g        # this course: theta -= m_ours
step_gap = float((alpha * m_ps - m_ours).abs().max())
print(f"largest difference between the two steps over 50 gradients: {step_gap:.1e}")
assert step_gap < 1e-15, f"the two conventions should take the same steps; largest difference {step_gap:.1e}"

# %% [markdown]
# **Self-check B** (not graded). The problem set's momentum with learning rate $\alpha = 0.1$ and $\beta_1 = 0.1$ is this course's momentum with (a) $\alpha = 0.1$, $\beta_1 = 0.1$; (b) $\alpha = 0.1$, $\beta_1 = 0.9$; (c) $\alpha = 0.01$, $\beta_1 = 0.9$; (d) $\alpha = 1$, $\beta_1 = 0.9$.

# %%
answer = None   # "a", "b", "c" or "d"
selfcheck.check("01-problem-set-momentum", answer)

# %% [markdown]
# **Question 2 (2 points).** Starting from SGD + L2 with momentum (first row, $w = 0$), what do you change to obtain SGDW with momentum, and why does the change make the shrinkage applied at each step independent of $\alpha$ and of $\beta_1$?

# %% [markdown] answer sgdw_modification points=2
# Remove $\lambda'\theta_{t-1}$ from the gradient that feeds the momentum buffer, so $m_t = \beta_1 m_{t-1} + \eta_t\alpha g_t$ averages only the data gradient, and subtract $\eta_t w\theta_{t-1}$ from the parameters directly in the update, $\theta_t = \theta_{t-1} - m_t - \eta_t w\theta_{t-1}$.
#
# With L2 inside the buffer, the penalty's gradient is multiplied by $\alpha$ and then accumulated over past steps with weights $\beta_1^k$, so the effective shrinkage depends on both $\alpha$ and $\beta_1$. Applied outside the buffer, the weights shrink by exactly the fraction $\eta_t w$ at every step, whatever $\alpha$ and $\beta_1$ are. (Where the run comes to rest still depends on $\alpha$ and $\beta_1$, through the gradient part of the step: Question 3.)

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
# Visible checks: two hand-computed steps (fresh copies of the inputs for every call), then
# torch.optim.SGD, which implements the same rule when the learning rate is constant.
f64 = dict(dtype=torch.float64)
zero = {"m": torch.zeros(2, **f64)}
theta1, state1 = checks.rule(sgd_l2_momentum_step, torch.tensor([1.0, -2.0], **f64), torch.tensor([0.5, 0.5], **f64),
                             zero, 1, lr=0.1, l2=0.2, beta1=0.9)
checks.close(state1["m"], [0.07, 0.01], "m_1 = lr * (g_1 + l2 * theta_0)",
             hint="the penalty's gradient l2 * theta joins the gradient, and the buffer holds lr-scaled steps")
checks.close(theta1, [0.93, -2.01], "theta_1 = theta_0 - m_1")
theta2, state2 = checks.rule(sgd_l2_momentum_step, torch.tensor([0.93, -2.01], **f64), torch.tensor([-1.0, 0.25], **f64),
                             {"m": torch.tensor([0.07, 0.01], **f64)}, 2, lr=0.1, l2=0.2, beta1=0.9, eta=0.5)
checks.close(state2["m"], [0.0223, 0.0014], "m_2 with eta = 0.5", hint="m_t = beta1 * m_{t-1} + eta * lr * (g_t + l2 * theta)")
checks.close(theta2, [0.9077, -2.0114], "theta_2 with eta = 0.5")

gen = torch.Generator().manual_seed(0)
p = torch.nn.Parameter(torch.randn(5, generator=gen, **f64))
opt = torch.optim.SGD([p], lr=0.05, momentum=0.8, weight_decay=0.1)
theta, state = p.detach().clone(), {"m": torch.zeros(5, **f64)}
for t in range(1, 6):
    g = torch.randn(5, generator=gen, **f64)
    p.grad = g.clone()
    opt.step()
    theta, state = checks.rule(sgd_l2_momentum_step, theta, g, state, t, lr=0.05, l2=0.1, beta1=0.8)
    checks.close(theta, p.detach(), f"theta at step {t} against torch.optim.SGD(lr=0.05, momentum=0.8, weight_decay=0.1)",
                 hint="torch's lr * buffer follows the recursion of m_t; compare the steps one by one")
print("sgd_l2_momentum_step: visible checks passed")
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
# Visible checks: two hand-computed steps, the decay outside the buffer and not scaled by lr, then
# torch.optim.SGD's momentum step with the decay applied to the weights by hand.
f64 = dict(dtype=torch.float64)
zero = {"m": torch.zeros(2, **f64)}
theta1, state1 = checks.rule(sgdw_momentum_step, torch.tensor([1.0, -2.0], **f64), torch.tensor([0.5, 0.5], **f64),
                             zero, 1, lr=0.1, wd=0.2, beta1=0.9)
checks.close(state1["m"], [0.05, 0.05], "m_1 = lr * g_1", hint="the decay must not enter the momentum buffer")
checks.close(theta1, [0.75, -1.65], "theta_1 = theta_0 - m_1 - wd * theta_0",
             hint="the decay is eta * wd * theta_{t-1}, not multiplied by lr")
theta2, state2 = checks.rule(sgdw_momentum_step, torch.tensor([0.75, -1.65], **f64), torch.tensor([-1.0, 0.2], **f64),
                             {"m": torch.tensor([0.05, 0.05], **f64)}, 2, lr=0.1, wd=0.2, beta1=0.9, eta=0.5)
checks.close(state2["m"], [-0.005, 0.055], "m_2 with eta = 0.5", hint="m_t = beta1 * m_{t-1} + eta * lr * g_t")
checks.close(theta2, [0.68, -1.54], "theta_2 with eta = 0.5", hint="the schedule multiplier eta also scales the decay")
for lr in (1e-3, 1.0):   # no gradient, empty buffer: a pure decay by eta * wd, whatever lr is
    shrunk, _ = checks.rule(sgdw_momentum_step, torch.tensor([2.0, -4.0], **f64), torch.zeros(2, **f64), zero, 1,
                            lr=lr, wd=0.01, beta1=0.9, eta=0.5)
    checks.close(shrunk, [1.99, -3.98], f"a zero-gradient step with lr = {lr}, wd = 0.01, eta = 0.5",
                 hint="the decay must not be scaled by lr")

gen = torch.Generator().manual_seed(1)
p = torch.nn.Parameter(torch.randn(5, generator=gen, **f64))
opt = torch.optim.SGD([p], lr=0.05, momentum=0.8)
theta, state = p.detach().clone(), {"m": torch.zeros(5, **f64)}
for t in range(1, 6):
    g = torch.randn(5, generator=gen, **f64)
    p.grad = g.clone()
    with torch.no_grad():
        p.mul_(1 - 0.02)       # decoupled decay of theta_{t-1}; the gradient was taken before it
    opt.step()
    theta, state = checks.rule(sgdw_momentum_step, theta, g, state, t, lr=0.05, wd=0.02, beta1=0.8)
    checks.close(theta, p.detach(), f"theta at step {t} against torch.optim.SGD(lr=0.05, momentum=0.8) "
                 "plus a decay of 2% per step", hint="theta_t = theta_{t-1} - m_t - eta * wd * theta_{t-1}")
print("sgdw_momentum_step: visible checks passed")
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
# Visible checks: fixed numbers, then SGDW's fixed-point equations evaluated at the minimizer of the
# L2-regularized loss for your coefficient (closed form: ridge_solution). This check does not run
# your sgdw_momentum_step: it judges only sgdw_equivalent_l2.
for (lr, wd, beta1), want in [((0.2, 0.02, 0.9), 0.01), ((0.5, 0.01, 0.5), 0.01), ((0.1, 0.01, 0.0), 0.1)]:
    checks.close(sgdw_equivalent_l2(lr, wd, beta1), want, f"sgdw_equivalent_l2({lr}, {wd}, {beta1})",
                 rtol=1e-9, hint="combine the two fixed-point equations of Question 3 (b)")
problem = make_regression(n=100, d=5, condition_number=4.0, noise=0.3, seed=3)
for lr, wd, beta1 in [(0.2, 0.02, 0.9), (0.5, 0.01, 0.5)]:
    theta_star = problem.ridge_solution(float(sgdw_equivalent_l2(lr, wd, beta1)))
    m_star = -wd * theta_star                                        # from theta* = theta* - m* - wd theta*
    residual = m_star - (beta1 * m_star + lr * problem.grad(theta_star))   # the buffer's equation at rest
    checks.close(residual, torch.zeros(5, dtype=torch.float64), f"SGDW's buffer equation at the L2 minimizer "
                 f"(lr={lr}, wd={wd}, beta1={beta1})", atol=1e-10,
                 hint="at rest m* = -wd theta* and (1 - beta1) m* = lr * grad f(theta*)")
got = sgdw_equivalent_l2(torch.tensor([0.2, 0.5], dtype=torch.float64), 0.02, 0.9)
assert torch.is_tensor(got), f"sgdw_equivalent_l2 should work on tensors, got {type(got).__name__}"
checks.close(got, [0.01, 0.004], "sgdw_equivalent_l2(tensor([0.2, 0.5]), 0.02, 0.9)")
print("sgdw_equivalent_l2: visible checks passed")
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
# **Per step and at rest.** Question 2 said that SGDW's decay is independent of $\alpha$ and $\beta_1$, and Question 3 finds that its fixed point is the L2 minimizer for $\lambda' = (1-\beta_1)w/\alpha$, which depends on both. There is no contradiction: the *shrinkage per step* is $\eta_t w$, whatever $\alpha$ and $\beta_1$ are; *where the run comes to rest* balances that shrinkage against the gradient part of the step, which the buffer amplifies by $\alpha/(1-\beta_1)$. So for runs long enough to converge, the best $w$ scales with $\alpha/(1-\beta_1)$, like the best decay at convergence in Section 2 (slope $+1$); the slope 0 of Section 2 holds for short runs, where the decay acts on its own. Notebook 03 asks which regime its networks are in.
#
# **Self-check C** (not graded). In SGDW with momentum you double $\alpha$ and keep $w$. (a) The shrinkage per step doubles. (b) The shrinkage per step is unchanged, and the fixed point becomes the L2 minimizer for a coefficient half as large. (c) Nothing changes, neither the steps' decay nor the fixed point. (d) The fixed point becomes the L2 minimizer for a coefficient twice as large.

# %%
answer = None   # "a", "b", "c" or "d"
selfcheck.check("01-double-lr-sgdw", answer)

# %% [markdown]
# **Self-check D** (not graded). SGDW with $\alpha = 0.05$, $\beta_1 = 0.9$ and $w = 5\cdot10^{-4}$ converges to the minimizer of $f + \frac{\lambda'}{2}\lVert\theta\rVert^2$ for which $\lambda'$?

# %%
answer = None   # a number
selfcheck.check("01-equivalent-l2", answer)

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
# * Plain SGD on $f + \frac{\lambda'}{2}\lVert\theta\rVert^2$ is weight decay with $\lambda = \alpha\lambda'$ (Proposition 1) — so the L2 coefficient and the learning rate are coupled, and the best $\lambda'$ moves when $\alpha$ moves. The L2 and decay maps are the same runs in two coordinate systems.
# * The best decay is independent of $\alpha$ for short runs; at convergence the decay that matters is $\lambda/\alpha$ (with momentum, $(1-\beta_1)w/\alpha$).
# * SGDW applies the decay to the weights, outside the momentum buffer and without the factor $\alpha$.
# * With momentum, SGD + L2 and SGDW differ step by step; SGDW's fixed point is the L2 minimizer for $\lambda' = (1-\beta_1)w/\alpha$.
# * Next notebook: adaptive methods, where even without momentum no L2 coefficient reproduces weight decay.
