"""Source of notebook 02: adaptive methods as preconditioned gradient descent.

Percent format, read by autograder/authoring/percent.py (its docstring describes the cell
kinds): each `# %%` line starts a notebook cell. Build the notebook with

    python -m autograder.authoring.percent 02_adaptive_preconditioning

which writes solutions/<assignment>/02_adaptive_preconditioning.ipynb.
"""

# %% [markdown]
# # 02 · Adaptive methods as preconditioned gradient descent
#
# In notebook 01 you saw that for plain SGD an L2 penalty and weight decay are the same thing, up to
# the rescaling $\lambda = \alpha\lambda'$ (Proposition 1). This notebook shows why that
# equivalence breaks as soon as the optimizer gives every coordinate its own step size, which is
# exactly what RMSProp and Adam do.
#
# 1. The common shape of adaptive methods: $\theta_t = \theta_{t-1} - \alpha\, M_t\, g_t$.
# 2. RMSProp with a bias-corrected second moment — **you implement `rmsprop_step`** and compare it
#    with `torch.optim.RMSprop`, which has no bias correction.
# 3. RMSProp's matrix $M_t$ written with the gradient history $G_t(\beta_2)$ — **you derive it and
#    implement `rmsprop_preconditioner`**.
# 4. Proposition 2: with $M_t \neq kI$ no L2 coefficient reproduces weight decay — proof and a
#    numerical counterexample.
# 5. Proposition 3: with a *fixed* preconditioner, weight decay is an L2 penalty measured in the
#    preconditioner's own metric — proof, numerical check, and what it means for L2 inside Adam.
# 6. Why $M_t$ is built from outer products: full-matrix AdaGrad / GGT against the diagonal kept by
#    RMSProp and Adam.
#
# Graded: `rmsprop_step`, `rmsprop_preconditioner` and four written answers (Questions 1 to 4).
# The self-checks A to D earn no points; they tell you at once whether you read a result right.
#
# **Notation.** $\theta \in \mathbb{R}^m$ are the parameters, $g_t = \nabla f_t(\theta_{t-1})$ the
# minibatch gradient at step $t$ (steps count from 1), $\alpha$ the learning rate (`lr` in code),
# $\eta_t$ an optional schedule multiplier (`eta`, 1 unless a schedule is used), $\lambda$ a
# weight-decay factor and $\lambda'$ an L2 coefficient.
# The problem set calls the learning rate $\eta$; here $\eta_t$ is kept for the schedule, as in the paper.
#
# **The course rule signature.** Every update rule you write is a pure function of tensors
#
# ```python
# new_theta, new_state = rule(theta, grad, state, t, **hyperparameters)
# ```
#
# `state` is a dict of tensors shaped like `theta` (all zeros before step 1), `t` is the 1-based
# step number, hyperparameters are floats *or* tensors that broadcast against `theta`, and the
# inputs are never modified in place. The same function then trains a network through
# `wdlab.train`.

# %% setup
import math

import matplotlib.pyplot as plt

import wdlab
from data_gen import make_classification, make_regression
from wdlab import checks, selfcheck

# %% [markdown]
# ## 1 · Adaptive methods are preconditioned gradient descent
#
# Many optimizers fit one template:
#
# $$\theta_t = \theta_{t-1} - \alpha\, M_t\, g_t, \qquad M_t \in \mathbb{R}^{m\times m}.$$
#
# | method | $M_t$ |
# |---|---|
# | SGD | $I$ |
# | AdaGrad (diagonal) | $\mathrm{Diag}\big(\textstyle\sum_{\tau\le t} g_\tau^2\big)^{-1/2}$ |
# | RMSProp / Adam's denominator | $\mathrm{Diag}(\hat v_t)^{-1/2}$, with $\hat v_t$ a running average of $g^2$ |
# | full-matrix AdaGrad | $\big(\textstyle\sum_{\tau\le t} g_\tau g_\tau^\top\big)^{-1/2}$ |
#
# $M_t$ is the *preconditioner*: it changes the geometry in which "steepest" is measured. When
# $M_t$ is diagonal, coordinate $i$ simply gets its own learning rate $\alpha (M_t)_{ii}$;
# coordinates whose gradients have been large get small steps and vice versa. Keep this picture in
# mind: an L2 penalty adds $\lambda'\theta$ to $g_t$, so it is multiplied by $M_t$ as well.

# %% [markdown]
# ## 2 · RMSProp with a bias-corrected second moment
#
# The problem set's Algorithm 2. Start from $v_0 = 0$ and at every step $t = 1, 2, \dots$
#
# $$
# \begin{aligned}
# v_t &= \beta_2\, v_{t-1} + (1-\beta_2)\, g_t^2 && \text{(element-wise square)}\\
# \hat v_t &= v_t / (1-\beta_2^{\,t}) && \text{(bias correction; } \beta_2 \text{ to the power } t)\\
# \theta_t &= \theta_{t-1} - \eta_t\, \alpha\, g_t / \big(\sqrt{\hat v_t} + \epsilon\big) && \text{(element-wise; } \epsilon \text{ outside the root)}
# \end{aligned}
# $$
#
# Why the correction: $v_t$ starts at zero, so early on it is a weighted average whose weights
# $(1-\beta_2)\beta_2^{t-\tau}$ sum to only $1-\beta_2^t$. Dividing by that sum turns it into a proper
# average. With $\beta_2 = 0.999$ the uncorrected $v_1 = 0.001\, g_1^2$ would make the first step
# about $\sqrt{1000} \approx 32$ times too large.
#
# **`torch.optim.RMSprop` has no bias correction** (and calls $\beta_2$ `alpha`). Section 2.1
# measures the difference.
#
# **Task.** Implement `rmsprop_step` with the course rule signature. The state holds one tensor,
# `"v"`. Use only tensor operations (no `torch.optim`), do not modify the inputs, and let every
# hyperparameter be a float or a tensor that broadcasts against `theta`.

# %% solution
def rmsprop_step(theta, grad, state, t, lr, beta2=0.999, eps=1e-8, eta=1.0):
    """One step of RMSProp with a bias-corrected second moment.

    theta, grad: tensors of the same shape; state: {"v": running average of grad**2};
    t: the 1-based step number. Returns (new_theta, {"v": new_v}).
    """
    ### BEGIN SOLUTION
    v = beta2 * state["v"] + (1 - beta2) * grad * grad
    v_hat = v / (1 - beta2 ** t)
    new_theta = theta - eta * lr * grad / (v_hat.sqrt() + eps)
    return new_theta, {"v": v}
    ### END SOLUTION

# %% tests rmsprop_step
# Visible checks: two steps with numbers fixed in advance (fresh copies of the inputs for every
# call), the dtype, then torch.optim.RMSprop, which keeps the same v but skips the bias correction:
# with eps = 0 the two agree once torch's learning rate at step t is multiplied by sqrt(1 - beta2^t).
f64 = dict(dtype=torch.float64)
theta1, state1 = checks.rule(rmsprop_step, torch.tensor([1.0, 2.0, -1.0, 0.5], **f64),
                             torch.tensor([3.0, -0.5, 1e-3, 0.0], **f64), {"v": torch.zeros(4, **f64)}, 1, lr=0.1)
checks.close(state1["v"], [9e-3, 2.5e-4, 1e-9, 0.0], "v_1 = (1 - beta2) g_1^2",
             hint="the state holds the raw average v_t, not the bias-corrected v_hat_t")
checks.close(theta1, [0.9000000003333333, 2.099999998, -1.09999900001, 0.5], "theta_1 (lr = 0.1)",
             hint="bias correction makes v_hat_1 = g_1^2, so the first step is about lr; eps goes outside "
                  "the square root: sqrt(v_hat) + eps (it matters for the gradient 1e-3)")
theta2, state2 = checks.rule(rmsprop_step, theta1, torch.tensor([-1.0, 0.5, 2e-3, 4.0], **f64), state1, 2,
                             lr=0.1, eta=0.5)
checks.close(state2["v"], [9.991e-3, 4.9975e-4, 4.999e-9, 0.016], "v_2")
checks.close(theta2, [0.922365155724864, 2.049999999, -1.1632346638932891, 0.4293070020110117],
             "theta_2 (lr = 0.1, eta = 0.5)", hint="v_hat_t = v_t / (1 - beta2^t) with the step number t; "
             "eta multiplies the whole step")
theta32, _ = checks.rule(rmsprop_step, torch.ones(3), torch.full((3,), 0.5), {"v": torch.zeros(3)}, 1, lr=0.1)
checks.same_dtype(theta32, torch.ones(3), "rmsprop_step on float32 inputs")

gen = torch.Generator().manual_seed(0)
grads = torch.randn(30, 5, generator=gen, **f64) * torch.tensor([1e-3, 0.1, 1.0, 10.0, 1e3], **f64)
p = torch.zeros(5, dtype=torch.float64, requires_grad=True)
opt = torch.optim.RMSprop([p], lr=0.01, alpha=0.9, eps=0.0)
theta, state = torch.zeros(5, **f64), {"v": torch.zeros(5, **f64)}
for t, g_t in enumerate(grads, start=1):
    opt.param_groups[0]["lr"] = 0.01 * math.sqrt(1 - 0.9 ** t)
    p.grad = g_t.clone()
    opt.step()
    theta, state = checks.rule(rmsprop_step, theta, g_t, state, t, lr=0.01, beta2=0.9, eps=0.0)
    checks.close(theta, p.detach(), f"theta at step {t} against torch.optim.RMSprop(alpha=0.9, eps=0) with "
                 "lr * sqrt(1 - 0.9^t)", hint="bias correction divides v_t by 1 - beta2^t")
print("rmsprop_step: visible checks passed")

### BEGIN HIDDEN TESTS
from autograder.reference.checks import check_rule
# Trajectories against the reference: float32/float64, CPU/CUDA, t = 1, tiny and huge gradients
# (eps matters), a varying eta_t, lr as a [3, 1] tensor; no in-place changes, no torch.optim.
check_rule(rmsprop_step, "rmsprop_bc", lr=(1e-3, 0.2), beta2=(0.9, 0.999), eps=(1e-8, 1e-3))
check_rule(rmsprop_step, "rmsprop_bc", steps=40, seed=1, lr=1e-2, beta2=0.99, eps=1e-8)
### END HIDDEN TESTS

# %% [markdown]
# ### 2.1 Bias correction, measured
#
# Feed the same stream of gradients to your `rmsprop_step` and to `torch.optim.RMSprop` (same
# $\beta_2$, same $\epsilon$, same learning rate) and compare the step lengths. Without the
# correction, the step is larger by the factor $1/\sqrt{1-\beta_2^{\,t}}$ (as long as $\epsilon$ is
# negligible): about 32 at $t=1$ for $\beta_2 = 0.999$, still 1.26 after 1000 steps.

# %% experiment
def torch_rmsprop_steps(grads, lr, beta2, eps):
    """Step vectors theta_t - theta_{t-1} of torch.optim.RMSprop on a fixed gradient stream."""
    p = torch.zeros(grads.shape[1], dtype=grads.dtype, requires_grad=True)
    opt = torch.optim.RMSprop([p], lr=lr, alpha=beta2, eps=eps)
    steps = []
    for g in grads:
        before = p.detach().clone()
        p.grad = g.clone()
        opt.step()
        steps.append(p.detach() - before)
    return torch.stack(steps)


def our_rmsprop_steps(grads, lr, beta2, eps):
    theta, state = torch.zeros_like(grads[0]), {"v": torch.zeros_like(grads[0])}
    steps = []
    for t, g in enumerate(grads, start=1):
        new_theta, state = rmsprop_step(theta, g, state, t, lr=lr, beta2=beta2, eps=eps)
        steps.append(new_theta - theta)
        theta = new_theta
    return torch.stack(steps)


beta2, n_steps = 0.999, 3000
stream = 1.0 + torch.randn(n_steps, 4, dtype=torch.float64)     # a noisy, stationary gradient
ratio = (torch_rmsprop_steps(stream, 1e-3, beta2, 1e-8).norm(dim=1)
         / our_rmsprop_steps(stream, 1e-3, beta2, 1e-8).norm(dim=1))
t = torch.arange(1, n_steps + 1, dtype=torch.float64)
predicted = 1 / torch.sqrt(1 - beta2 ** t)
worst = float(((ratio - predicted) / predicted).abs().max())
assert worst < 1e-4, f"measured step ratio differs from 1/sqrt(1 - beta2^t) by up to {worst:.1e} (relative)"
print(f"torch step / bias-corrected step: {ratio[0]:.1f} at t=1, {ratio[999]:.3f} at t=1000, "
      f"{ratio[-1]:.3f} at t={n_steps}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(t, ratio, lw=3, alpha=0.5, label="measured: torch.optim.RMSprop / rmsprop_step")
ax.loglog(t, predicted, "k--", lw=1, label=r"$1/\sqrt{1-\beta_2^t}$")
ax.set_xlabel("step t")
ax.set_ylabel("ratio of step lengths")
ax.set_title(r"Missing bias correction, $\beta_2 = 0.999$")
ax.legend()
plt.show()

# %% [markdown]
# ### 2.2 Your RMSProp trains a network
#
# `wdlab.train` runs any function with the course rule signature on a small MLP (synthetic
# 4-class data from `data_gen`). `wdlab.train_torch` trains the same network from the same
# initial weights on the same minibatches with a `torch.optim` optimizer. Both use
# $\alpha = 10^{-3}$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$: the only difference is the bias correction.

# %% experiment
data = make_classification(difficulty="medium", seed=0)
common = dict(steps=300, batch_size=100, hidden=(64, 64), seed=0)
ours = wdlab.train(rmsprop_step, data, lr=1e-3, beta2=0.999, eps=1e-8, **common)
library = wdlab.train_torch(lambda params: torch.optim.RMSprop(params, lr=1e-3, alpha=0.999, eps=1e-8),
                            data, **common)

fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.5))
for hist, label in [(ours, "your rmsprop_step (bias-corrected)"), (library, "torch.optim.RMSprop")]:
    ax_loss.plot(np.arange(1, len(hist.train_loss) + 1), hist.train_loss, label=label, alpha=0.8)
    ax_acc.plot(hist.steps, hist.val_acc, marker="o", label=label)
ax_loss.set_yscale("log")
ax_loss.set_xlabel("step")
ax_loss.set_ylabel("training loss (minibatch)")
ax_acc.set_xlabel("step")
ax_acc.set_ylabel("validation accuracy")
ax_loss.legend()
fig.suptitle(r"Same network, data and minibatches: $\alpha = 10^{-3}$, $\beta_2 = 0.999$")
plt.show()
print(f"final validation accuracy: yours {ours.val_acc[-1]:.3f}, torch {library.val_acc[-1]:.3f}")

# %% [markdown]
# The library's curve drops faster at first. That is not a better algorithm: without the
# correction its effective learning rate is $\alpha/\sqrt{1-\beta_2^t}$, 32 times $\alpha$ at the
# first step and still about twice $\alpha$ at step 300. The same `lr` therefore means different
# things in the two versions, and a learning rate tuned for one does not transfer to the other. Adam
# (notebook 03) bias-corrects both of its moments, in the paper and in `torch.optim.Adam`.
#
# **Self-check A** (not graded). With $\beta_2 = 0.99$, how many times longer is the first step of
# `torch.optim.RMSprop` than the first step of the bias-corrected rule ($\epsilon$ negligible)?

# %%
answer = None   # a number
selfcheck.check("02-torch-first-step", answer)

# %% [markdown]
# ## 3 · RMSProp's preconditioner from the gradient history
#
# Collect the outer products of the gradients in an exponentially weighted sum
#
# $$G_t(a) = \sum_{\tau=1}^{t} a^{\,t-\tau}\, g_\tau g_\tau^\top \in \mathbb{R}^{m\times m}, \qquad a \in (0, 1].$$
#
# Useful facts: $x \odot x = \mathrm{diag}(x x^\top)$ (the vector of diagonal entries),
# $x \odot y = \mathrm{Diag}(x)\, y$ (the diagonal matrix built from a vector), and element-wise
# powers of a vector are powers of its diagonal matrix, $\mathrm{Diag}(x)^p = \mathrm{Diag}(x^p)$.
#
# **Question 1 (2 points).** Take $v_0 = 0$ and $\epsilon = 0$. Show that Algorithm 2 has the form
# $\theta_t = \theta_{t-1} - \alpha M_t g_t$ and write $M_t$ explicitly in terms of $G_t(\beta_2)$
# and $\beta_2$. Say when $M_t$ is a multiple of the identity.

# %% [markdown] answer derive_preconditioner points=2
# Unrolling the recursion from $v_0 = 0$:
#
# $$v_t = (1-\beta_2)\sum_{\tau=1}^t \beta_2^{\,t-\tau} g_\tau^2
#       = (1-\beta_2)\sum_{\tau=1}^t \beta_2^{\,t-\tau}\,\mathrm{diag}(g_\tau g_\tau^\top)
#       = (1-\beta_2)\,\mathrm{diag}\big(G_t(\beta_2)\big),$$
#
# because $\mathrm{diag}$ is linear. Hence
# $\hat v_t = \frac{1-\beta_2}{1-\beta_2^t}\,\mathrm{diag}(G_t(\beta_2))$. With $\epsilon = 0$ the
# element-wise division $g_t / \sqrt{\hat v_t}$ equals $\mathrm{Diag}(\hat v_t)^{-1/2} g_t$, so
#
# $$\theta_t = \theta_{t-1} - \alpha M_t g_t, \qquad
# M_t = \Big[\frac{1-\beta_2}{1-\beta_2^{\,t}}\;\mathrm{Diag}\big(\mathrm{diag}(G_t(\beta_2))\big)\Big]^{-1/2}.$$
#
# $M_t$ is diagonal with entries $1/\sqrt{\hat v_{t,i}}$ (defined when every coordinate has seen a
# nonzero gradient). It equals $kI$ only if all coordinates have the same bias-corrected mean
# square gradient $\hat v_{t,i}$, i.e. $k = \hat v_{t,1}^{-1/2}$.

# %% [markdown] mark_scheme derive_preconditioner
# - 1 pt: unrolls $v_t = (1-\beta_2)\sum_\tau \beta_2^{t-\tau} g_\tau^2$ and identifies it with
#   $(1-\beta_2)\,\mathrm{diag}(G_t(\beta_2))$ (the element-wise square as the diagonal of the outer product).
# - 0.5 pt: includes the bias-correction factor $1/(1-\beta_2^t)$ with the correct power $t$.
# - 0.5 pt: writes the element-wise division as a diagonal matrix to the power $-1/2$, i.e.
#   $\mathrm{Diag}(\mathrm{diag}(\cdot))$ (keeping only the diagonal), and notes when $M_t = kI$
#   (all $\hat v_{t,i}$ equal).
# - Common errors: using the full $G_t$ (that is full-matrix AdaGrad/GGT, not RMSProp): at most 1 pt;
#   missing the square root or the $(1-\beta_2)$ factor: lose 0.5 pt each.

# %% [markdown]
# **Task.** Implement `outer_history(grads, a)` $= G_t(a)$ and `rmsprop_preconditioner(grads, beta2)`
# $= M_t$ from your derivation. `grads` holds the history $g_1, \dots, g_t$ as the rows of a
# `[t, m]` tensor (oldest first); both functions return an `[m, m]` tensor of the same dtype and
# device. No loops over coordinates are needed. The check below compares your functions with
# numbers fixed in advance and with the last step of `torch.optim.RMSprop` (bias-corrected by
# rescaling its learning rate), which must equal $-\alpha M_t g_t$; it does not run your `rmsprop_step`.

# %% solution grade_id=rmsprop_preconditioner
def outer_history(grads, a):
    """G_t(a) = sum_tau a^(t - tau) g_tau g_tau^T for grads shaped [t, m] (oldest row first)."""
    ### BEGIN SOLUTION
    t = grads.shape[0]
    weights = a ** torch.arange(t - 1, -1, -1, dtype=grads.dtype, device=grads.device)
    return (grads.T * weights) @ grads
    ### END SOLUTION


def rmsprop_preconditioner(grads, beta2):
    """M_t of bias-corrected RMSProp (v_0 = 0, eps = 0) after the gradients in grads [t, m]."""
    ### BEGIN SOLUTION
    t = grads.shape[0]
    v_hat = (1 - beta2) / (1 - beta2 ** t) * torch.diagonal(outer_history(grads, beta2))
    return torch.diag(v_hat.rsqrt())
    ### END SOLUTION

# %% tests rmsprop_preconditioner
# Visible checks of G_t(a) (outer_history): a small history with numbers fixed in advance, G_t(1),
# and the recursion G_t(a) = a G_{t-1}(a) + g_t g_t^T.
f64 = dict(dtype=torch.float64)
small = torch.tensor([[1.0, 2.0], [3.0, 0.0], [0.0, -1.0]], **f64)     # g_1, g_2, g_3
checks.close(checks.call(outer_history, small, 0.5), [[4.75, 0.5], [0.5, 2.0]],
             "outer_history([[1, 2], [3, 0], [0, -1]], a=0.5)", hint="the newest gradient (last row) has weight "
             "a^0 = 1, the oldest a^(t-1)")
gen = torch.Generator().manual_seed(1)
history = torch.randn(12, 4, generator=gen, **f64) * torch.tensor([0.1, 1.0, 3.0, 10.0], **f64)
checks.close(checks.call(outer_history, history, 1.0), history.T @ history, "outer_history(grads, 1.0) against "
             "sum_tau g_tau g_tau^T")
checks.close(checks.call(outer_history, history, 0.9),
             0.9 * (history[:-1].T * 0.9 ** torch.arange(10, -1, -1, **f64)) @ history[:-1]
             + torch.outer(history[-1], history[-1]), "outer_history(grads, 0.9) against a G_{t-1} + g_t g_t^T")

# Visible checks of M_t (rmsprop_preconditioner).
M_small = checks.call(rmsprop_preconditioner, small, 0.5)
checks.same_dtype(M_small, small, "rmsprop_preconditioner")
checks.close(M_small, [[0.606976978666884, 0.0], [0.0, 0.935414346693485]],
             "rmsprop_preconditioner([[1, 2], [3, 0], [0, -1]], beta2=0.5)",
             hint="M_t = [(1 - beta2) / (1 - beta2^t) Diag(diag(G_t(beta2)))]^(-1/2): keep the diagonal, "
                  "include the bias correction, take the inverse square root")
checks.close(checks.call(rmsprop_preconditioner, history[:1], 0.99), torch.diag(1 / history[0].abs()),
             "M_1 after one gradient", hint="bias correction makes M_1 = Diag(1 / |g_1|)")

# M_t reproduces the RMSProp step: the last step of torch.optim.RMSprop (alpha = beta2 = 0.99, eps = 0,
# lr_t = 0.05 sqrt(1 - 0.99^t), i.e. bias-corrected) equals -0.05 M_t g_t.
p = torch.zeros(4, dtype=torch.float64, requires_grad=True)
opt = torch.optim.RMSprop([p], lr=0.05, alpha=0.99, eps=0.0)
for t, g_t in enumerate(history, start=1):
    previous = p.detach().clone()
    opt.param_groups[0]["lr"] = 0.05 * math.sqrt(1 - 0.99 ** t)
    p.grad = g_t.clone()
    opt.step()
M = checks.call(rmsprop_preconditioner, history, 0.99)
checks.close(-0.05 * M @ history[-1], p.detach() - previous, "-lr M_t g_t against the last step of "
             "bias-corrected torch.optim.RMSprop", hint="the weight of g_tau is beta2^(t - tau)")
print("outer_history and rmsprop_preconditioner: visible checks passed")

### BEGIN HIDDEN TESTS
from autograder.reference import rmsprop_preconditioner as _ref_preconditioner
from course_config import CONFIG

for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
    for dtype in (torch.float32, torch.float64):
        rtol, _ = CONFIG.tolerances[str(dtype).removeprefix("torch.")]
        for seed, (t, m, beta2, scale) in enumerate([(1, 3, 0.999, 1.0), (2, 2, 0.9, 1.0),
                                                     (25, 5, 0.99, 1.0), (60, 6, 0.999, 1.0),
                                                     (10, 4, 0.9, 1e-6), (10, 4, 0.5, 1e6)]):
            gen = torch.Generator().manual_seed(seed)
            spread = torch.logspace(-2, 2, m, dtype=dtype)
            grads = (scale * spread * torch.randn(t, m, generator=gen, dtype=dtype)).to(device)
            before = grads.clone()
            got = rmsprop_preconditioner(grads, beta2)
            want = _ref_preconditioner(grads, beta2)
            label = f"{device}/{dtype}/t={t}/beta2={beta2}/scale={scale:g}"
            assert torch.equal(grads, before), f"{label}: grads were modified in place"
            assert isinstance(got, torch.Tensor) and got.shape == (m, m), f"{label}: expected an [m, m] tensor"
            assert got.dtype == dtype and got.device == want.device, f"{label}: keep dtype and device"
            assert torch.allclose(got, want, rtol=rtol, atol=rtol * float(want.abs().max())), \
                f"{label}: M_t differs from the reference"
### END HIDDEN TESTS

# %% [markdown]
# ## 4 · Proposition 2: for adaptive methods, L2 is not weight decay
#
# Let an optimizer take the steps $\theta_t = \theta_{t-1} - \alpha M_t \nabla f_t(\theta_{t-1})$.
#
# * **With weight decay** $\lambda$ on the loss $f_t$:
#   $\theta_t = (1-\lambda)\,\theta_{t-1} - \alpha M_t \nabla f_t(\theta_{t-1})$.
# * **With L2** on $f_t^{\text{reg}}(\theta) = f_t(\theta) + \frac{\lambda'}{2}\|\theta\|_2^2$ and no decay.
#
# **Proposition 2** (Loshchilov & Hutter). If $M_t \neq kI$ for every $k \in \mathbb{R}$, there is no
# L2 coefficient $\lambda'$ for which the optimizer on $f_t^{\text{reg}}$ takes the same steps as the
# optimizer with weight decay $\lambda > 0$ on $f_t$ (for all parameters and gradients).
#
# **Question 2 (2 points).** Prove Proposition 2. Then say what the L2 term does to coordinate $i$
# when $M_t$ is diagonal.

# %% [markdown] answer prove_proposition_2 points=2
# The gradient of the regularized loss is $\nabla f_t^{\text{reg}}(\theta) = \nabla f_t(\theta) + \lambda'\theta$, so
# the L2 step is
#
# $$\theta_t = \theta_{t-1} - \alpha M_t\big(\nabla f_t(\theta_{t-1}) + \lambda'\theta_{t-1}\big)
#           = (I - \alpha\lambda' M_t)\,\theta_{t-1} - \alpha M_t \nabla f_t(\theta_{t-1}).$$
#
# The gradient terms of the two updates are identical, so they agree for every $\theta_{t-1}$ iff
# $(I - \alpha\lambda' M_t)\theta = (1-\lambda)\theta$ for all $\theta$, i.e. iff
# $\alpha\lambda' M_t = \lambda I$. Since $\lambda > 0$, this needs $\alpha\lambda' \neq 0$ and then
# $M_t = \frac{\lambda}{\alpha\lambda'} I$, a multiple of the identity, contradicting $M_t \neq kI$.
# So no $\lambda'$ works. (Conversely, if $M_t = kI$ then $\lambda' = \lambda/(\alpha k)$ works:
# Proposition 1 is the case $k = 1$.)
#
# With a diagonal $M_t$, coordinate $i$ is multiplied by $1 - \alpha\lambda' (M_t)_{ii}$: each
# coordinate is decayed at its own rate, smaller where $(M_t)_{ii}$ is small, i.e. where past
# gradients were large. Weight decay shrinks every coordinate by the same factor $1-\lambda$.

# %% [markdown] mark_scheme prove_proposition_2
# - 0.5 pt: computes $\nabla f^{\text{reg}} = \nabla f + \lambda'\theta$ and writes the L2 step as
#   $(I - \alpha\lambda' M_t)\theta - \alpha M_t\nabla f$.
# - 1 pt: argues that equality for all $\theta$ forces $\alpha\lambda' M_t = \lambda I$, hence
#   $M_t = kI$ (a contradiction); a proof that only checks one example is not a proof (max 0.5).
# - 0.5 pt: per-coordinate decay $1 - \alpha\lambda' (M_t)_{ii}$, weaker where past gradients were large.

# %% [markdown]
# ### 4.1 A numerical counterexample
#
# Take $M_t$ from your `rmsprop_preconditioner` on a gradient history whose coordinates have very
# different scales, a parameter vector and a gradient. For every $\lambda'$ the gap between the two
# updates is $r(\lambda') = (\lambda I - \alpha\lambda' M_t)\,\theta$, affine in $\lambda'$; its
# smallest norm over all $\lambda'$ is found by least squares. For Proposition 2 the minimum must
# stay away from zero; for $M = kI$ it must reach zero at $\lambda' = \lambda/(\alpha k)$.

# %% experiment
alpha, lam = 0.1, 0.01
gen = torch.Generator().manual_seed(3)
history = torch.randn(50, 3, generator=gen, dtype=torch.float64) * torch.tensor([0.1, 1.0, 10.0], dtype=torch.float64)
M_rms = rmsprop_preconditioner(history, beta2=0.99)
theta = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
grad_f = torch.randn(3, generator=gen, dtype=torch.float64)


def l2_step(M, l2):
    return theta - alpha * M @ (grad_f + l2 * theta)


def decay_step(M):
    return (1 - lam) * theta - alpha * M @ grad_f


def best_l2(M):
    """The lambda' minimising ||decay_step - l2_step|| (least squares in one variable)."""
    Mt = M @ theta
    return float(lam * (theta @ Mt) / (alpha * (Mt @ Mt)))


def gap(M, l2):
    return float((decay_step(M) - l2_step(M, l2)).norm())


M_scalar = 2.5 * torch.eye(3, dtype=torch.float64)
print("diagonal of RMSProp's M_t:", [f"{x:.3g}" for x in torch.diagonal(M_rms)])
print("lambda' that would match each coordinate alone:",
      [f"{x:.3g}" for x in lam / (alpha * torch.diagonal(M_rms))])
print(f"M_t from RMSProp: best lambda' = {best_l2(M_rms):.4g}, smallest gap = {gap(M_rms, best_l2(M_rms)):.3e}")
print(f"M = 2.5 I:        best lambda' = {best_l2(M_scalar):.4g} (lambda / (alpha k) = {lam / (alpha * 2.5):.4g}), "
      f"gap = {gap(M_scalar, best_l2(M_scalar)):.1e}")
smallest = gap(M_rms, best_l2(M_rms))
assert smallest > 0.1 * lam * float(theta.norm()), \
    f"Proposition 2: the gap should stay away from zero for M_t != kI, found {smallest:.1e}"
closed = gap(M_scalar, lam / (alpha * 2.5))
assert closed < 1e-14, f"for M = kI the gap should close at lambda / (alpha k), found {closed:.1e}"

l2_grid = torch.logspace(-3, 2, 400, dtype=torch.float64)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(l2_grid, [gap(M_rms, float(l2)) for l2 in l2_grid], label=r"RMSProp's $M_t$")
ax.loglog(l2_grid, [max(gap(M_scalar, float(l2)), 1e-17) for l2 in l2_grid], label=r"$M = 2.5\,I$")
ax.plot(best_l2(M_rms), gap(M_rms, best_l2(M_rms)), "r*", ms=12, label=r"best $\lambda'$ for $M_t$")
ax.set_xlabel(r"L2 coefficient $\lambda'$")
ax.set_ylabel(r"$\|$decay step $-$ L2 step$\|$")
ax.set_title(r"No $\lambda'$ closes the gap unless $M = kI$")
ax.legend()
plt.show()

# %% [markdown]
# **Self-check B** (not graded). When is RMSProp's $M_t$ a multiple of the identity? (a) Never.
# (b) When every coordinate has the same bias-corrected mean square gradient $\hat v_{t,i}$.
# (c) When $\beta_2 = 1$. (d) When successive gradients are orthogonal.

# %%
answer = None   # "a", "b", "c" or "d"
selfcheck.check("02-m-is-k-identity", answer)

# %% [markdown]
# ## 5 · Proposition 3: weight decay is L2 in the preconditioner's metric
#
# Now fix the preconditioner: $M_t = M$ for all $t$, symmetric positive definite. Define the
# *scale-adjusted* penalty
#
# $$f_t^{\text{sreg}}(\theta) = f_t(\theta) + \frac{\lambda'}{2}\,\big\|M^{-1/2}\theta\big\|_2^2
#  = f_t(\theta) + \frac{\lambda'}{2}\,\theta^\top M^{-1}\theta .$$
#
# **Proposition 3.** The optimizer with learning rate $\alpha$ and weight decay $\lambda$ on $f_t$
# takes the same steps as the optimizer without decay on $f_t^{\text{sreg}}$ with
# $\lambda' = \lambda/\alpha$.
#
# In the paper's diagonal form, $M = \mathrm{Diag}(s)^{-1}$ with $s_i > 0$, so
# $\|M^{-1/2}\theta\|^2 = \|\theta \odot \sqrt{s}\|^2$ and the penalty is
# $\frac{\lambda'}{2}\|\theta\odot\sqrt s\|^2 = \frac{\lambda}{2\alpha}\|\theta\odot\sqrt s\|^2$.
# (If you meet the penalty written as $\frac{\lambda'}{2\alpha}\|\theta\odot\sqrt s\|^2$ *together
# with* $\lambda' = \lambda/\alpha$, one of the two $1/\alpha$ factors is one too many: that version
# decays by $\lambda/\alpha$ per step, not $\lambda$. Section 5.2 measures both constants.)
#
# **Question 3 (2 points).** Prove Proposition 3. Then explain why preconditioners built from
# $G_t(a)$, such as your $M_t$ from Section 3 or $(G_t(a) + \epsilon I)^{-1/2}$, are symmetric
# positive (semi-)definite, so that $M^{-1/2}$ makes sense.

# %% [markdown] answer prove_proposition_3 points=2
# $M$ is SPD, so $M^{-1/2}$ exists and is symmetric, and
# $\nabla_\theta \frac{\lambda'}{2}\|M^{-1/2}\theta\|^2 = \lambda' (M^{-1/2})^\top M^{-1/2}\theta = \lambda' M^{-1}\theta$.
# The step on $f_t^{\text{sreg}}$ is therefore
#
# $$\theta_t = \theta_{t-1} - \alpha M\big(\nabla f_t(\theta_{t-1}) + \lambda' M^{-1}\theta_{t-1}\big)
#           = (1 - \alpha\lambda')\,\theta_{t-1} - \alpha M\nabla f_t(\theta_{t-1}),$$
#
# which is the weight-decay step with $\lambda = \alpha\lambda'$, i.e. $\lambda' = \lambda/\alpha$. The
# preconditioner cancels against the metric of the penalty, leaving a uniform decay.
#
# Symmetry and definiteness: $G_t(a) = \sum_\tau a^{t-\tau} g_\tau g_\tau^\top$ is a sum of symmetric
# rank-one matrices with nonnegative weights, so $x^\top G_t x = \sum_\tau a^{t-\tau}(g_\tau^\top x)^2 \ge 0$:
# it is symmetric positive semi-definite, and positive definite once the gradients span
# $\mathbb{R}^m$ (or after adding $\epsilon I$). A positive multiple of it, its diagonal part (entries
# $\sum_\tau a^{t-\tau} g_{\tau,i}^2 \ge 0$), and the inverse square root of an SPD matrix (same
# eigenvectors, eigenvalues $\mu^{-1/2} > 0$) are again SPD. RMSProp's $M_t$ is diagonal with
# positive entries once every coordinate has seen a nonzero gradient, hence SPD; it matches
# Section 3.

# %% [markdown] mark_scheme prove_proposition_3
# - 1 pt: gradient of the penalty is $\lambda' M^{-1}\theta$ (uses the symmetry of $M^{-1/2}$) and the
#   step collapses to $(1-\alpha\lambda')\theta - \alpha M\nabla f$, giving $\lambda' = \lambda/\alpha$.
# - 1 pt: $G_t(a)$ is PSD because $x^\top G_t x = \sum a^{t-\tau}(g_\tau^\top x)^2 \ge 0$; strictly PD
#   when the gradients span the space or with $\epsilon I$; its diagonal part and inverse square root
#   stay SPD; links this to the diagonal $M_t$ of Section 3.

# %% [markdown]
# ### 5.1 Check with a full SPD preconditioner
#
# A least-squares problem from `data_gen`, a random fixed SPD matrix $M$, and two runs of 200
# steps: weight decay $\lambda$ on $f$, and no decay on $f^{\text{sreg}}$ whose penalty gradient is
# computed by autograd (so the check does not reuse the algebra of the proof).

# %%
reg = make_regression(n=200, d=5, condition_number=10.0, seed=0)          # float64
gen = torch.Generator().manual_seed(4)
A = torch.randn(5, 5, generator=gen, dtype=torch.float64)
M_fixed = A @ A.T / 5 + 0.2 * torch.eye(5, dtype=torch.float64)            # symmetric positive definite
evals, evecs = torch.linalg.eigh(M_fixed)
M_inv_sqrt = evecs @ torch.diag(evals.rsqrt()) @ evecs.T
alpha, lam = 0.05, 0.02
l2 = lam / alpha


def sreg_grad(theta):
    """Gradient of f + (l2 / 2) ||M^(-1/2) theta||^2, the penalty part by autograd."""
    theta = theta.detach().requires_grad_(True)
    penalty = 0.5 * l2 * (M_inv_sqrt @ theta).pow(2).sum()
    (penalty_grad,) = torch.autograd.grad(penalty, theta)
    return reg.grad(theta.detach()) + penalty_grad


theta_decay = theta_sreg = torch.zeros(5, dtype=torch.float64)
gaps = []
for t in range(200):
    theta_decay = (1 - lam) * theta_decay - alpha * M_fixed @ reg.grad(theta_decay)
    theta_sreg = theta_sreg - alpha * M_fixed @ sreg_grad(theta_sreg)
    gaps.append(float((theta_decay - theta_sreg).norm()))
print(f"largest distance between the two trajectories over 200 steps: {max(gaps):.2e} "
      f"(|theta| = {float(theta_decay.norm()):.3f})")
assert max(gaps) < 1e-12, f"the decay and scale-adjusted L2 runs should coincide; largest distance {max(gaps):.1e}"

# %% [markdown]
# ### 5.2 The diagonal form and its constant
#
# With $M = \mathrm{Diag}(s)^{-1}$, one step of weight decay $\lambda$ is compared with one step on
# $f + c\,\|\theta\odot\sqrt s\|^2$ for the two readings of the constant $c$. The decay a penalty
# implies is read off from the step: $1 - (\text{penalty step})_i / (\text{plain step})_i$ after
# removing the gradient term.

# %%
s = torch.tensor([0.01, 0.3, 1.0, 4.0, 50.0], dtype=torch.float64)   # "historical gradient" scales
M_diag = torch.diag(1 / s)
theta0 = torch.tensor([-1.0, -0.4, 0.3, 0.8, 1.5], dtype=torch.float64)
alpha, lam = 0.05, 0.02


def step_with_penalty(c):
    """One preconditioned step on f + c ||theta * sqrt(s)||^2 (penalty gradient by autograd)."""
    theta = theta0.clone().requires_grad_(True)
    (penalty_grad,) = torch.autograd.grad(c * (theta * s.sqrt()).pow(2).sum(), theta)
    return theta0 - alpha * M_diag @ (reg.grad(theta0) + penalty_grad)


plain = theta0 - alpha * M_diag @ reg.grad(theta0)
for name, c in [("lambda / (2 alpha)      ", lam / (2 * alpha)),
                ("(lambda/alpha) / (2 alpha)", (lam / alpha) / (2 * alpha))]:
    implied = (plain - step_with_penalty(c)) / theta0
    print(f"c = {name}: implied decay per coordinate {[f'{x:.4g}' for x in implied]}")
implied = (plain - step_with_penalty(lam / (2 * alpha))) / theta0
off = float((implied - lam).abs().max())
assert off < 1e-12, f"c = lambda / (2 alpha) should imply the decay lambda in every coordinate; off by {off:.1e}"
print(f"weight decay lambda = {lam}; lambda / alpha = {lam / alpha}")

# %% [markdown]
# ### 5.3 The consequence for L2 inside adaptive methods
#
# Read Proposition 3 backwards: decoupled weight decay under a preconditioner $M = \mathrm{Diag}(s)^{-1}$
# behaves like an L2 penalty whose strength on coordinate $i$ is proportional to $s_i$, the size of
# that coordinate's past gradients. A plain L2 penalty inside the adaptive method has the same
# strength $\lambda'$ on every coordinate. So, **compared with decoupled decay, plain L2 inside
# RMSProp or Adam regularizes the weights with large historical gradients less** (and those with
# small gradients more).
#
# The comparison is relative. Matched by $\lambda = \alpha\lambda'$, decay pulls coordinate $i$ with
# $\lambda' s_i$ and L2 with $\lambda'$: the two cross at $s_i = 1$, a point fixed by the matching (and
# by the units of the gradients), not by the weights. "Less" means less than the matched decay, not
# less than some absolute amount.
#
# The experiment: a least-squares problem whose features have scales from 0.1 to 10, so the
# gradient sizes differ by orders of magnitude across coordinates.
#
# 1. Run your `rmsprop_step` on minibatches for a while and take $s = \sqrt{\hat v}$ (the
#    root-mean-square of each coordinate's past gradients).
# 2. Freeze $M = \mathrm{Diag}(s)^{-1}$ and iterate preconditioned gradient descent to its fixed
#    point twice: with L2 $\lambda'$, and with weight decay $\lambda = \alpha\lambda'$.
# 3. At a fixed point $\theta^\ast$ the regularizer balances the loss gradient coordinate by
#    coordinate. The *effective penalty* $c_i = -\partial_i f(\theta^\ast) / \theta^\ast_i$ says how
#    strongly coordinate $i$ is pulled to zero. For L2 the preconditioner drops out at a fixed point
#    ($\nabla f + \lambda'\theta = 0$), so $c_i = \lambda'$; for weight decay Proposition 3 predicts
#    $c_i = (\lambda/\alpha)\, s_i$.

# %% experiment
base = make_regression(n=400, d=8, condition_number=1.0, noise=0.5, seed=5)   # x^T x / n = I
scales = torch.logspace(-1, 1, 8, dtype=torch.float64)
x, y = base.x * scales, base.y                      # feature i has scale scales[i]
n = len(y)


def loss_grad(theta, rows=slice(None)):
    xb, yb = x[rows], y[rows]
    return xb.T @ (xb @ theta - yb) / len(yb)


# 1. Historical gradient sizes from your RMSProp on minibatches of 20 points.
gen = torch.Generator().manual_seed(6)
theta, state = torch.zeros(8, dtype=torch.float64), {"v": torch.zeros(8, dtype=torch.float64)}
for t in range(1, 301):
    rows = torch.randint(0, n, (20,), generator=gen)
    theta, state = rmsprop_step(theta, loss_grad(theta, rows), state, t, lr=0.01, beta2=0.99)
s = (state["v"] / (1 - 0.99 ** 300)).sqrt()
M_frozen = torch.diag(1 / s)

# 2. Fixed points of preconditioned gradient descent with L2 and with weight decay.
alpha, l2 = 0.1, 0.05
lam = alpha * l2                                    # the SGD-equivalent decay (Proposition 1)
theta_l2 = theta_wd = torch.zeros(8, dtype=torch.float64)
for _ in range(3000):
    theta_l2 = theta_l2 - alpha * M_frozen @ (loss_grad(theta_l2) + l2 * theta_l2)
    theta_wd = (1 - lam) * theta_wd - alpha * M_frozen @ loss_grad(theta_wd)

# 3. Effective per-coordinate penalty at each fixed point, against Proposition 3's prediction.
c_l2 = -loss_grad(theta_l2) / theta_l2
c_wd = -loss_grad(theta_wd) / theta_wd
off_l2 = float((c_l2 / l2 - 1).abs().max())
off_wd = float((c_wd / (lam / alpha * s) - 1).abs().max())
assert off_l2 < 1e-6, f"L2's effective penalty should be l2 on every coordinate; relative error {off_l2:.1e}"
assert off_wd < 1e-6, f"decay's effective penalty should be (lambda / alpha) s_i; relative error {off_wd:.1e}"
slope_l2 = np.polyfit(np.log(s.numpy()), np.log(c_l2.numpy()), 1)[0]
slope_wd = np.polyfit(np.log(s.numpy()), np.log(c_wd.numpy()), 1)[0]
print(f"log-log slope of effective penalty against s: L2 {slope_l2:.3f}, weight decay {slope_wd:.3f}")

order = torch.argsort(s)
s_line = torch.logspace(math.log10(float(s.min()) / 1.3), math.log10(float(s.max()) * 1.3), 50, dtype=torch.float64)
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.loglog(s[order], c_l2[order], "o", ms=8, label=r"L2 $\lambda'$ inside the preconditioned step")
ax.loglog(s[order], c_wd[order], "s", ms=8, label=r"weight decay $\lambda = \alpha\lambda'$")
ax.loglog(s_line, lam / alpha * s_line, "k--", lw=1, label=r"Proposition 3: $(\lambda/\alpha)\,s_i$")
ax.axvline(1.0, color="grey", lw=0.8, ls=":")
ax.annotate("crossover $s = 1$", (1.05, float(c_wd.min())), fontsize=8, color="grey")
ticks = [0.1, 0.2, 0.5, 1, 2, 5, 10]
ax.set_xticks([x for x in ticks if s_line.min() <= x <= s_line.max()])
ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:g}"))
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.set_xlabel(r"historical gradient size $s_i = \sqrt{\hat v_i}$ (from your RMSProp)")
ax.set_ylabel(r"effective penalty $c_i = -\partial_i f(\theta^*)/\theta^*_i$")
ax.set_title("Matched decay pulls large-gradient weights harder than L2")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **Self-check C** (not graded). Decay and L2 are matched by $\lambda = \alpha\lambda'$ under
# $M = \mathrm{Diag}(s)^{-1}$. For which historical gradient size $s_i$ do both pull coordinate $i$
# towards zero equally hard?

# %%
answer = None   # a number
selfcheck.check("02-crossover", answer)

# %% [markdown]
# **Question 4 (1 point).** In the plot above, which coordinates does L2 regularize less than
# the matched weight decay, and why does that follow from Propositions 2 and 3? What does it suggest
# about using `torch.optim.Adam(weight_decay=...)` as a regularizer?

# %% [markdown] answer interpret_consequence points=1
# L2 gives every coordinate the same effective penalty $\lambda'$, while decay gives coordinate
# $i$ the penalty $(\lambda/\alpha) s_i$, growing with its historical gradient size. So the
# coordinates with large past gradients ($s_i > 1$, here the large-scale features) are
# regularized less by L2 than by the matched decay, and those with small gradients ($s_i < 1$)
# more; the crossover at $s_i = 1$ comes from matching the two by $\lambda = \alpha\lambda'$. The reason: the L2
# gradient $\lambda'\theta$ is multiplied by the preconditioner $M = \mathrm{Diag}(s)^{-1}$ like the
# loss gradient (Proposition 2), so it is shrunk exactly where gradients are large; decay is applied
# outside the preconditioner, which by Proposition 3 is an L2 penalty weighted by $s$.
# `torch.optim.Adam(weight_decay=...)` adds $\lambda'\theta$ to the gradient, i.e. it is L2, not
# decay: the regularization it applies is uneven across weights and tied to the gradient
# statistics, which is why AdamW (notebook 03) decouples it.

# %% [markdown] mark_scheme interpret_consequence
# - 0.5 pt: identifies the large-$s_i$ (large historical gradient) coordinates as the ones L2
#   regularizes less, with the reason that the L2 gradient is rescaled by $M$.
# - 0.5 pt: `Adam(weight_decay=...)` is L2 regularization, so its effect is uneven; points to
#   decoupled decay (AdamW).

# %% [markdown]
# ## 6 · Why outer products: full-matrix AdaGrad / GGT against the diagonal
#
# $G_t(a)$ is more than a bookkeeping device. **Full-matrix AdaGrad** (Duchi, Hazan & Singer, 2011)
# uses $M_t = G_t(1)^{-1/2}$ (plus a small multiple of $I$), and **GGT** (Agarwal et al., 2018)
# applies the same inverse square root, regularized by a small $\epsilon$, to a window of recent
# gradients with exponential decay, i.e. to a truncated $G_t(a)$. These take the
# correlations between coordinates into account. RMSProp and Adam keep only the diagonal of
# $G_t(\beta_2)$ (Section 3), which costs $O(m)$ memory and time instead of $O(m^2)$ memory and
# $O(m^3)$ time for the matrix root — the only option for networks with millions of weights.
#
# What the diagonal loses can be stated precisely and checked:
#
# * If every gradient points along a coordinate axis, $G_t$ is diagonal and the two preconditioners
#   coincide.
# * The full-matrix preconditioner is *rotation-equivariant*: rotating all gradients by an
#   orthogonal $R$ gives $R M_t R^\top$, so the method behaves the same in any rotated coordinate
#   system. The diagonal one has this property only for permutations and sign flips of the
#   coordinates.

# %%
def full_matrix_preconditioner(grads, beta2, eps=1e-12):
    """The full-matrix counterpart of RMSProp's M_t: [(1-beta2)/(1-beta2^t) G_t(beta2) + eps I]^(-1/2)."""
    t, m = grads.shape
    G = (1 - beta2) / (1 - beta2 ** t) * outer_history(grads, beta2)
    evals, evecs = torch.linalg.eigh(G + eps * torch.eye(m, dtype=grads.dtype))
    return evecs @ torch.diag(evals.rsqrt()) @ evecs.T


gen = torch.Generator().manual_seed(8)
axis_grads = torch.randn(20, 3, generator=gen, dtype=torch.float64) * torch.eye(3, dtype=torch.float64)[
    torch.randint(0, 3, (20,), generator=gen)]                   # each gradient along one axis
axis_gap = float((full_matrix_preconditioner(axis_grads, 0.9) - rmsprop_preconditioner(axis_grads, 0.9)).abs().max())
assert axis_gap < 1e-10, f"axis-aligned gradients: the two preconditioners should coincide; gap {axis_gap:.1e}"

grads = torch.randn(20, 3, generator=gen, dtype=torch.float64)
R, _ = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))   # a random rotation
for name, precondition in [("full matrix", full_matrix_preconditioner), ("diagonal", rmsprop_preconditioner)]:
    rotated = precondition(grads @ R.T, 0.9)
    error = float((rotated - R @ precondition(grads, 0.9) @ R.T).norm() / rotated.norm())
    print(f"{name:11s}: || M(R g) - R M(g) R^T || / || M(R g) || = {error:.1e}")
rotated = full_matrix_preconditioner(grads @ R.T, 0.9)
equivariance_gap = float((rotated - R @ full_matrix_preconditioner(grads, 0.9) @ R.T).abs().max())
assert equivariance_gap < 1e-10, f"the full-matrix preconditioner should be rotation-equivariant; gap {equivariance_gap:.1e}"

# %% [markdown]
# **Self-check D** (not graded). Rotate every gradient by the same orthogonal $R$. Which
# preconditioner becomes $R M_t R^\top$? (a) RMSProp's diagonal one. (b) The full-matrix one.
# (c) Both. (d) Neither.

# %%
answer = None   # "a", "b", "c" or "d"
selfcheck.check("02-rotation", answer)

# %% [markdown]
# ### 6.1 A 2-D illustration
#
# An ill-conditioned quadratic $f(\theta) = \tfrac12 \theta^\top H\theta$ with curvatures 1 and 0.01,
# once with its valley along the axes and once rotated by 45°, plus a little gradient noise. Three
# optimizers start from points at the same loss: gradient descent ($M = I$), RMSProp's diagonal
# $M_t$ (your `rmsprop_preconditioner`) and its full-matrix counterpart. Rotation does not change
# gradient descent or the full-matrix method; the diagonal method is fast when the valley is
# axis-aligned and slow when it is not. Speed is read as the first step at which $f < 10^{-3}$.

# %% experiment
def rotation(degrees):
    a = math.radians(degrees)
    return torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=torch.float64)


H_axis = torch.diag(torch.tensor([1.0, 0.01], dtype=torch.float64))
noise = 0.01 * torch.randn(200, 2, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
methods = {"gradient descent": (lambda hist: torch.eye(2, dtype=torch.float64), 1.0),
           "diagonal (RMSProp M_t)": (lambda hist: rmsprop_preconditioner(hist, 0.99), 0.05),
           "full matrix": (lambda hist: full_matrix_preconditioner(hist, 0.99), 0.05)}


def optimize(preconditioner, lr, R, steps=200):
    H = R @ H_axis @ R.T
    theta, history, path = R @ torch.tensor([1.0, 2.2], dtype=torch.float64), [], []
    for t in range(steps):
        path.append(theta)
        g = H @ theta + R @ noise[t]
        history.append(g)
        theta = theta - lr * preconditioner(torch.stack(history)) @ g
    path = torch.stack(path + [theta])
    return path, 0.5 * ((path @ H) * path).sum(1)


fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
grid = torch.linspace(-3, 3, 200, dtype=torch.float64)
X, Y = torch.meshgrid(grid, grid, indexing="xy")
final_loss, reached = {}, {}
for ax, degrees in zip(axes[:2], (0, 45)):
    R = rotation(degrees)
    H = R @ H_axis @ R.T
    Z = 0.5 * (H[0, 0] * X ** 2 + 2 * H[0, 1] * X * Y + H[1, 1] * Y ** 2)
    contours = ax.contour(X, Y, Z, levels=np.geomspace(1e-3, 3, 12), cmap="Greys")
    for (name, (precondition, lr)), color in zip(methods.items(), ["C0", "C1", "C2"]):
        path, loss = optimize(precondition, lr, R)
        final_loss[name, degrees] = float(loss[-1])
        below = torch.nonzero(loss < 1e-3)
        reached[name, degrees] = int(below[0]) if len(below) else None
        ax.plot(path[:, 0], path[:, 1], ".-", ms=2, color=color, label=name)
        style = dict(lw=3, alpha=0.4) if degrees == 0 else dict(lw=1, ls="--")
        axes[2].semilogy(loss, color=color, label=f"{name}, {degrees}°", **style)
    ax.plot(0, 0, "k*", ms=12, label="minimum")
    ax.plot(*path[0], "ks", ms=6, label="start (all three)")
    ax.set(xlim=(-3, 3), ylim=(-3, 3))
    ax.set_aspect("equal")
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    ax.set_title(f"valley rotated by {degrees}°")
axes[0].legend(fontsize=8)
axes[2].set_xlabel("step")
axes[2].set_ylabel(r"$f(\theta_t)$")
axes[2].set_title("loss: thick = axis-aligned, dashed = rotated")
axes[2].legend(fontsize=7)
plt.show()
for name in methods:
    print(f"{name:24s} first step with f < 1e-3: axis-aligned {reached[name, 0]}, rotated {reached[name, 45]}; "
          f"final loss {final_loss[name, 0]:.1e} and {final_loss[name, 45]:.1e}")
assert math.isclose(final_loss["full matrix", 0], final_loss["full matrix", 45], rel_tol=1e-6), \
    "the full-matrix method should not notice the rotation"
assert final_loss["diagonal (RMSProp M_t)", 45] > 5 * final_loss["diagonal (RMSProp M_t)", 0], \
    "the diagonal method should do worse on the rotated valley"

# %% [markdown]
# Gradient descent ends lowest after 200 steps, without contradicting the picture. Its step
# $\alpha = 1$ is the largest stable one for curvature 1, and its steps shrink with the gradient,
# so it keeps creeping down the flat direction (a factor 0.99 per step) and is the slowest to
# reach $f < 10^{-3}$. The adaptive methods take steps of about $\alpha = 0.05$ whatever the
# gradient's size: they get there in less than half the steps (when the valley suits them), then jitter
# in the gradient noise at a loss set by their step size. A decaying learning rate would lower
# that floor. The point of the figure is the rotation: it changes nothing for gradient descent
# and the full-matrix method, and costs the diagonal method most of its advantage.

# %% [markdown]
# ## Summary
#
# * Adaptive methods are preconditioned gradient descent, $\theta_t = \theta_{t-1} - \alpha M_t g_t$;
#   for bias-corrected RMSProp,
#   $M_t = \big[\frac{1-\beta_2}{1-\beta_2^t}\mathrm{Diag}(\mathrm{diag}(G_t(\beta_2)))\big]^{-1/2}$.
# * `torch.optim.RMSprop` omits the bias correction: its early steps are larger by $1/\sqrt{1-\beta_2^t}$.
# * An L2 term is multiplied by $M_t$ along with the loss gradient, so unless $M_t = kI$ it is not weight
#   decay (Proposition 2).
# * With a fixed SPD preconditioner, weight decay equals an L2 penalty in the metric $M^{-1}$
#   (Proposition 3): decay pulls weights with large historical gradients harder than L2 does, or,
#   put the other way, L2 inside Adam under-regularizes exactly those weights.
# * Full-matrix AdaGrad/GGT use all of $G_t$ and are rotation-equivariant; RMSProp and Adam keep its
#   diagonal, cheap but tied to the coordinate axes.
#
# Notebook 03 takes these conclusions to Adam: Adam + L2 against AdamW, and what the difference does to
# the landscape of good learning rates and weight decays.
