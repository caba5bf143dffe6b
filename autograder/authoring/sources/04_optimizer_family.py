"""Source of notebook 04: the optimizer family on 2-D problems, and decoupled L1.

Percent format, read by autograder/authoring/percent.py (its docstring describes the cell
kinds): each `# %%` line starts a notebook cell. Build the notebook with

    python -m autograder.authoring.percent 04_optimizer_family

which writes solutions/<assignment>/04_optimizer_family.ipynb.
"""

# %% [markdown]
# # 04 · The optimizer family, and decoupled L1 (optional)
#
# Notebooks 01 to 03 followed one line: SGD → momentum → RMSProp → Adam → AdamW. The optimizers you meet in libraries branch off that line in a few directions: how the squared gradients are remembered (Adagrad keeps them all, RMSProp and Adam forget them, Adamax keeps the largest), where the momentum is evaluated (Nesterov and NAdam look ahead), and how the very first steps are handled (RAdam). This notebook walks through the family, lets every member race on small 2-D problems where its character shows, and ends with the question the study notes leave open: what happens when the decoupled L2 of AdamW is replaced by L1?
#
# 1. Adagrad — **you implement `adagrad_step`** — and why its steps shrink.
# 2. Adamax, Adam with the infinity norm — **you implement `adamax_step`**.
# 3. Nesterov momentum and NAdam — **you implement `nadam_step`**.
# 4. AMSGrad: when keeping the largest second moment matters.
# 5. The race: every optimizer on an ill-conditioned quadratic, a rotated valley, Rosenbrock's function, a saddle and a noisy objective.
# 6. Decoupled L1 — **you implement `adamw_l1_step`** — and support recovery on a sparse regression over a (learning rate × λ) grid.
#
# **This notebook is optional.** Its points (the four functions and the written answers) are a bonus on top of the assignment's total: leaving it out costs nothing. Graded like the others: replace each `raise NotImplementedError(...)`, run the check cell under it; hidden tests run more cases.
#
# **Course rule signature.** `rule(theta, grad, state, t, **hyperparameters) -> (new_theta, new_state)`: `state` is a dict of tensors shaped like `theta` (zeros before the first step), `t` counts steps from 1, hyperparameters are floats *or tensors that broadcast against* `theta`. Do not modify the inputs in place and do not call `torch.optim`. `eta` is the schedule multiplier $\eta_t$ and scales the whole step.
#
# **Conventions.** Each rule here follows `torch.optim`'s version of the method, so your function can be checked against the library to the last digit; where the library differs from the paper that introduced the method, the text says how.

# %% setup
import math

import matplotlib.pyplot as plt

from wdlab import checks, selfcheck

# %% [markdown]
# ## 1 · Adagrad: every gradient is remembered
#
# Adagrad (Duchi, Hazan & Singer, 2011) gives each coordinate the learning rate $\alpha / \sqrt{s_t}$, where $s_t$ is the **sum** of all its squared gradients so far:
#
# $$
# s_t = s_{t-1} + g_t^2, \qquad \theta_t = \theta_{t-1} - \eta_t\,\alpha\, \frac{g_t}{\sqrt{s_t} + \epsilon},
# $$
#
# with $s_0 = 0$ and $\epsilon = 10^{-10}$ added **outside** the root, as in PyTorch (the slides write $\sqrt{n_t + \epsilon}$ with $\epsilon$ inside; the two give different numbers when gradients are small, and the checks hold you to PyTorch's placement). Coordinates whose gradients are rare — a word that seldom appears, a feature that is usually zero — keep a small $s_t$ and so a large step when they do get a gradient; frequent ones are damped.
#
# Implement `adagrad_step`. The state holds one tensor, `"sum"` ($s_t$).

# %% solution
def adagrad_step(theta, grad, state, t, lr, eps=1e-10, eta=1.0):
    """One Adagrad step: accumulate grad**2 into state["sum"], divide the step by its root.

    Returns (new_theta, {"sum": new_sum})."""
    ### BEGIN SOLUTION
    s = state["sum"] + grad * grad
    return theta - eta * lr * grad / (s.sqrt() + eps), {"sum": s}
    ### END SOLUTION

# %% tests adagrad_step
# Visible checks: two steps with numbers fixed in advance (fresh copies of the inputs for every
# call), the dtype, then torch.optim.Adagrad, which implements the same rule.
f64 = dict(dtype=torch.float64)
theta1, state1 = checks.rule(adagrad_step, torch.tensor([1.0, -2.0, 0.5, 3.0], **f64),
                             torch.tensor([0.5, -4.0, 1e-3, 0.0], **f64), {"sum": torch.zeros(4, **f64)}, 1, lr=0.1)
checks.close(state1["sum"], [0.25, 16.0, 1e-6, 0.0], "s_1 = g_1^2", hint="the state is the running sum of g^2")
checks.close(theta1, [0.90000000002, -1.9000000000025, 0.400000009999999, 3.0], "theta_1 (lr = 0.1)",
             hint="divide by sqrt(s_t) + eps with the sum that already includes g_t")
theta2, state2 = checks.rule(adagrad_step, theta1, torch.tensor([-1.0, 2.0, 1e-3, 3.0], **f64), state1, 2,
                             lr=0.1, eta=0.5)
checks.close(state2["sum"], [1.25, 20.0, 2e-6, 9.0], "s_2",
             hint="Adagrad adds g_t^2 to the sum; it does not average or decay it")
checks.close(theta2, [0.9447213595659958, -1.9223606797769979, 0.3646446734406715, 2.950000000001667],
             "theta_2 (lr = 0.1, eta = 0.5)", hint="eta multiplies the whole step")
theta32, _ = checks.rule(adagrad_step, torch.ones(3), torch.full((3,), 0.5), {"sum": torch.zeros(3)}, 1, lr=0.1)
checks.same_dtype(theta32, torch.ones(3), "adagrad_step on float32 inputs")

p = torch.nn.Parameter(torch.linspace(-1, 1, 5, **f64))
opt = torch.optim.Adagrad([p], lr=0.3)
mine, state = p.detach().clone(), {"sum": torch.zeros(5, **f64)}
for t in range(1, 8):
    opt.zero_grad()
    (p ** 2 * torch.arange(1.0, 6.0, **f64)).sum().backward()
    g = p.grad.clone()
    opt.step()
    mine, state = checks.rule(adagrad_step, mine, g, state, t, lr=0.3)
    checks.close(mine, p.detach(), f"theta at step {t} against torch.optim.Adagrad(lr=0.3)", rtol=1e-10,
                 atol=1e-12, hint="s_t = s_{t-1} + g_t^2; the step is lr * g_t / (sqrt(s_t) + eps)")
print("adagrad_step: visible checks passed")
### BEGIN HIDDEN TESTS
from autograder.reference.checks import check_rule
# Trajectories against the reference: float32/float64, CPU/CUDA, t = 1, tiny and huge gradients,
# a varying eta_t, lr as a [3, 1] tensor; no in-place changes, no torch.optim.
check_rule(adagrad_step, "adagrad", lr=(1e-3, 1.0), eps=(1e-10, 1e-6))
check_rule(adagrad_step, "adagrad", steps=40, seed=1, lr=0.1, eps=1e-10)
### END HIDDEN TESTS

# %% [markdown]
# ### 1.1 Why the steps shrink
#
# Feed Adagrad the same gradient $g$ at every step. Then $s_t = t\,g^2$ and the step is $\alpha\, g / (\sqrt t\,|g|) = \alpha/\sqrt t$ in size, whatever $g$ is: after 100 steps the learning rate is a tenth of what it was, even if the optimizer is nowhere near a minimum. RMSProp replaces the sum by a moving average, $v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2$, which settles at $g^2$: its step settles at $\alpha$ instead of vanishing. The cell checks both statements on your function.

# %% experiment
g_const = torch.tensor([0.02, 5.0], dtype=torch.float64)      # two coordinates, very different scales
theta, state, sizes = torch.zeros(2, dtype=torch.float64), {"sum": torch.zeros(2, dtype=torch.float64)}, []
for t in range(1, 401):
    new_theta, state = adagrad_step(theta, g_const, state, t, lr=0.1)
    sizes.append((theta - new_theta).abs())
    theta = new_theta
sizes = torch.stack(sizes)
steps = torch.arange(1, 401, dtype=torch.float64)
assert torch.allclose(sizes, 0.1 / steps.sqrt()[:, None], rtol=1e-6), "Adagrad's step is not lr / sqrt(t)"
print("Adagrad step sizes at t = 1, 4, 100, 400:", [f"{float(sizes[t - 1, 0]):.4f}" for t in (1, 4, 100, 400)],
      "(the same for both coordinates)")
v, rms_steps = torch.zeros(2, dtype=torch.float64), []
for t in range(1, 401):
    v = 0.9 * v + 0.1 * g_const ** 2
    rms_steps.append(0.1 * g_const / (v / (1 - 0.9 ** t)).sqrt())
print("RMSProp (beta2 = 0.9) step size at t = 400:", [f"{float(x):.4f}" for x in rms_steps[-1]])

# %% [markdown]
# **Question 1 (2 points).** Explain why Adagrad's effective learning rate can only shrink, and what it shrinks like when gradients keep a steady size (use the numbers above). Give one situation where this is what you want and one where it hurts, and say what RMSProp and Adadelta change to avoid it.

# %% [markdown] answer adagrad_shrinks points=2
# The denominator $\sqrt{s_t}$ is the root of a sum of non-negative terms, so it never decreases: each coordinate's learning rate $\alpha/\sqrt{s_t}$ can only go down. With gradients of a steady size $|g|$, $s_t = t g^2$ and the step is $\alpha/\sqrt t$ — the printed sizes $0.1, 0.05, 0.01, 0.005$ at $t = 1, 4, 100, 400$ — for both coordinates, although their gradients differ 250-fold. This is what you want for a convex problem with sparse features (rare features keep large steps, and a $1/\sqrt t$ step size is the classical rate for convex online learning), and it hurts in long non-convex training such as a neural network: the learning rate decays on a fixed schedule set by the past, and after many steps the optimizer can no longer move even if the landscape changes. RMSProp replaces the sum by an exponential moving average of $g^2$, which forgets old gradients and settles at the current gradient scale (printed: the step stays at 0.1); Adadelta does the same and also replaces $\alpha$ by a running RMS of past updates, which makes the step carry the units of $\theta$.

# %% [markdown] mark_scheme adagrad_shrinks
# - 1 pt: the sum (hence $\sqrt{s_t}$) is non-decreasing, so the learning rate only shrinks; for steady gradients the step is $\alpha/\sqrt t$, independent of the gradient's scale, consistent with the printed numbers.
# - 1 pt: one good case (sparse features / convex online learning) and one bad case (long or non-convex training, learning rate too small too early), and the fix: an exponential moving average (RMSProp, Adadelta) that forgets. Naming only "RMSProp uses a decay": 0.5 pt.

# %% [markdown]
# ## 2 · Adamax: Adam with the infinity norm
#
# Adam divides by $\sqrt{v_t}$, an exponentially weighted $L^2$ norm of past gradients. Kingma & Ba (2015, Section 7.1) generalize it to an $L^p$ norm, $v_t = \beta_2^p\, v_{t-1} + (1-\beta_2^p)\, |g_t|^p$ with the step divided by $v_t^{1/p}$, and take $p \to \infty$:
#
# $$ u_t = \lim_{p\to\infty} v_t^{1/p} = \max\big(\beta_2\, u_{t-1},\ |g_t|\big) = \max_{\tau \le t} \beta_2^{\,t-\tau}\, |g_\tau|. $$
#
# The resulting rule (PyTorch's `Adamax`, which adds $\epsilon$ inside the max so that $u_t > 0$ even when a gradient has been zero from the start):
#
# $$
# m_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad u_t = \max\big(\beta_2\, u_{t-1},\ |g_t| + \epsilon\big), \qquad
# \theta_t = \theta_{t-1} - \eta_t\, \frac{\alpha}{1-\beta_1^t}\, \frac{m_t}{u_t}.
# $$
#
# Only $m_t$ is bias-corrected: a maximum does not start biased towards zero the way an average started at zero does. There is no square root anywhere.
#
# First, check the limit numerically: for a random gradient history, $v_t^{1/p}$ approaches the weighted maximum as $p$ grows. (The sum is computed in log space, since $|g|^p$ overflows quickly.)

# %% experiment
gen = torch.Generator().manual_seed(4)
history = torch.randn(50, generator=gen, dtype=torch.float64).abs() * 3
beta2, t_now = 0.99, 50
ages = torch.arange(t_now - 1, -1, -1, dtype=torch.float64)            # t - tau for tau = 1..t
weighted_max = float((beta2 ** ages * history).max())
for p in (2, 8, 32, 128, 512):
    # v_t = (1 - beta2^p) sum_tau beta2^(p (t - tau)) |g_tau|^p, unrolled from v_0 = 0
    log_v = math.log1p(-beta2 ** p) + torch.logsumexp(p * (ages * math.log(beta2) + history.log()), 0)
    print(f"p = {p:>3}: v_t^(1/p) = {math.exp(float(log_v) / p):.6f}")
print(f"max over tau of beta2^(t - tau) |g_tau| = {weighted_max:.6f}")
u = torch.zeros(())
for g in history:
    u = torch.maximum(beta2 * u, g)
assert abs(float(u) - weighted_max) < 1e-12, "the recursion u_t = max(beta2 u, |g_t|) gives the weighted max"

# %% [markdown]
# Implement `adamax_step`. The state holds `"m"` and `"u"`.

# %% solution
def adamax_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
    """One Adamax step (PyTorch's convention: eps inside the max, only m bias-corrected).

    Returns (new_theta, {"m": new_m, "u": new_u})."""
    ### BEGIN SOLUTION
    m = beta1 * state["m"] + (1 - beta1) * grad
    u = torch.maximum(beta2 * state["u"], grad.abs() + eps)
    return theta - eta * lr / (1 - beta1 ** t) * m / u, {"m": m, "u": u}
    ### END SOLUTION

# %% tests adamax_step
# Visible checks: two steps with numbers fixed in advance, the dtype, then torch.optim.Adamax.
f64 = dict(dtype=torch.float64)
zeros = {"m": torch.zeros(4, **f64), "u": torch.zeros(4, **f64)}
theta1, state1 = checks.rule(adamax_step, torch.tensor([1.0, -2.0, 0.5, 3.0], **f64),
                             torch.tensor([0.5, -4.0, 1e-3, 0.0], **f64), zeros, 1, lr=0.01)
checks.close(state1["u"], [0.50000001, 4.00000001, 0.00100001, 1e-8], "u_1 = max(beta2 u_0, |g_1| + eps)",
             hint="u is a maximum of |g| + eps (no square, no root, no bias correction); a zero gradient "
                  "leaves u = eps")
checks.close(theta1, [0.9900000002, -1.990000000025, 0.490000099999, 3.0], "theta_1 (lr = 0.01)",
             hint="at t = 1 the step is lr * g / (|g| + eps): bias-correct m by 1 - beta1^t")
theta2, state2 = checks.rule(adamax_step, theta1, torch.tensor([-1.0, 2.0, 1e-3, 3.0], **f64), state1, 2,
                             lr=0.01, eta=0.5)
checks.close(state2["u"], [1.00000001, 3.99600000999, 0.00100001, 3.00000001], "u_2",
             hint="u_t = max(beta2 * u_{t-1}, |g_t| + eps): the old maximum decays by beta2")
checks.close(theta2, [0.991447368606579, -1.9889463147634225, 0.4850001499985, 2.9973684210614033],
             "theta_2 (lr = 0.01, eta = 0.5)", hint="eta multiplies the whole step")
theta32, _ = checks.rule(adamax_step, torch.ones(3), torch.full((3,), 0.5),
                         {"m": torch.zeros(3), "u": torch.zeros(3)}, 1, lr=0.1)
checks.same_dtype(theta32, torch.ones(3), "adamax_step on float32 inputs")

p = torch.nn.Parameter(torch.linspace(-1, 1, 5, **f64))
opt = torch.optim.Adamax([p], lr=0.05, betas=(0.8, 0.99))
mine, state = p.detach().clone(), {"m": torch.zeros(5, **f64), "u": torch.zeros(5, **f64)}
for t in range(1, 8):
    opt.zero_grad()
    (p ** 2 * torch.arange(1.0, 6.0, **f64)).sum().backward()
    g = p.grad.clone()
    opt.step()
    mine, state = checks.rule(adamax_step, mine, g, state, t, lr=0.05, beta1=0.8, beta2=0.99)
    checks.close(mine, p.detach(), f"theta at step {t} against torch.optim.Adamax(lr=0.05, betas=(0.8, 0.99))",
                 rtol=1e-10, atol=1e-12, hint="only m is bias-corrected; u has no square root")
print("adamax_step: visible checks passed")
### BEGIN HIDDEN TESTS
from autograder.reference.checks import check_rule
check_rule(adamax_step, "adamax", lr=(1e-4, 0.3), beta1=(0.5, 0.99), beta2=(0.9, 0.9999), eps=(1e-10, 1e-6))
check_rule(adamax_step, "adamax", steps=40, seed=1, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8)
### END HIDDEN TESTS

# %% [markdown]
# ### 2.1 What the maximum buys: a bounded step after a quiet spell
#
# Take 500 steps of tiny gradients ($10^{-3}$), then one gradient of size 1 — a rare feature that suddenly fires, or an outlier batch. Adam's $\hat v$ is an average: one large square raises it only by $(1-\beta_2)$ of that square, while $m$ jumps by $(1-\beta_1)$ of the new gradient, so the ratio $\hat m / \sqrt{\hat v}$ can exceed 1 (Kingma & Ba bound it by $(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.16$ for the defaults). Adamax's $u_t$ jumps to the new gradient at once, so its step stays at about $\alpha$ or below. The cell runs both (Adam through `torch.optim.Adam`, Adamax through your function).

# %% experiment
quiet = [torch.tensor([1e-3], dtype=torch.float64)] * 500 + [torch.tensor([1.0], dtype=torch.float64)]
p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
adam = torch.optim.Adam([p], lr=1e-3)
theta, state = torch.zeros(1, dtype=torch.float64), {"m": torch.zeros(1, dtype=torch.float64),
                                                      "u": torch.zeros(1, dtype=torch.float64)}
for t, g in enumerate(quiet, start=1):
    before_adam, before_max = p.detach().clone(), theta
    p.grad = g.clone()
    adam.step()
    theta, state = adamax_step(theta, g, state, t, lr=1e-3)
adam_jump = float((p.detach() - before_adam).abs()) / 1e-3
adamax_jump = float((theta - before_max).abs()) / 1e-3
print(f"step after the spike, in units of lr: Adam {adam_jump:.2f}, Adamax {adamax_jump:.2f}")
assert adam_jump > 1.5 and adamax_jump <= 1.0

# The bound of Question 2, tried on heavy-tailed (Cauchy) gradients: no Adamax step exceeds
# lr (1 - beta1) / (1 - beta1 / beta2) (about 1.01 lr for the defaults).
gen = torch.Generator().manual_seed(5)
cauchy = torch.randn(2000, 64, generator=gen, dtype=torch.float64) / torch.randn(2000, 64, generator=gen,
                                                                                 dtype=torch.float64)
theta, state, largest = torch.zeros(64, dtype=torch.float64), {"m": torch.zeros(64, dtype=torch.float64),
                                                               "u": torch.zeros(64, dtype=torch.float64)}, 0.0
for t, g in enumerate(cauchy, start=1):
    new_theta, state = adamax_step(theta, g, state, t, lr=1e-3)
    largest, theta = max(largest, float((new_theta - theta).abs().max()) / 1e-3), new_theta
bound = (1 - 0.9) / (1 - 0.9 / 0.999)
print(f"largest Adamax step over 2000 Cauchy gradients: {largest:.4f} lr (bound {bound:.4f} lr)")
assert largest <= bound * (1 + 1e-9)

# %% [markdown]
# **Question 2 (2 points).** What does Adamax's infinity norm buy over Adam's $L^2$ average? Use the spike experiment: say why the two steps differ, what bound holds for every Adamax step, and why $u_t$ needs no bias correction while $m_t$ does.

# %% [markdown] answer adamax_norm points=2
# Adam divides by the root of an **average** of squared gradients: after 500 gradients of $10^{-3}$, one gradient of 1 raises $v_t$ only by $(1-\beta_2)\cdot 1 = 10^{-3}$, so $\sqrt{\hat v} \approx 0.05$ (with the bias correction $1-\beta_2^{501} \approx 0.39$) while $\hat m \approx 0.1$: the step is 2 learning rates (printed 2.00), and after a longer quiet spell it approaches the worst case $(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.16$. Adamax divides by a **maximum**: $u_t \ge |g_t|$ at once, and more generally $u_t \ge \beta_2^{t-\tau}|g_\tau|$ for every past gradient, so $|m_t| \le \sum_\tau (1-\beta_1)\beta_1^{t-\tau} |g_\tau| \le u_t\,(1-\beta_1)\sum_k (\beta_1/\beta_2)^k$ and every step is at most $\alpha\,(1-\beta_1)/\big((1-\beta_1/\beta_2)(1-\beta_1^t)\big) \cdot (1-(\beta_1/\beta_2)^t) \approx 1.01\,\alpha$ for the defaults, whatever the gradient history (printed: 0.10 learning rates after the spike). The step size is thus set by $\alpha$ alone, robust to sudden large gradients and to sparse updates, and no root is needed. $m_t$ is an average started at zero: early on its weights sum to $1-\beta_1^t < 1$, so it must be divided by that sum. $u_t$ is a maximum, which is not pulled towards its zero start: after one step $u_1 = |g_1|$ exactly (plus $\epsilon$), so there is nothing to correct.

# %% [markdown] mark_scheme adamax_norm
# - 1 pt: the average (Adam) barely reacts to a single large gradient so the step can exceed $\alpha$ (2 learning rates here, up to about 3); the max (Adamax) jumps to it, so the step stays at about $\alpha$ or below; a bound on the step is stated (an exact constant is not needed).
# - 1 pt: no bias correction for $u_t$ because a maximum is not biased towards its zero initialization ($u_1 = |g_1|$), while the average $m_t$ is (weights summing to $1-\beta_1^t$).

# %% [markdown]
# **Self-check A** (not graded). Adamax with the defaults ($\beta_1 = 0.9$, $\beta_2 = 0.999$) and $\alpha = 0.002$ takes its first step on a coordinate with gradient $g_1 = 40$ ($\epsilon$ negligible). By how much does the coordinate change?

# %%
answer = None   # a number (its sign too)
selfcheck.check("04-first-adamax-step", answer)

# %% [markdown]
# ## 3 · Nesterov momentum and NAdam: look before you step
#
# Heavy-ball momentum (notebook 01) takes the gradient where the parameters are and then adds the momentum. Nesterov's method takes the momentum step first and evaluates the gradient at the **look-ahead** point $\theta + \mu v$ ($v$ the velocity, the last step taken), so the correction comes from where the momentum is about to carry the parameters. PyTorch (`SGD(nesterov=True)`) writes it without a second gradient evaluation, by storing the look-ahead point itself:
#
# $$ b_t = \mu\, b_{t-1} + g_t, \qquad \theta_t = \theta_{t-1} - \alpha\,(g_t + \mu\, b_t). $$
#
# Compared with heavy ball ($\theta_t = \theta_{t-1} - \alpha\, b_t$), the current gradient gets weight $1 + \mu$ and the old momentum $\mu^2$ instead of $\mu$: when the gradient turns against the momentum (the parameters overshot), Nesterov reacts a step earlier. On an ill-conditioned quadratic this damps the oscillation along the steep direction; the race in Section 5 shows it.
#
# **NAdam** (Dozat, 2016) puts the look-ahead into Adam: the step uses the momentum weight of the **next** step on $m_t$. PyTorch's `NAdam` uses a momentum schedule $\mu_t = \beta_1\big(1 - \tfrac12\, 0.96^{\,t\psi}\big)$ with $\psi$ = `momentum_decay` $= 0.004$, and the running product $P_t = \mu_1 \mu_2 \cdots \mu_t$:
#
# $$
# \begin{aligned}
# m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \qquad d_t = \sqrt{v_t / (1-\beta_2^t)} + \epsilon,\\
# \theta_t &= \theta_{t-1} - \eta_t\,\alpha \left( \frac{1-\mu_t}{1-P_t}\, \frac{g_t}{d_t} + \frac{\mu_{t+1}}{1 - P_t\, \mu_{t+1}}\, \frac{m_t}{d_t} \right).
# \end{aligned}
# $$
#
# The first term is the current gradient's share, the second is the momentum **as it will be weighted at step $t+1$** — that is the look-ahead. (Dozat also averages the gradients with $\mu_t$; PyTorch averages them with a constant $\beta_1$ and uses the schedule only in the two weights. The schedule starts at $\mu_1 \approx \beta_1/2$ — where $\psi = 0$ would keep it for good — and climbs towards $\beta_1$ slowly: with $\psi = 0.004$ it reaches $\tfrac34\beta_1$ only after about 4245 steps.)
#
# Implement `nadam_step`. The state holds `"m"`, `"v"` and `"mu_prod"` ($P_t$, a tensor shaped like `theta`). Like every state it arrives as zeros at $t = 1$, where the empty product is 1: use $P_1 = \mu_1$.

# %% solution
def nadam_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3, eta=1.0):
    """One NAdam step in PyTorch's convention (momentum schedule mu_t, look-ahead weight mu_{t+1}).

    Returns (new_theta, {"m": new_m, "v": new_v, "mu_prod": P_t})."""
    ### BEGIN SOLUTION
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    previous = torch.ones_like(theta) if t == 1 else state["mu_prod"]
    mu_prod = previous * mu
    m = beta1 * state["m"] + (1 - beta1) * grad
    v = beta2 * state["v"] + (1 - beta2) * grad * grad
    denom = (v / (1 - beta2 ** t)).sqrt() + eps
    step = lr * (1 - mu) / (1 - mu_prod) * grad / denom + lr * mu_next / (1 - mu_prod * mu_next) * m / denom
    return theta - eta * step, {"m": m, "v": v, "mu_prod": mu_prod}
    ### END SOLUTION

# %% tests nadam_step
# Visible checks: two steps with numbers fixed in advance, the dtype, then torch.optim.NAdam
# (run with float64 as the default dtype: torch keeps its product of mu_t in the default dtype).
f64 = dict(dtype=torch.float64)
zeros = {"m": torch.zeros(4, **f64), "v": torch.zeros(4, **f64), "mu_prod": torch.zeros(4, **f64)}
theta1, state1 = checks.rule(nadam_step, torch.tensor([1.0, -2.0, 0.5, 3.0], **f64),
                             torch.tensor([0.5, -4.0, 1e-3, 0.0], **f64), zeros, 1, lr=0.01)
checks.close(state1["mu_prod"], [0.45007347359129607] * 4, "P_1 = mu_1",
             hint="mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay)); the product starts at 1")
checks.close(theta1, [0.9894354824277365, -1.9894354822428575, 0.4894355878605675, 3.0], "theta_1 (lr = 0.01)",
             hint="the gradient term uses (1 - mu_t) / (1 - P_t), the momentum term mu_{t+1} / (1 - P_t mu_{t+1})")
theta2, state2 = checks.rule(nadam_step, theta1, torch.tensor([-1.0, 2.0, 1e-3, 3.0], **f64), state1, 2,
                             lr=0.01, eta=0.5)
checks.close(state2["mu_prod"], [0.20259919474573693] * 4, "P_2 = mu_1 mu_2")
checks.close(theta2, [0.9939682698338086, -1.9914910308825544, 0.4855172052604374, 2.9947750977018264],
             "theta_2 (lr = 0.01, eta = 0.5)", hint="the look-ahead weighs m_t with next step's mu_{t+1}; "
             "v is bias-corrected with beta2^t; eta multiplies the whole step")
theta32, _ = checks.rule(nadam_step, torch.ones(3), torch.full((3,), 0.5),
                         {"m": torch.zeros(3), "v": torch.zeros(3), "mu_prod": torch.zeros(3)}, 1, lr=0.1)
checks.same_dtype(theta32, torch.ones(3), "nadam_step on float32 inputs")

default_dtype = torch.get_default_dtype()
torch.set_default_dtype(torch.float64)
try:
    p = torch.nn.Parameter(torch.linspace(-1, 1, 5))
    opt = torch.optim.NAdam([p], lr=0.05, betas=(0.8, 0.99))
    mine = p.detach().clone()
    state = {"m": torch.zeros(5), "v": torch.zeros(5), "mu_prod": torch.zeros(5)}
    for t in range(1, 8):
        opt.zero_grad()
        (p ** 2 * torch.arange(1.0, 6.0)).sum().backward()
        g = p.grad.clone()
        opt.step()
        mine, state = checks.rule(nadam_step, mine, g, state, t, lr=0.05, beta1=0.8, beta2=0.99)
        checks.close(mine, p.detach(), f"theta at step {t} against torch.optim.NAdam(lr=0.05, betas=(0.8, 0.99))",
                     rtol=1e-10, atol=1e-12, hint="keep P_t in the state and multiply it by mu_t each step")
finally:
    torch.set_default_dtype(default_dtype)
print("nadam_step: visible checks passed")
### BEGIN HIDDEN TESTS
from autograder.reference.checks import check_rule
check_rule(nadam_step, "nadam", lr=(1e-4, 0.3), beta1=(0.5, 0.99), beta2=(0.9, 0.9999), eps=(1e-10, 1e-6),
           momentum_decay=(1e-3, 1e-2))
check_rule(nadam_step, "nadam", steps=40, seed=1, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8)
### END HIDDEN TESTS

# %% [markdown]
# **Question 3 (2 points).** What does Nesterov's look-ahead change compared with heavy-ball momentum? Answer with the two update formulas above (which weights the current gradient and the old momentum get), say when the difference shows, and point to where NAdam's formula looks ahead.

# %% [markdown] answer nesterov_lookahead points=2
# Heavy ball steps by $\alpha b_t = \alpha(\mu b_{t-1} + g_t)$: the gradient is taken at the current point and the old momentum is applied in full. Nesterov steps by $\alpha(g_t + \mu b_t) = \alpha\big((1+\mu) g_t + \mu^2 b_{t-1}\big)$: the current gradient gets more weight and the old momentum less; equivalently, the gradient is evaluated at the point the momentum is about to carry the parameters to. When the momentum has overshot — the gradient now points back — Nesterov's correction comes one step earlier, so oscillations along steep directions (an ill-conditioned quadratic, a narrow valley) are damped, while on a gentle slope where gradient and momentum agree both behave alike. In NAdam the look-ahead is the weight $\mu_{t+1}/(1-P_t\mu_{t+1})$ on $m_t$: the momentum enters this step with the weight it will have at the next step, instead of Adam's $\hat m_t = m_t/(1-\beta_1^t)$ which applies the current momentum as it is.

# %% [markdown] mark_scheme nesterov_lookahead
# - 1 pt: the weights: current gradient $1+\mu$ (Nesterov) vs 1 (heavy ball), old momentum $\mu^2$ vs $\mu$; or equivalently the gradient at the look-ahead point $\theta + \mu v$; and when it shows (overshoot/oscillation in steep or ill-conditioned directions, damped earlier).
# - 1 pt: in NAdam the momentum term uses next step's weight $\mu_{t+1}$ (and $P_t \mu_{t+1}$), which is the look-ahead; plain Adam uses $m_t$ with its current bias correction.

# %% [markdown]
# ## 4 · AMSGrad: when keeping the largest second moment matters
#
# Reddi, Kale & Kumar (2018) showed that Adam can converge to the **worst** point of a simple convex problem. On $x \in [-1, 1]$ the loss at step $t$ is $f_t(x) = C x$ when $t \bmod 3 = 1$ and $-x$ otherwise, with $C > 2$: on average $(C - 2)/3 > 0$ per step, so the best point is $x = -1$. The large gradient $C$ comes once in three steps. With $\beta_1 = 0$ and $\beta_2 = 1/(1 + C^2)$, Adam's $v_t$ forgets the big gradient within the next two steps, so the two small gradients $-1$ get large steps and the one large gradient a small one: the net motion is towards $+1$. AMSGrad divides by the running **maximum** $\hat v^{\max}_t = \max(\hat v^{\max}_{t-1}, v_t)$, which never forgets the large gradient, so the effective learning rates can only decrease and the net motion follows the average gradient. The cell runs both through `torch.optim.Adam` (with and without `amsgrad=True`) and projects onto $[-1, 1]$ after every step.

# %% experiment
def online_problem(amsgrad, C=3.0, steps=3000, alpha=0.5):
    """Reddi et al.'s counterexample; returns the final x (the best point is -1)."""
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([x], lr=alpha, betas=(0.0, 1 / (1 + C * C)), eps=1e-12, amsgrad=amsgrad)
    for t in range(1, steps + 1):
        opt.param_groups[0]["lr"] = alpha / math.sqrt(t)
        x.grad = torch.tensor([C if t % 3 == 1 else -1.0], dtype=torch.float64)
        opt.step()
        with torch.no_grad():
            x.clamp_(-1.0, 1.0)
    return float(x.detach())


adam_end, amsgrad_end = online_problem(False), online_problem(True)
print(f"after 3000 steps: Adam x = {adam_end:+.3f}, AMSGrad x = {amsgrad_end:+.3f} (best: -1)")
assert adam_end > 0.9 and amsgrad_end < -0.9

# %% [markdown]
# **Question 4 (2 points).** When does AMSGrad's maximum matter, and when does it make no difference? Explain with the counterexample above, and say what AMSGrad gives up in exchange.

# %% [markdown] answer amsgrad_max points=2
# It matters when large gradients are rare and informative: in the counterexample the gradient $C = 3$ arrives once in three steps, Adam's short-memory $v_t$ ($\beta_2 = 0.1$) has forgotten it two steps later, so the two small gradients $-1$ are divided by a small root and move $x$ more than the one large gradient does; the iterates drift to $x = +1$, the worst point (printed $+1.000$). AMSGrad keeps the largest $v$ seen, so every step of this coordinate is divided by $\sqrt{\max v} \approx C$: the effective learning rate is the same for the rare large gradient and the frequent small ones, the motion follows the average gradient $(C-2)/3 > 0$ and reaches $-1$ (printed $-0.99$). It makes no difference when the gradient scale is steady or growing (then $v_t$ is already at its running maximum, so the max changes nothing). In exchange AMSGrad can never speed up again: after one spike the step of that coordinate stays small for the rest of training (like Adagrad's monotone learning rate), so it adapts worse when the gradient scale decreases for good.

# %% [markdown] mark_scheme amsgrad_max
# - 1 pt: the mechanism: rare large gradients are forgotten by Adam's moving average, so frequent small gradients dominate the motion (the printed Adam end point +1); the max keeps the large scale so steps follow the average gradient (end point near -1).
# - 1 pt: when it does not matter (steady or growing gradient scale, $v_t$ already at its running max) and the price: the effective learning rate can only decrease (cannot recover after a spike, adapts worse when gradients shrink for good).

# %% [markdown]
# ## 5 · The race
#
# Every optimizer of this notebook and of notebooks 01 to 03 now runs on five small 2-D problems, each chosen so that one trait shows (`wdlab.race`; every problem is in float64 and starts from the same point for everybody):
#
# | problem | what it tests |
# |---|---|
# | **ill-conditioned** quadratic, curvatures 0.1 and 10 along the axes | a learning rate limited by the steep direction; whether a per-coordinate step fixes it |
# | **rotated valley**: the same quadratic turned by 45° | the same difficulty, but not aligned with the coordinates: a *diagonal* preconditioner cannot undo it (notebook 02, Section 6) |
# | **Rosenbrock**'s curved valley, minimum at (1, 1) | following a narrow bending valley; momentum and its overshoot |
# | **saddle** $x^2/2 - y^2/2 + y^4/4$, started at $(1.2,\ 10^{-4})$, almost on the line that leads into the saddle point | escaping where the gradient is tiny |
# | **noisy** quadratic, gradients with standard normal noise, the same for every optimizer | averaging noise out; what a long memory (Adagrad's sum, AMSGrad's and Adamax's maxima) does under noise |
#
# Your `adagrad_step`, `adamax_step` and `nadam_step` race in place of PyTorch's versions, with the same hyperparameters (PyTorch's `betas=(b1, b2)` are your `beta1, beta2`); the other optimizers are `torch.optim`'s. Learning rates are tuned per problem (`race.SUGGESTED`) so that each method does about as well as it can in a few hundred steps. Each figure draws the five optimizers whose character that problem shows best, on the left over the level sets of the loss and on the right as $f - f^\star$ against the step; all eleven race, and the table at the end gives the steps each needed to come within the tolerance of the minimum ("—": not within the steps, "div": stopped after diverging).

# %% experiment
from IPython.display import Image, display

from wdlab import race
from wdlab.plots import render_png


def with_betas(kwargs):
    """PyTorch's kwargs (lr, betas=(b1, b2)) as the course's lr, beta1, beta2."""
    return {"lr": kwargs["lr"], "beta1": kwargs["betas"][0], "beta2": kwargs["betas"][1]}


yours = {"Adagrad": (adagrad_step, lambda kwargs: {"lr": kwargs["lr"]}),
         "Adamax": (adamax_step, with_betas), "NAdam": (nadam_step, with_betas)}
races = []
for problem in race.PROBLEMS:
    result = race.run(problem, race.contenders(problem, replace=yours))
    races.append(result)
    display(Image(render_png(race.draw(result, names=race.FEATURED[problem]))))
print(race.table(races))

# Your three functions follow torch.optim's paths on every problem for 100 steps (with float64 as
# the default dtype: torch's NAdam keeps its product of mu_t in the default dtype). Later, rounding
# differences of 1e-16 can grow where a path is unstable (NAdam circling the rotated valley's
# minimum multiplies them by about 1.4 per step).
default_dtype = torch.get_default_dtype()
torch.set_default_dtype(torch.float64)
try:
    for result in races:
        theirs = race.run(result.problem, race.contenders(result.problem.name, names=list(yours)), steps=100)
        for name in yours:
            gap = float(np.nanmax(np.abs(result.paths[name][:101] - theirs.paths[name])))
            assert gap < 1e-9, f"{result.problem.name}: your {name} left torch.optim's path by {gap:.1e}"
finally:
    torch.set_default_dtype(default_dtype)

# %% [markdown]
# What to look for (the numbers are the table's):
#
# - **Ill-conditioned.** SGD's learning rate must stay below $2/h_{\max}$ for the steep direction, so it crawls along the flat one; momentum and, more so, Nesterov's look-ahead cut the steps several-fold. The diagonal methods (Adagrad, RMSProp) rescale each coordinate by its own gradient size, which is exactly what this axis-aligned problem needs.
# - **Rotated valley.** SGD, momentum and Nesterov take exactly as many steps as before: they do not care how the problem is turned. The diagonal methods lose their advantage — Adagrad, RMSProp and Adam need several times more steps than on the aligned version — because the steep and flat directions now mix both coordinates, and no per-coordinate scaling separates them.
# - **Rosenbrock.** Once in the valley, the gradient along its curved floor is small: only methods that build up velocity arrive within 500 steps (momentum, Nesterov, Adam, AMSGrad); SGD, Adagrad, Adadelta and RMSProp stall (Adamax and NAdam too, at the learning rate tried). RAdam's first steps are plain momentum steps (its rectification is off while $\rho_t \le 5$), taken at a learning rate meant for Adam's normalized steps on gradients of size 200: it is thrown out.
# - **Saddle.** SGD first slides to the saddle point along $x$; there the gradient along the escape direction $y$ is tiny (it starts at $10^{-4}$), and SGD's step is proportional to it. The adaptive methods divide by the gradient's own size, so they move in $y$ at full speed from the first step (Adagrad, RMSProp and NAdam arrive about five times sooner than SGD).
# - **Noisy.** Methods whose steps keep their size (SGD, momentum, Adam) come close quickly and then bounce at a level set by the learning rate and the noise (the right panel shows a running mean of 20 steps). Adagrad arrives first and its steps keep shrinking, so its bouncing keeps calming down — here the shrinking of Question 1 is a virtue. Adamax's $u_t$ follows the largest recent gradient, which the noise makes large, so its steps are small: it arrives last of these, but then sits lowest.
#
# **Self-check C** (not graded). On the rotated valley, which optimizers' step counts are unchanged from the ill-conditioned quadratic, and why? (a) Adagrad and RMSProp, because they adapt. (b) SGD, momentum and Nesterov, because their updates commute with rotations. (c) None: rotation changes every method. (d) Adam only, because of the bias correction.

# %%
answer = None   # "a", "b", "c" or "d"
selfcheck.check("04-rotation-invariant", answer)

# %% [markdown]
# ## 6 · Decoupled L1
#
# AdamW decays every weight by the same fraction, $\theta \leftarrow \theta - \eta_t w\,\theta$, outside Adam's step. The same idea works for an L1 penalty $\lambda \lVert\theta\rVert_1$, whose natural step is not a subtraction but a **proximal** step: the soft threshold
#
# $$ \operatorname{prox}_{\tau\lVert\cdot\rVert_1}(x) = \arg\min_z\ \tfrac12 (z - x)^2 + \tau |z| = \operatorname{sign}(x)\, \max(|x| - \tau, 0), $$
#
# applied coordinate by coordinate. It moves every weight by $\tau$ towards zero and stops **at** zero: a weight that the step leaves within $\tau$ of zero becomes exactly zero. Decoupled L1 takes Adam's step on the loss alone, then the threshold with $\tau = \eta_t \lambda$ — scaled by the schedule like AdamW's decay, not by the learning rate:
#
# $$ \tilde\theta_t = \theta_{t-1} - \eta_t\,\alpha\,\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}, \qquad \theta_t = \operatorname{sign}(\tilde\theta_t)\, \max\big(|\tilde\theta_t| - \eta_t\lambda,\ 0\big). $$
#
# The moments see only `grad`. Implement `adamw_l1_step` (write the Adam step inside it; notebook 03's `adam_step` is not available here). State: `"m"`, `"v"`.

# %% solution
def adamw_l1_step(theta, grad, state, t, lr, l1, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
    """Decoupled L1: one Adam step on `grad`, then the soft threshold by eta * l1.

    Returns (new_theta, {"m": new_m, "v": new_v})."""
    ### BEGIN SOLUTION
    m = beta1 * state["m"] + (1 - beta1) * grad
    v = beta2 * state["v"] + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    stepped = theta - eta * lr * m_hat / (v_hat.sqrt() + eps)
    return stepped.sign() * (stepped.abs() - eta * l1).clamp(min=0), {"m": m, "v": v}
    ### END SOLUTION

# %% tests adamw_l1_step
# Visible checks: two steps with numbers fixed in advance (weights that stop at zero, one that
# crosses zero during the Adam step, one that survives), the dtype, then l1 = 0 against
# torch.optim.Adam.
f64 = dict(dtype=torch.float64)
zeros = {"m": torch.zeros(4, **f64), "v": torch.zeros(4, **f64)}
theta1, state1 = checks.rule(adamw_l1_step, torch.tensor([1.0, -0.015, 0.005, 0.04], **f64),
                             torch.tensor([0.5, -4.0, 2.0, -1.0], **f64), zeros, 1, lr=0.01, l1=0.02)
checks.close(state1["v"], [2.5e-4, 0.016, 0.004, 0.001], "v_1", hint="the moments see only grad (no l1 term)")
checks.close(theta1, [0.9700000002, 0.0, 0.0, 0.0299999999], "theta_1 (lr = 0.01, l1 = 0.02)",
             hint="Adam moves each weight by about lr; then every weight within eta * l1 of zero becomes "
                  "exactly 0 and the others move eta * l1 towards zero (not lr * l1)")
theta2, state2 = checks.rule(adamw_l1_step, theta1, torch.tensor([-1.0, 2.0, 1e-3, 3.0], **f64), state1, 2,
                             lr=0.01, l1=0.02, eta=0.5)
checks.close(theta2, [0.9618305178120282, 0.0, 0.0, 0.01752905074456279], "theta_2 (lr = 0.01, l1 = 0.02, "
             "eta = 0.5)", hint="the threshold is eta * l1 and is applied after the Adam step, to its result")
theta32, _ = checks.rule(adamw_l1_step, torch.ones(3), torch.full((3,), 0.5),
                         {"m": torch.zeros(3), "v": torch.zeros(3)}, 1, lr=0.1, l1=0.01)
checks.same_dtype(theta32, torch.ones(3), "adamw_l1_step on float32 inputs")
# Two configurations at once: lr and l1 as [2, 1] tensors over a [2, 3] theta (the sweep in 6.1).
theta_grid, _ = checks.rule(adamw_l1_step, torch.tensor([[0.5, -0.004, 0.03]] * 2, **f64),
                            torch.tensor([[1.0, 2.0, -0.5]] * 2, **f64),
                            {"m": torch.zeros(2, 3, **f64), "v": torch.zeros(2, 3, **f64)}, 1,
                            lr=torch.tensor([[0.01], [0.1]], **f64), l1=torch.tensor([[0.02], [0.001]], **f64))
checks.close(theta_grid, [[0.4700000001, 0.0, 0.0199999998], [0.399000001, -0.1029999995, 0.128999998]],
             "theta_1 with lr and l1 as [2, 1] tensors", hint="use tensor operations only (no float(), "
             "math.*, or F.softshrink, which take numbers): hyperparameters may be tensors")

p = torch.nn.Parameter(torch.linspace(-1, 1, 5, **f64))
opt = torch.optim.Adam([p], lr=0.05, betas=(0.8, 0.99))
mine, state = p.detach().clone(), {"m": torch.zeros(5, **f64), "v": torch.zeros(5, **f64)}
for t in range(1, 8):
    opt.zero_grad()
    (p ** 2 * torch.arange(1.0, 6.0, **f64)).sum().backward()
    g = p.grad.clone()
    opt.step()
    mine, state = checks.rule(adamw_l1_step, mine, g, state, t, lr=0.05, l1=0.0, beta1=0.8, beta2=0.99)
    checks.close(mine, p.detach(), f"theta at step {t} with l1 = 0 against torch.optim.Adam(lr=0.05, betas=(0.8, 0.99))",
                 rtol=1e-10, atol=1e-12, hint="with l1 = 0 the rule is Adam: bias-correct both moments, eps "
                 "outside the square root")
print("adamw_l1_step: visible checks passed")
### BEGIN HIDDEN TESTS
from autograder.reference.checks import check_rule
check_rule(adamw_l1_step, "adamw_l1", lr=(1e-4, 0.1), l1=(1e-4, 0.05), beta1=(0.5, 0.99), beta2=(0.9, 0.9999),
           eps=(1e-10, 1e-6))
check_rule(adamw_l1_step, "adamw_l1", steps=40, seed=1, lr=1e-2, l1=1e-2, beta1=0.9, beta2=0.999, eps=1e-8)
### END HIDDEN TESTS

# %% [markdown]
# **Self-check B** (not graded). A weight is $0.004$; at $t = 1$ its gradient is $+3$, and `adamw_l1_step` runs with $\alpha = 0.01$, $\lambda = 0.02$, $\eta_t = 1$. What is the new weight? (a) $0.014$. (b) $-0.006$. (c) $0$. (d) $-0.0058$.

# %%
answer = None   # "a", "b", "c" or "d"
selfcheck.check("04-threshold-zero", answer)

# %% [markdown]
# ### 6.1 Support recovery over a (learning rate × λ) grid
#
# `data_gen.make_sparse_regression()` builds a least-squares problem $f(w) = \lVert Xw - y\rVert^2 / (2n)$ with 50 features of which only 5 have a non-zero true weight $w^\star$. The lasso, $\min_w f(w) + \lambda\lVert w\rVert_1$, finds those 5 for a suitable $\lambda$. We train two ways of adding L1 to Adam over a grid of learning rates and $\lambda$'s, every cell from $w = 0$ for 2000 full-batch steps, all cells at once (`wdlab.sparsity.sweep_l1` stacks the grid as the heatmap sweeps of notebook 03 do):
#
# - **Adam + L1 in the gradient**: the subgradient $\lambda\,\mathrm{sign}(\theta)$ added to $g_t$, so it passes through $m_t$, $v_t$ and the division by $\sqrt{\hat v_t}$ — the analogue of Adam + L2. It is your `adamw_l1_step` with the threshold switched off and the subgradient added to the gradient.
# - **Decoupled L1**: your `adamw_l1_step`, with the default $\epsilon = 10^{-8}$ and with $\epsilon = 0.1$ (the next section explains why $\epsilon$ matters).
#
# For each cell: **precision** (the fraction of the non-zero weights that are truly non-zero), **recall** (the fraction of the true support found), their harmonic mean F1, and the relative error $\lVert w - w^\star\rVert / \lVert w^\star\rVert$. A weight counts as non-zero only if it is exactly non-zero. $\beta_2 = 0.99$ makes $\hat v$ forget the large gradients of the first steps within the 2000 steps.

# %% experiment
from data_gen import make_sparse_regression
from wdlab import sparsity

data = make_sparse_regression()
print(f"{data.x_train.shape[1]} features, {data.k} true non-zeros, {data.x_train.shape[0]} training points")


def adam_l1_in_gradient(theta, grad, state, t, lr, l1, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
    """Adam on f + l1 ||theta||_1 through the subgradient: your step, threshold off."""
    return adamw_l1_step(theta, grad + l1 * theta.sign(), state, t, lr=lr, l1=0.0, beta1=beta1, beta2=beta2,
                         eps=eps, eta=eta)


grid = {"lr": np.logspace(-3, -0.5, 8).tolist(), "l1": np.logspace(-3.6, -0.6, 8).tolist()}
l1_sweeps = {
    "Adam + L1 in the gradient": sparsity.sweep_l1(adam_l1_in_gradient, data, grid=grid, steps=2000, beta2=0.99),
    "decoupled L1, eps = 1e-8": sparsity.sweep_l1(adamw_l1_step, data, grid=grid, steps=2000, beta2=0.99),
    "decoupled L1, eps = 0.1": sparsity.sweep_l1(adamw_l1_step, data, grid=grid, steps=2000, beta2=0.99, eps=0.1),
}
sparsity.heatmaps(l1_sweeps, metrics=("f1", "rel_error"))
plt.show()
for label, result in l1_sweeps.items():
    cell = result.best("f1")
    got = result.at(**cell)
    print(f"{label:<27} best F1 at lr {cell['lr']:.3g}, l1 {cell['l1']:.3g}: precision {got['precision']:.2f}, "
          f"recall {got['recall']:.2f}, F1 {got['f1']:.2f}, rel. error {got['rel_error']:.3f}, "
          f"{int(got['nonzeros'])} non-zeros; lowest rel. error {np.nanmin(result.rel_error):.3f}; "
          f"ridge slope of rel. error {sparsity.ridge_slope(result, 'rel_error'):+.2f}")

# %% [markdown]
# ### 6.2 Where decoupled L1 comes to rest
#
# Why does $\epsilon$ matter, and why does the good region of decoupled L1 follow $\lambda/\alpha$? Suppose the full-batch iterates settle, so the gradient $g$ of each coordinate is constant and Adam's bias-corrected moments are $\hat m = g$, $\hat v = g^2$: Adam's step is $\alpha\, g / (|g| + \epsilon)$, at most $\alpha$ in size however large $g$ is. Write $r = \lambda / \alpha$ (with $\eta_t = 1$).
#
# - A weight at rest **away from zero** must be moved back by the threshold exactly as far as Adam's step moves it: $\alpha\,|g| / (|g|+\epsilon) = \lambda$, with $g$ pointing against the sign of $\theta$. So $|g| = \epsilon\, r / (1 - r)$ and $g = -\epsilon\,\tfrac{r}{1-r}\,\mathrm{sign}(\theta)$.
# - A weight at rest **at zero** must have Adam's step land inside the threshold: $\alpha\,|g|/(|g| + \epsilon) \le \lambda$, that is $|g| \le \epsilon\, r/(1-r)$.
#
# These are exactly the optimality conditions of the lasso, $\nabla f(w) = -\mu\,\mathrm{sign}(w)$ on the non-zeros and $|\nabla f(w)| \le \mu$ on the zeros, with the penalty
#
# $$ \mu = \epsilon\, \frac{r}{1-r}, \qquad r = \frac{\lambda}{\alpha} < 1. $$
#
# So decoupled L1 with Adam solves a lasso whose penalty is set by the **ratio** $\lambda/\alpha$ and by $\epsilon$, not by $\lambda$ alone; once the iterates settle, for $r \ge 1$ the threshold beats every step and all weights end at zero. With $\epsilon = 10^{-8}$ the penalty is negligible until $r$ is within $10^{-7}$ of 1, which is why that panel cannot separate the support from the other weights (its best cell keeps 38 non-zeros). Adam + L1 in the gradient, by contrast, can only rest where $g + \lambda\,\mathrm{sign}(\theta) = 0$: the lasso's condition with penalty $\lambda$, whatever $\alpha$ — but a weight the lasso sets to zero has no rest point at all ($\mathrm{sign}$ jumps across zero), so it keeps crossing zero and is never exactly zero.
#
# The cell checks the prediction: decoupled L1 run long (20000 steps) at $\alpha = 0.05$, $\epsilon = 10^{-2}$ for three $\lambda$'s, against scikit-learn's `Lasso` with the predicted penalty $\mu$ (its objective is $f(w) + \mu\lVert w\rVert_1$ with the same $f$).

# %% experiment
from sklearn.linear_model import Lasso

long_run = sparsity.sweep_l1(adamw_l1_step, data, grid={"lr": [0.05], "l1": [0.03, 0.04, 0.045]}, steps=20000,
                             beta2=0.99, eps=1e-2)
x, y = data.x_train.numpy(), data.y_train.numpy()
for j, l1 in enumerate(long_run.grid["l1"]):
    r = l1 / 0.05
    mu = 1e-2 * r / (1 - r)
    lasso = Lasso(alpha=mu, fit_intercept=False, tol=1e-14, max_iter=200_000).fit(x, y).coef_
    ours = long_run.weights[0, j]
    same_support = bool(((ours != 0) == (lasso != 0)).all())
    print(f"l1 = {l1:<6} r = {r:.2f}  predicted lasso penalty {mu:.4f}:  max |w - w_lasso| = "
          f"{np.abs(ours - lasso).max():.1e}, {int((ours != 0).sum())} non-zeros, same support: {same_support}")
    assert np.abs(ours - lasso).max() < 1e-6 and same_support

# %% [markdown]
# **Question 5 (2 points).** For L2, the course's picture is: with Adam + L2 the best penalty moves with the learning rate (a diagonal in the (learning rate × decay) plane), while decoupled decay separates the two (an axis-aligned region). Does this picture carry over to L1? Use the heatmaps, the printed ridge slopes and Section 6.2, and say what each way of adding L1 is good and bad at.

# %% [markdown] answer l1_coupling points=2
# No — for L1 with Adam the roles are swapped. Adam + L1 in the gradient can only rest where $\nabla f = -\lambda\,\mathrm{sign}(w)$, the lasso's condition with penalty $\lambda$ whatever the learning rate, so its error depends on $\lambda$ only: the rel. error heatmap has horizontal bands and a ridge slope near 0, and its best error is about the lasso's. But it never produces exact zeros: a weight the lasso would set to zero keeps crossing zero, so all 50 weights are non-zero in every cell and the F1 is low everywhere (precision 0.1). Decoupled L1 makes exact zeros — every weight that lands within $\eta_t\lambda$ of zero is set to zero — but its fixed point is the lasso with penalty $\epsilon\, r/(1-r)$, $r = \lambda/\alpha$: the penalty is tied to the learning rate through the ratio, so the good region is a diagonal just below the line $\lambda = \alpha$ (ridge slope near $+1$) and everything is zero above it. The reason is Adam's normalized step, about $\alpha$ in size for any gradient: the threshold competes with steps of size $\alpha$, not with the gradient. With the default $\epsilon = 10^{-8}$ the effective penalty is negligible except in a sliver next to $r = 1$, so it cannot separate the support (recall 1, but 38 non-zeros at best); with $\epsilon = 0.1$ it recovers the support exactly (precision = recall = 1). So "decoupling" does not make L1 independent of the learning rate under Adam; it trades the coupling through $\sqrt{\hat v}$ for a coupling through $\lambda/\alpha$ and $\epsilon$.

# %% [markdown] mark_scheme l1_coupling
# - 1 pt: Adam + L1 in the gradient: rest points satisfy the lasso's condition with penalty $\lambda$ independent of $\alpha$ (horizontal bands, slope near 0), but no exact zeros (low precision/F1 everywhere), with the reason (the subgradient's sign flips, weights cross zero).
# - 1 pt: decoupled L1: exact zeros and support recovery, but its effective penalty $\epsilon r/(1-r)$ depends on $\lambda/\alpha$ (diagonal, slope near $+1$, all-zero above $\lambda = \alpha$) and on $\epsilon$ (nothing usable at $10^{-8}$); conclusion that the L2 picture does not carry over (roles swapped). Describing the plots correctly without the mechanism: 0.5 pt for each part.
