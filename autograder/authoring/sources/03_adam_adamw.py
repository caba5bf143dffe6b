"""Source of notebook 03: Adam, Adam + L2, AdamW and the (lr, weight decay) landscape.

Percent format, read by autograder/authoring/percent.py (its docstring describes the cell
kinds): each `# %%` line starts a notebook cell. Build the notebook with

    python -m autograder.authoring.percent 03_adam_adamw

which writes solutions/<assignment>/03_adam_adamw.ipynb.
"""

# %% [markdown]
# # 03 · Adam, Adam + L2 and AdamW
#
# This notebook finishes the story of the first two. You will
#
# 1. implement Adam exactly as written in the problem set (Algorithm 3) and check it against `torch.optim.Adam`;
# 2. add an L2 penalty to it (what `torch.optim.Adam(weight_decay=...)` does) and, separately, decoupled weight decay (AdamW in the form of Loshchilov & Hutter, 2019);
# 3. train a small network with each of your three rules, next to the `torch.optim` optimizer that should match it;
# 4. map validation accuracy and loss over a grid of learning rate × weight decay for Adam + L2 and for AdamW, with your own update rules, on a network whose normalization layers make the paper's finding visible, and measure the shape of the good region;
# 5. untangle the two conventions for "weight decay" in AdamW (the paper's and PyTorch's) and the timescale $\tau = 1/(\text{lr}\cdot\text{wd})$;
# 6. (extension) cosine annealing with warm restarts, normalized weight decay and AdamWR.
#
# Graded functions: `adam_step`, `adam_l2_step`, `adamw_step`, `cosine_warm_restarts`, plus written answers.
# Replace each `raise NotImplementedError(...)` with your code and run the check cell under it. The visible checks are only part of the grading: hidden tests run longer trajectories, both float32 and float64, tensor hyperparameters and edge cases.
#
# **Course rule signature.** Every update rule is a pure function
# `rule(theta, grad, state, t, **hyperparameters) -> (new_theta, new_state)`:
# `state` is a dict of tensors shaped like `theta` (all zeros before the first step), `t` is the step number starting at 1, and the hyperparameters are floats *or tensors that broadcast against* `theta`. Do not modify the inputs in place (no `+=`, `mul_`, ...), and do not call `torch.optim`: write the arithmetic yourself. Because hyperparameters may be tensors of shape `[G, 1]`, the same function will later train a whole grid of configurations at once.
#
# **Notation.** $g_t$ minibatch gradient at $\theta_{t-1}$; $\alpha$ learning rate (`lr`); $\eta_t$ schedule multiplier (`eta`, 1 unless a schedule is used); $\lambda'$ L2 coefficient (`l2`); $w$ decay factor (`wd`).

# %% setup
import math
import time

import matplotlib.pyplot as plt

import wdlab
from data_gen import make_classification
from wdlab.landscape import LandscapeSettings, paper_landscape, slopes

DEVICE = wdlab.resolve_device("auto")

# %% [markdown]
# ## 1 · Adam
#
# Adam keeps two exponential moving averages per coordinate, of the gradient and of its square, corrects both for their zero initialization, and divides one by the root of the other:
#
# $$
# \begin{aligned}
# m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, &\qquad \hat m_t &= m_t / (1-\beta_1^t),\\
# v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, &\qquad \hat v_t &= v_t / (1-\beta_2^t),\\
# \theta_t &= \theta_{t-1} - \eta_t\,\alpha\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}. &&
# \end{aligned}
# $$
#
# All operations are elementwise. Defaults: $\alpha = 10^{-3}$, $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$. Two details decide whether your numbers match a library to the last digit: $\epsilon$ is added **outside** the square root, and **after** the bias correction.
#
# A useful sanity check: at $t = 1$, $\hat m_1 = g_1$ and $\sqrt{\hat v_1} = |g_1|$, so the first step moves every coordinate by almost exactly $\alpha$ against the sign of its gradient, whatever the gradient's size.
#
# Implement `adam_step`; return the new parameters and the new state `{"m": m_t, "v": v_t}` (the raw averages, not the corrected ones).

# %% solution
def adam_step(theta, grad, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
    """One Adam step (problem set, Algorithm 3) for parameters `theta` and gradient `grad`.

    state: {"m": first moment, "v": second moment}, zeros before the first step; t starts at 1.
    Hyperparameters may be floats or tensors broadcasting against theta.
    Returns (new_theta, {"m": new_m, "v": new_v}).
    """
    ### BEGIN SOLUTION
    m = beta1 * state["m"] + (1 - beta1) * grad
    v = beta2 * state["v"] + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return theta - eta * lr * m_hat / (v_hat.sqrt() + eps), {"m": m, "v": v}
    ### END SOLUTION

# %% tests adam_step
# Visible checks: the first step, the state, no in-place changes, and torch.optim.Adam.
theta = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
grad = torch.tensor([1e-3, -5.0, 2e3, 0.0], dtype=torch.float64)
zeros = {"m": torch.zeros_like(theta), "v": torch.zeros_like(theta)}
new_theta, new_state = adam_step(theta, grad, zeros, 1, lr=0.01)
assert set(new_state) == {"m", "v"}, "return the state as {'m': ..., 'v': ...}"
assert torch.allclose(new_state["m"], 0.1 * grad) and torch.allclose(new_state["v"], 0.001 * grad ** 2), \
    "state must hold the raw (not bias-corrected) moving averages"
assert torch.allclose(new_theta, theta - 0.01 * torch.sign(grad), atol=1e-7), \
    "at t = 1 every coordinate with a nonzero gradient moves by lr against its gradient's sign"
assert torch.equal(zeros["m"], torch.zeros_like(theta)), "do not modify the state in place"

# Against torch.optim.Adam on a few steps of a quadratic (theta starts as a copy).
p = torch.nn.Parameter(torch.linspace(-1, 1, 5, dtype=torch.float64))
opt = torch.optim.Adam([p], lr=0.05, betas=(0.8, 0.99), eps=1e-8)
mine, state = p.detach().clone(), {"m": torch.zeros(5, dtype=torch.float64), "v": torch.zeros(5, dtype=torch.float64)}
for t in range(1, 6):
    opt.zero_grad()
    (p ** 2 * torch.arange(1.0, 6.0, dtype=torch.float64)).sum().backward()
    g = p.grad.clone()
    opt.step()
    mine, state = adam_step(mine, g, state, t, lr=0.05, beta1=0.8, beta2=0.99)
    assert torch.allclose(mine, p.detach(), rtol=1e-10, atol=1e-12), f"differs from torch.optim.Adam at step {t}"
print("adam_step: visible checks passed")
### BEGIN HIDDEN TESTS
from autograder.reference.checks import check_rule
# Trajectories against the reference: float32/float64, CPU/CUDA, t = 1, tiny and huge gradients,
# a varying eta_t, lr as a [3, 1] tensor; no in-place changes, no torch.optim.
check_rule(adam_step, "adam", lr=(1e-4, 0.3), beta1=(0.5, 0.99), beta2=(0.9, 0.9999), eps=(1e-10, 1e-6))
check_rule(adam_step, "adam", steps=20, seed=1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
### END HIDDEN TESTS

# %% [markdown]
# ## 2 · Adam + L2
#
# The usual way to regularize Adam is to add $\frac{\lambda'}{2}\lVert\theta\rVert^2$ to the loss, which adds $\lambda'\theta_{t-1}$ to the gradient **before** it enters the moving averages:
#
# $$ g_t \leftarrow \nabla f_t(\theta_{t-1}) + \lambda'\theta_{t-1}, \qquad \text{then Adam as above.}$$
#
# This is exactly what `torch.optim.Adam(..., weight_decay=λ')` does, despite the argument's name. Implement `adam_l2_step` (you may call your `adam_step`).

# %% solution
def adam_l2_step(theta, grad, state, t, lr, l2, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
    """One step of Adam on f + (l2 / 2) ||theta||^2: the penalty's gradient joins `grad`
    before the moments. Returns (new_theta, {"m": ..., "v": ...})."""
    ### BEGIN SOLUTION
    return adam_step(theta, grad + l2 * theta, state, t, lr, beta1=beta1, beta2=beta2, eps=eps, eta=eta)
    ### END SOLUTION

# %% tests adam_l2_step
# Visible checks: l2 = 0 is Adam; torch.optim.Adam(weight_decay=l2) is Adam + L2.
theta = torch.randn(6, dtype=torch.float64)
grad = torch.randn(6, dtype=torch.float64)
zeros = {"m": torch.zeros(6, dtype=torch.float64), "v": torch.zeros(6, dtype=torch.float64)}
a, _ = adam_l2_step(theta, grad, zeros, 1, lr=0.01, l2=0.0)
b, _ = adam_step(theta, grad, zeros, 1, lr=0.01)
assert torch.allclose(a, b), "with l2 = 0, Adam + L2 must be Adam"
_, st = adam_l2_step(theta, grad, zeros, 1, lr=0.01, l2=0.5)
assert torch.allclose(st["m"], 0.1 * (grad + 0.5 * theta)), "the penalty's gradient must enter the first moment"

p = torch.nn.Parameter(torch.linspace(-2, 2, 5, dtype=torch.float64))
opt = torch.optim.Adam([p], lr=0.05, weight_decay=0.3)
mine, state = p.detach().clone(), dict(zeros, m=torch.zeros(5, dtype=torch.float64), v=torch.zeros(5, dtype=torch.float64))
for t in range(1, 6):
    opt.zero_grad()
    (torch.sin(p) * torch.arange(1.0, 6.0, dtype=torch.float64)).sum().backward()
    g = p.grad.clone()
    opt.step()
    mine, state = adam_l2_step(mine, g, state, t, lr=0.05, l2=0.3)
    assert torch.allclose(mine, p.detach(), rtol=1e-10, atol=1e-12), \
        f"differs from torch.optim.Adam(weight_decay=0.3) at step {t}"
print("adam_l2_step: visible checks passed")
### BEGIN HIDDEN TESTS
from autograder.reference.checks import check_rule
# As for adam_step, plus l2 = 0 once and l2 as a [3, 1] tensor.
check_rule(adam_l2_step, "adam_l2", lr=(1e-4, 0.3), l2=(1e-4, 2.0), beta1=(0.5, 0.99), beta2=(0.9, 0.9999),
           eps=(1e-10, 1e-6))
### END HIDDEN TESTS

# %% [markdown]
# ### How much does L2 actually decay a weight inside Adam?
#
# Write the Adam + L2 step as "gradient part + penalty part". Ignoring momentum for a moment ($\beta_1 = 0$), the penalty contributes $-\alpha\,\lambda'\theta_{t-1} / (\sqrt{\hat v_t}+\epsilon)$: the shrinkage is divided by the same per-coordinate scale as the gradient. Notebook 2 showed that no single L2 coefficient turns a non-scalar preconditioner into uniform decay (Proposition 2), and that decay equals a *scale-adjusted* L2 penalty (Proposition 3). The next cell makes this concrete: two coordinates with the same weight, one with small and one with large gradients.

# %%
# Two coordinates, same weight 1.0; gradients of typical size 0.01 and 10.
theta = torch.tensor([1.0, 1.0], dtype=torch.float64)
torch.manual_seed(0)
grads = torch.randn(200, 2, dtype=torch.float64) * torch.tensor([0.01, 10.0], dtype=torch.float64)
lr, l2 = 1e-3, 1e-2
state = {"m": torch.zeros(2, dtype=torch.float64), "v": torch.zeros(2, dtype=torch.float64)}
for t, g in enumerate(grads, start=1):
    state_before = state
    theta_l2, state = adam_l2_step(theta, g, state_before, t, lr=lr, l2=l2)
# Decay rate per step that the penalty alone causes: lr * l2 / (sqrt(v_hat) + eps).
v_hat = state["v"] / (1 - 0.999 ** len(grads))
print("per-step decay from L2 inside Adam:", (lr * l2 / (v_hat.sqrt() + 1e-8)).tolist())
print("per-step decay of decoupled weight decay with w = lr * l2:", [lr * l2] * 2)

# %% [markdown]
# **Question 1 (2 points).** Use the numbers above. Which of the two weights does L2 regularize more inside Adam, by roughly what factor, and why? What does decoupled weight decay do instead, and why is that closer to what we want from a regularizer?

# %% [markdown] answer l2_inside_adam points=2
# With $\beta_1 = 0$ the penalty moves a coordinate by $\alpha\lambda'\theta/(\sqrt{\hat v}+\epsilon)$ per step, so its decay rate is $\alpha\lambda'/\sqrt{\hat v}$: inversely proportional to the coordinate's typical gradient size. The coordinate with gradients of size 0.01 is decayed about $10/0.01 = 10^3$ times faster than the one with gradients of size 10 (the printed rates are about $10^{-3}$ and $10^{-6}$ per step). Inside Adam, L2 therefore barely touches exactly the weights with large or frequent gradients, and decays the rarely-updated ones strongly, so its strength is neither uniform nor controlled by $\lambda'$ alone. Decoupled decay shrinks every weight by the same fraction $\eta_t w$ per step, independent of the gradient history (the scale-adjusted penalty of Proposition 3), which is what "prefer small weights" means and keeps the regularization strength a single, interpretable number.

# %% [markdown] mark_scheme l2_inside_adam
# - 1 pt: the L2 shrinkage is divided by $\sqrt{\hat v}+\epsilon$; the small-gradient coordinate is decayed more, by a factor ~$10^3$ (ratio of gradient scales), consistent with the printed numbers.
# - 1 pt: decoupled decay shrinks all weights by the same fraction per step, independent of gradient history; weights with large gradients are under-regularized by L2 in Adam.

# %% [markdown]
# ## 3 · AdamW: decay outside the adaptive step
#
# Loshchilov & Hutter (Algorithm 2 of the paper) keep the loss unregularized, run Adam on the plain gradient, and shrink the weights directly:
#
# $$\theta_t = \theta_{t-1} - \eta_t\left(\alpha\,\frac{\hat m_t}{\sqrt{\hat v_t}+\epsilon} + w\,\theta_{t-1}\right).$$
#
# The decay $w\theta_{t-1}$ never enters $m_t$ or $v_t$, is not divided by $\sqrt{\hat v_t}$, and is **not** multiplied by the learning rate $\alpha$, only by the schedule multiplier $\eta_t$. This is the form this course grades.
#
# `torch.optim.AdamW` writes the decay as $\theta \leftarrow \theta\,(1 - \text{lr}\cdot\text{wd})$, multiplied by the learning rate. With a constant schedule the two agree when `lr` $= \alpha$ and `weight_decay` $= w/\alpha$: the check below uses that conversion (Section 6 comes back to it).
#
# Implement `adamw_step`.

# %% solution
def adamw_step(theta, grad, state, t, lr, wd, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
    """One AdamW step in the paper's form:
    theta - eta * (lr * m_hat / (sqrt(v_hat) + eps) + wd * theta); the moments see only `grad`.
    Returns (new_theta, {"m": ..., "v": ...})."""
    ### BEGIN SOLUTION
    stepped, new_state = adam_step(theta, grad, state, t, lr, beta1=beta1, beta2=beta2, eps=eps, eta=eta)
    return stepped - eta * wd * theta, new_state
    ### END SOLUTION

# %% tests adamw_step
# Visible checks: wd = 0 is Adam; zero gradient -> pure decay; torch.optim.AdamW with wd / lr.
theta = torch.randn(6, dtype=torch.float64)
grad = torch.randn(6, dtype=torch.float64)
zeros = {"m": torch.zeros(6, dtype=torch.float64), "v": torch.zeros(6, dtype=torch.float64)}
a, _ = adamw_step(theta, grad, zeros, 1, lr=0.01, wd=0.0)
b, _ = adam_step(theta, grad, zeros, 1, lr=0.01)
assert torch.allclose(a, b), "with wd = 0, AdamW must be Adam"
a, st = adamw_step(theta, torch.zeros(6, dtype=torch.float64), zeros, 1, lr=0.01, wd=0.1, eta=0.5)
assert torch.allclose(a, theta * (1 - 0.5 * 0.1)), "with a zero gradient the step is a pure decay by eta * wd"
assert torch.equal(st["m"], torch.zeros(6, dtype=torch.float64)), "the decay must not enter the moments"

lr, w = 0.05, 0.02
p = torch.nn.Parameter(torch.linspace(-2, 2, 5, dtype=torch.float64))
opt = torch.optim.AdamW([p], lr=lr, weight_decay=w / lr)
mine, state = p.detach().clone(), {"m": torch.zeros(5, dtype=torch.float64), "v": torch.zeros(5, dtype=torch.float64)}
for t in range(1, 6):
    opt.zero_grad()
    (torch.sin(p) * torch.arange(1.0, 6.0, dtype=torch.float64)).sum().backward()
    g = p.grad.clone()
    opt.step()
    mine, state = adamw_step(mine, g, state, t, lr=lr, wd=w)
    assert torch.allclose(mine, p.detach(), rtol=1e-10, atol=1e-12), \
        f"differs from torch.optim.AdamW(lr={lr}, weight_decay={w}/{lr}) at step {t}"
print("adamw_step: visible checks passed")
### BEGIN HIDDEN TESTS
from autograder.reference.checks import check_rule
# The decay must not be scaled by lr (PyTorch's convention, not the paper's): a clear message first.
_ones, _zero = torch.ones(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
_new, _ = adamw_step(_ones, _zero, {"m": _zero, "v": _zero}, 1, lr=0.5, wd=0.1)
assert torch.allclose(_new, 0.9 * _ones), "AdamW (paper form) decays by eta * wd, independent of lr"
# As for adam_step, plus wd = 0 once and wd as a [3, 1] tensor.
check_rule(adamw_step, "adamw_paper", lr=(1e-4, 0.3), wd=(1e-4, 0.1), beta1=(0.5, 0.99), beta2=(0.9, 0.9999),
           eps=(1e-10, 1e-6))
### END HIDDEN TESTS

# %% [markdown]
# ## 4 · Your rules train a network, next to `torch.optim`
#
# `wdlab.train(rule, data, ...)` trains a small MLP (inputs → 64 → 64 → classes, ReLU, cross-entropy) with **any** function of the course signature: here, yours. `wdlab.train_torch(make_optimizer, data, ...)` trains the same network from the same initial weights on the same minibatches with a `torch.optim` optimizer. If your rule is right the curves lie on top of each other.
#
# The data come from `data_gen.make_classification`: 4 classes of Gaussian clusters, with a difficulty knob (`"easy"`, `"medium"`, `"hard"`) that changes the cluster separation, the share of flipped labels and the number of pure-noise features.

# %% experiment
data = make_classification(difficulty="medium", seed=0, device=DEVICE)
lr, l2, w = 3e-3, 1e-2, 1e-3
common = dict(steps=200, batch_size=100, seed=0, eval_every=20)
runs = {
    "Adam": (wdlab.train(adam_step, data, lr=lr, **common),
             wdlab.train_torch(lambda p: torch.optim.Adam(p, lr=lr), data, **common)),
    f"Adam + L2 (l2={l2})": (wdlab.train(adam_l2_step, data, lr=lr, l2=l2, **common),
                             wdlab.train_torch(lambda p: torch.optim.Adam(p, lr=lr, weight_decay=l2), data, **common)),
    f"AdamW (w={w})": (wdlab.train(adamw_step, data, lr=lr, wd=w, **common),
                       wdlab.train_torch(lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=w / lr), data, **common)),
}
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), sharey=True)
for ax, (name, (mine, ref)) in zip(axes, runs.items()):
    ax.plot(np.arange(1, len(mine.train_loss) + 1), mine.train_loss, lw=0.8, alpha=0.6, label="train, your rule")
    ax.plot(mine.steps, mine.val_loss, "o-", label="validation, your rule")
    ax.plot(ref.steps, ref.val_loss, "x--", color="k", label="validation, torch.optim")
    ax.set(title=name, xlabel="step", yscale="log")
    gap = np.abs(mine.val_loss - ref.val_loss).max()
    print(f"{name:22s} final val acc {mine.val_acc[-1]:.3f} (torch {ref.val_acc[-1]:.3f}); "
          f"largest val-loss gap {gap:.1e}")
axes[0].set_ylabel("cross-entropy")
axes[0].legend(fontsize=8)
fig.suptitle("Your update rules and torch.optim, same network, data and minibatches")
plt.show()

# %% [markdown]
# In float32 the two implementations round differently, so tiny gaps (around $10^{-6}$ to $10^{-4}$) that grow slowly over the run are expected; a gap of order 0.1 means a different algorithm.

# %% [markdown]
# ## 5 · The hyperparameter landscape: Adam + L2 against AdamW
#
# We now train a whole grid of (learning rate, regularization) pairs with **your** rules and record the final validation accuracy and loss of each: the experiment of the paper's Figure 2, on our data. `wdlab.sweep(rule, data, grid={...})` trains every configuration at once: it passes each hyperparameter as a tensor of shape `[G, 1]`, one row per configuration, which your rules broadcast because they are written with tensor arithmetic. `paper_landscape` (from `wdlab.landscape`) prepares the network, the data and the two grids, and calls `wdlab.sweep` once per rule.
#
# **Why the network has normalization layers.** The paper's finding was measured on ResNets, which use batch normalization. A normalization layer makes the network *scale invariant* in the weights in front of it: multiply them by any $c > 0$ and the output does not change, so only their *direction* matters. For such weights the loss gradient is orthogonal to $\theta$ and shrinks like $1/\lVert\theta\rVert$, and a step of a given size turns the direction by an angle of about $\lVert\Delta\theta\rVert / \lVert\theta\rVert$. Weight decay then does not pull the network towards "simpler" functions at all: by keeping $\lVert\theta\rVert$ small it sets the **effective step size**, the angle the weights turn per step. Our landscape network gets the same property from LayerNorm after each hidden layer (weights and bias of a layer rescale together) and a fixed random output layer (it keeps its initial weights, so every trained weight is scale invariant).
#
# **Where the weight norm settles.** Adam moves each of the $d$ coordinates of a layer by about $\alpha$ per step, mostly orthogonally to $\theta$, so $\lVert\theta\rVert^2$ grows by about $\alpha^2 d$ per step; decay removes a fraction of it. The two balance at an equilibrium norm, and the angular step there is what the run feels:
#
# | rule | decay per step | equilibrium $\lVert\theta\rVert^2$ | angular step per coordinate, $\alpha/\lVert\theta\rVert$ | good region |
# |---|---|---|---|---|
# | AdamW, paper form | $w\,\theta$ | $\alpha^2 d/(2w)$ | $\sqrt{2w/d}$: no $\alpha$ | fixed $w$: slope 0 (axis-aligned) |
# | AdamW, PyTorch form | $\alpha\,\text{wd}\,\theta$ | $\alpha\, d/(2\,\text{wd})$ | $\sqrt{2\alpha\,\text{wd}/d}$ | fixed $\alpha\cdot\text{wd}$: slope $-1$ |
# | Adam + L2 | $\lambda'\theta$, divided by $\sqrt{\hat v_t}$ like the gradient | grows with $\alpha$, shrinks with $\lambda'$ | a function of $\alpha^2\lambda'$ | fixed $\alpha^2\lambda'$: slope about $-2$ (diagonal) |
#
# (For Adam + L2 the penalty's gradient $\lambda'\theta$ goes through Adam's normalization together with the loss gradient, which for scale-invariant weights shrinks like $1/\lVert\theta\rVert$. When the loss gradient dominates $\sqrt{\hat v_t}$, the balance gives $\lVert\theta\rVert^3 \propto \alpha/\lambda'$ and an angular step $\propto (\alpha^2\lambda')^{1/3}$; when the penalty dominates, the exponents change but $\alpha$ and $\lambda'$ still enter only through $\alpha^2\lambda'$.)
#
# **Grids fitted to the run.** The norm only reaches its equilibrium if the run is longer than the decay's time scale, about $1/w$ steps. So the AdamW grid puts $w\times\text{steps}$ between about 0.6 and 60, and the learning rates start at $10^{-3}$: below that, 200 steps of size $\alpha$ cannot move weights of size about 0.1 per coordinate, and such runs would be unfinished rather than badly tuned.
#
# **The measurement.** For each learning rate we locate the best regularization value (a weighted centre of the settings whose validation loss is within a few percent of that column's best, so one noisy cell does not move it) and fit a line to log(best decay) against log(learning rate). That **slope** is printed in each heatmap's title and by `summary`: $0$ means the decay can be tuned on its own, $-1$ that the product $\alpha\cdot$decay is what matters, $-2$ that $\alpha^2\cdot$decay is. We measure it on the validation loss: with 1000 validation points the accuracy moves by about 0.01 from noise alone, while the loss is smooth.
#
# Change `DIFFICULTY` to `"easy"` or `"hard"` to change the data (the questions below ask you to).

# %%
DIFFICULTY = "medium"      # the difficulty knob: "easy", "medium" or "hard"
THRESHOLD = 0.90           # a setting is "good" when its validation accuracy reaches this
SETTINGS = LandscapeSettings()          # LayerNorm MLP, fixed readout, 8 x 8 grids, 200 steps
QUICK = SETTINGS.with_(grid_size=6)     # 6 x 6 grids for the later comparisons (cost ~ cells)
MY_RULES = (adam_l2_step, adamw_step)   # your Adam + L2 and your AdamW (paper form)
landscapes = {}                         # difficulty -> the two sweeps, filled by the cells below

for name in ("adam_l2", "adamw_paper"):
    grid = SETTINGS.grid(name)
    print(f"{SETTINGS.axes[name].label:14s}", ", ".join(f"{k} from {v[0]:.0e} to {v[-1]:.0e}" for k, v in grid.items()))


def summary(results, threshold=THRESHOLD):
    # Best accuracy, share of settings above the threshold, lowest loss and the coupling slope.
    measured = slopes(results)
    for name, r in results.items():
        best = ", ".join(f"{k}={v:.2g}" for k, v in r.best("val_loss").items())
        print(f"{name:18s} best val acc {np.nanmax(r.val_acc):.3f}; "
              f"{np.mean(r.val_acc >= threshold):4.0%} of settings reach {threshold:.0%}; "
              f"lowest val loss {np.nanmin(r.val_loss):.3f} ({best}); slope {measured[name]:+.2f}")

# %% experiment
start = time.perf_counter()
results = landscapes[DIFFICULTY] = paper_landscape("adam", difficulty=DIFFICULTY, rules=MY_RULES,
                                                   settings=SETTINGS, device=DEVICE)
print(f"{2 * SETTINGS.grid_size ** 2} training runs in {time.perf_counter() - start:.1f} s")
wdlab.plots.heatmaps(results, metric=["val_acc", "val_loss"], threshold=THRESHOLD, soft=True)
plt.show()
summary(results)

# %% [markdown]
# **Question 2 (2 points).** Compare the two accuracy maps: what is alike, what differs (position and shape of the good region, what happens at large regularization)? Then compare the two loss maps in the same way. Why can the loss maps look different from the accuracy maps?

# %% [markdown] answer heatmaps_compare points=2
# *(Model answer for the medium data and the grids above; the numbers are printed by the summary cell.)*
#
# Alike: both methods reach about the same best validation accuracy (about 0.945 for Adam + L2 and 0.936 for AdamW: within the noise of 1000 validation points) and a similar lowest validation loss (0.33 and 0.34); in both maps the smallest learning rate does a little worse, because 200 steps of size $10^{-3}$ hardly move the weights, and too much regularization hurts.
#
# Different: the *shape* of the good region, that is, where regularization starts to hurt. For Adam + L2 that edge runs diagonally: at $\alpha = 10^{-3}$ even $\lambda' = 1$ is harmless, at $\alpha = 10^{-1}$ the accuracy already drops for $\lambda' \geq 10^{-2}$ and the loss rises above $\lambda' \approx 10^{-3}$, so the tolerable $\lambda'$ falls steeply as $\alpha$ grows (measured slope about $-1.7$ on the loss, the $\alpha^2\lambda'$ diagonal). For AdamW the edge is horizontal: $w$ up to a few $10^{-2}$ is fine and $w \gtrsim 0.1$ costs a few percent of accuracy at *every* learning rate (slope about $0$), so learning rate and decay can be tuned separately.
#
# The loss maps show this more sharply than the accuracy maps: accuracy only records which side of the decision boundary a point falls on, so it saturates on a broad plateau (83% and 69% of the settings reach 90%), while the cross-entropy also measures how confident the predictions are and keeps varying across the plateau. That is why the best setting and the slope are read from the loss; the accuracy slopes point the same way (about $-1.2$ and $0$) but are noisier.

# %% [markdown] mark_scheme heatmaps_compare
# - 1 pt: accuracy maps compared with at least one correct similarity (similar best accuracy; small learning rates underfit; too much regularization fails) and the difference in shape: a diagonal good region for Adam + L2, an axis-aligned one for AdamW, consistent with the student's plots and slopes.
# - 1 pt: loss maps compared; explains why they can differ (loss measures confidence/calibration and keeps varying where accuracy has saturated; accuracy is noisier on 1000 points).
# - Accept any answer that is consistent with the student's own heatmaps and printed numbers.

# %% [markdown]
# ### Harder or easier data
#
# The next cell redraws the maps for another difficulty on 6 × 6 grids (change `OTHER` to `"easy"` if you like; `"hard"` flips 15% of the labels, shrinks the class separation and adds 10 pure-noise features).

# %% experiment
OTHER = "hard"
OTHER_THRESHOLD = 0.8 if OTHER == "hard" else THRESHOLD   # label noise caps hard data near 0.85
other = landscapes[OTHER] = paper_landscape("adam", difficulty=OTHER, rules=MY_RULES, settings=QUICK,
                                            device=DEVICE)
wdlab.plots.heatmaps(other, metric=["val_acc", "val_loss"], threshold=OTHER_THRESHOLD, soft=True)
plt.show()
summary(other, threshold=OTHER_THRESHOLD)

# %% [markdown]
# **Question 3 (2 points).** How do the maps change with the data's difficulty, for each method, and compared with the medium data above?

# %% [markdown] answer difficulty points=2
# On the hard data every score is lower: the best accuracy falls to about 0.85 for both methods (15% flipped labels cap it there), so the 90% threshold is never met and 80% is used instead; the lowest validation loss rises from about 0.33 to about 0.61. The shapes survive the change: Adam + L2 stays diagonal (slope about $-1.6$) and AdamW stays axis-aligned (about $-0.1$), so the difference between the two methods is a property of the optimizer, not of the data. What moves is the optimum: on noisy data the best runs use the largest learning rate ($10^{-1}$) and, for AdamW, a larger decay (about $7.5\times10^{-3}$ against $3\times10^{-3}$), and too much regularization costs more (the top rows fall well below the threshold); 72% (Adam + L2) and 61% (AdamW) of the settings reach 80%. On easy data almost every setting reaches 99% accuracy, the accuracy maps are flat and the two methods cannot be told apart by accuracy; the loss maps still show the two shapes.

# %% [markdown] mark_scheme difficulty
# - 1 pt: describes the change in overall level (best accuracy/loss) and in the size of the good region with difficulty, consistent with the student's plots and numbers.
# - 1 pt: compares the two methods across difficulties (shapes/slopes kept or changed; accuracy maps flat on easy data; which regularization the optimum needs).

# %% [markdown]
# **Question 4 (2 points).** What do these maps suggest about tuning each optimizer? Report the best validation accuracy of each and the share of settings above the threshold (from the printed summary), and say whether the difference in best accuracy matters more or less than the difference in how the good region is shaped.

# %% [markdown] answer tuning points=2
# On the medium data Adam + L2 reaches a best validation accuracy of about 0.945 with 83% of the settings above 90%; AdamW reaches 0.936 with 69%. These differences are within what another seed or a finer grid changes; with such a generous threshold both maps are mostly "good". What matters for tuning is the shape. For AdamW the best $w$ is the same for every learning rate, so one can tune $\alpha$ with $w$ fixed and then $w$ with $\alpha$ fixed: two one-dimensional searches, and a later change of learning rate needs no new search for $w$. For Adam + L2 the two are coupled along $\alpha^2\lambda' \approx$ const: every change of the learning rate moves the best $\lambda'$ (doubling $\alpha$ asks for about a quarter of $\lambda'$), so the search has to be two-dimensional or follow the diagonal, and a grid search that fixes $\lambda'$ first picks it for the wrong learning rate. The difference in shape matters more than the small difference in the best accuracy.

# %% [markdown] mark_scheme tuning
# - 1 pt: best accuracy and share above threshold reported for both methods, matching the student's printed numbers.
# - 1 pt: a tuning conclusion tied to the shape of the good region (separable for AdamW: tune one at a time; coupled for Adam + L2: move lambda' when lr moves), consistent with the maps.

# %% [markdown]
# ## 6 · The paper's headline, measured
#
# The paper's Figure 2 (a ResNet on CIFAR-10) shows the good region of Adam + L2 as a diagonal in the (learning rate, L2) plane and that of AdamW as axis-aligned. The slopes of the two landscapes above, on both metrics:

# %% experiment
for label, res in landscapes.items():
    for metric in ("val_loss", "val_acc"):
        found = ", ".join(f"{name} {value:+.2f}" for name, value in slopes(res, metric=metric).items())
        print(f"{label:6s} data, {metric:8s}: slope of best log-decay vs log-lr: {found}")

# %% [markdown]
# On the validation loss Adam + L2 comes out between $-1.5$ and $-2$ (the $\alpha^2\lambda'$ diagonal of Section 5) and the paper's AdamW within about $0.1$ of zero: the paper's finding, reproduced with your rules on a small network. The accuracy slopes point the same way but are noisier.
#
# **Without scale invariance the picture is different.** The next cell runs the same two sweeps on the plain MLP (no LayerNorm, output layer trained). There the *size* of the weights changes the function itself, and nothing reduces decay to an effective step size. For AdamW the decay $w\theta$ balances an Adam step of about $\alpha$ per coordinate when $|\theta| \approx \alpha / w$, so keeping the weights at a useful size asks for a $w$ that grows with $\alpha$: a *positive* slope (at most $+1$). For Adam + L2 the argument behind the $\alpha^2\lambda'$ diagonal no longer holds at all.

# %% experiment
PLAIN = QUICK.with_(layer_norm=False, fixed_readout=False)
plain = paper_landscape("adam", difficulty=DIFFICULTY, rules=MY_RULES, settings=PLAIN, device=DEVICE)
wdlab.plots.heatmaps(plain, metric="val_loss", threshold=None, soft=True)
plt.show()
summary(plain)

# %% [markdown]
# On the plain MLP both slopes come out positive (on the medium data, about $+0.9$ for Adam + L2 and $+0.7$ for AdamW; other seeds and the hard data give $+0.8$ to $+1.0$ and $+0.5$ to $+0.7$). AdamW's good band climbs with the learning rate, as the size argument predicts. Adam + L2 now behaves like a regularizer of the function: $\lambda' = 1$ is too much at every learning rate (a horizontal edge: the minimizer of $f + \frac{\lambda'}{2}\lVert\theta\rVert^2$ does not involve $\alpha$), and at large learning rates too little L2 lets the validation loss climb, so the best $\lambda'$ rises with $\alpha$ instead of falling. Both methods still reach the same best accuracy; only the geometry of the good region changed. So "decoupled decay makes learning rate and decay separable" is a statement about networks whose weights are scale invariant (batch normalization, LayerNorm, weight normalization), which covers the paper's ResNets and most modern architectures; it is not a law for every model.

# %% [markdown]
# ## 7 · One number, two meanings: the paper's AdamW and PyTorch's
#
# | implementation | decay applied per step | relation to the paper's $w$ |
# |---|---|---|
# | paper (Loshchilov & Hutter), this course's `adamw_step` | $\eta_t\, w\,\theta$ | — |
# | `torch.optim.AdamW(lr, weight_decay)` | $\text{lr}_t\cdot\text{weight\_decay}\cdot\theta$ | weight_decay $= w/\alpha$ (constant schedule) |
# | optax `adamw(learning_rate, weight_decay)` | same as PyTorch: multiplied by the learning rate | weight_decay $= w/\alpha$ |
# | MosaicML `DecoupledAdamW(lr, weight_decay)` | $(\text{lr}_t/\text{lr}_0)\cdot\text{weight\_decay}\cdot\theta$ | weight_decay $= w$ (the schedule multiplier $\eta_t$ is $\text{lr}_t/\text{lr}_0$) |
#
# So `weight_decay=0.01` in PyTorch with `lr=1e-3` decays the weights by $10^{-5}$ per step, while `weight_decay=0.01` in MosaicML decays them by $10^{-2}$ per step: a thousand times more. Moving a configuration between libraries without converting is a classic bug.
#
# In PyTorch's convention the weights are an exponential moving average of the updates with the **timescale** $\tau = 1/(\text{lr}\cdot\text{wd})$ steps (Wang & Aitchison, 2024): the weights "forget" updates older than about $\tau$ steps. In the paper's convention $\tau = 1/w$ does not involve the learning rate. By Section 5's table, PyTorch's angular step $\sqrt{2\,\text{lr}\cdot\text{wd}/d}$ is fixed by $\tau$ too, so its good region should follow $\text{lr}\cdot\text{wd} = $ const: a diagonal of slope $-1$.
#
# The next cell trains PyTorch's convention with *your* `adamw_step`: the wrapper passes $w = \text{lr}\cdot\text{wd}$. Its `wd` grid is chosen so that the band of useful decay rates per step, $\text{lr}\cdot\text{wd}$, crosses it. Dotted lines mark constant $\tau$ (20, 200 and 2000 steps, for a run of 200); blank cells diverged: beyond $\text{lr}\cdot\text{wd} = 2$ the "decay" factor $1 - \text{lr}\cdot\text{wd}$ is below $-1$, so the weights flip sign and grow at every step (the cell prints the smallest $\text{lr}\cdot\text{wd}$ that diverged).

# %% experiment
def adamw_torch_convention(theta, grad, state, t, lr, wd, **kw):
    # PyTorch's AdamW: the decay is lr * wd, i.e. the paper's w = lr * wd.
    return adamw_step(theta, grad, state, t, lr, wd=lr * wd, **kw)


conventions = paper_landscape("adamw", difficulty=DIFFICULTY, rules=(adamw_step, adamw_torch_convention),
                              settings=SETTINGS, device=DEVICE)
fig, axes = plt.subplots(2, 2, figsize=(8.5, 6.8), constrained_layout=True)
wdlab.plots.heatmaps(conventions, metric=["val_acc", "val_loss"], threshold=THRESHOLD, ax=axes, soft=True)
torch_grid = SETTINGS.grid("adamw_torch")
lrs, wds = np.array(torch_grid["lr"]), np.array(torch_grid["wd"])
for ax in axes[:, 1]:
    for tau in (20, 200, 2000):   # tau = 1 / (lr * wd) steps
        ax.plot(lrs, 1 / (tau * lrs), "w:", lw=1.5)
        ax.annotate(f"tau={tau}", (lrs[0], 1 / (tau * lrs[0])), color="w", fontsize=8)
    ax.set_ylim(wds[0] / 1.5, wds[-1] * 1.5)
plt.show()
summary(conventions)
torch_form = conventions["AdamW (PyTorch)"]
best = torch_form.best("val_loss")
print(f"best PyTorch-convention setting lr={best['lr']:.2g}, wd={best['wd']:.2g}: tau = 1/(lr*wd) = "
      f"{1 / (best['lr'] * best['wd']):.0f} steps for a run of {SETTINGS.steps} steps")
products = lrs[:, None] * wds[None, :]   # lr * wd of each cell, [lr, wd] like the results
diverged = ~np.isfinite(torch_form.val_loss)
print(f"{diverged.sum()} settings diverged; the smallest lr*wd among them is "
      f"{products[diverged].min() if diverged.any() else float('nan'):.2g}")

# %% [markdown]
# **Question 5 (2 points).** (a) A colleague trains with `torch.optim.AdamW(lr=3e-4, weight_decay=0.1)` and a constant schedule. What is $w$ in the paper's convention, and what is the timescale $\tau$ in steps? (b) They double the learning rate. What must they do to `weight_decay` to keep $\tau$ fixed, and what would they have to do in the paper's convention? (c) Does the heatmap above support "keep $\text{lr}\cdot\text{wd}$ fixed" for PyTorch's AdamW on our data? Quote the slope. Check (a) and (b) numerically in the cell below the answer.

# %% [markdown] answer conventions points=2
# (a) $w = \text{lr}\cdot\text{wd} = 3\times10^{-4}\cdot 0.1 = 3\times10^{-5}$ per step; $\tau = 1/(\text{lr}\cdot\text{wd}) = 1/(3\times10^{-5}) \approx 33{,}333$ steps.
#
# (b) Halve `weight_decay` (to 0.05) so that $\text{lr}\cdot\text{wd}$ stays $3\times10^{-5}$. In the paper's convention $\tau = 1/w$ does not involve $\alpha$: leave $w$ unchanged.
#
# (c) Yes. The PyTorch-convention map has a measured slope of about $-0.9$ on the validation loss (close to the $-1$ of constant $\text{lr}\cdot\text{wd}$), while the paper-convention map of the same runs is flat (about $0$); the edge of the good region (the dashed 90% contour) runs parallel to the dotted lines of constant $\tau$. The best setting has $\tau$ of a few hundred steps (about 640 for our 200-step run): the decay's timescale is comparable to the run's length, so the weight norm has time to settle. This is what the scale-invariance argument predicts: only $\text{lr}\cdot\text{wd}$, the angular step at equilibrium, matters in PyTorch's form.

# %% [markdown] mark_scheme conventions
# - 0.5 pt: $w = 3\times10^{-5}$ and $\tau \approx 3.3\times10^4$ steps.
# - 0.5 pt: halve weight_decay in PyTorch; leave $w$ unchanged in the paper's convention.
# - 1 pt: reads the measured slope correctly from their own output (about -1 supports the claim) and relates it to the timescale / effective step size.

# %%
lr_c, wd_c = 3e-4, 0.1
print("paper w =", lr_c * wd_c, "  tau =", 1 / (lr_c * wd_c), "steps")
print("after doubling lr: weight_decay", wd_c / 2, "keeps tau =", 1 / (2 * lr_c * wd_c / 2), "steps")
# The same run, two parametrizations: PyTorch's AdamW equals adamw_step with w = lr * wd.
p = torch.nn.Parameter(torch.linspace(-1, 1, 4, dtype=torch.float64))
opt = torch.optim.AdamW([p], lr=lr_c, weight_decay=wd_c)
mine, st = p.detach().clone(), {"m": torch.zeros(4, dtype=torch.float64), "v": torch.zeros(4, dtype=torch.float64)}
for t in range(1, 4):
    opt.zero_grad()
    (p ** 3).sum().backward()
    g = p.grad.clone()
    opt.step()
    mine, st = adamw_step(mine, g, st, t, lr=lr_c, wd=lr_c * wd_c)
print("largest difference to torch.optim.AdamW:", float((mine - p.detach()).abs().max()))

# %% [markdown]
# ## 8 · Extension: warm restarts, normalized weight decay and AdamWR
#
# **Cosine annealing with warm restarts** (SGDR, Loshchilov & Hutter 2017) multiplies the learning rate by
#
# $$\eta_t = \eta_{\min} + \tfrac12(\eta_{\max}-\eta_{\min})\big(1 + \cos(\pi\, T_{\text{cur}}/T_i)\big),$$
#
# where $T_i$ is the length of the current run and $T_{\text{cur}}$ the number of steps since the last restart. The first run lasts `period` steps; each restart multiplies the run length by `mult` (1 = equal runs, 2 = each run twice as long). Here `t` counts steps from 0, so $\eta_0 = \eta_{\max}$ and a restart at step `period` jumps back to $\eta_{\max}$.
#
# Implement `cosine_warm_restarts(t, period, mult=1, eta_min=0.0, eta_max=1.0)` returning a float.

# %% solution
def cosine_warm_restarts(t, period, mult=1, eta_min=0.0, eta_max=1.0):
    """SGDR schedule multiplier at step t (counted from 0): first run `period` steps long,
    each later run `mult` times longer than the one before."""
    ### BEGIN SOLUTION
    t_cur, t_i = t, period
    while t_cur >= t_i:
        t_cur, t_i = t_cur - t_i, t_i * mult
    return eta_min + 0.5 * (eta_max - eta_min) * (1 + math.cos(math.pi * t_cur / t_i))
    ### END SOLUTION

# %% tests cosine_warm_restarts
# Visible checks: start, middle, restart, longer runs with mult = 2, range.
assert math.isclose(cosine_warm_restarts(0, 10), 1.0), "a run starts at eta_max"
assert math.isclose(cosine_warm_restarts(5, 10), 0.5), "half way through a run the multiplier is the midpoint"
assert math.isclose(cosine_warm_restarts(10, 10), 1.0), "at t = period the schedule restarts"
assert math.isclose(cosine_warm_restarts(10, 10, mult=2), 1.0) and \
    math.isclose(cosine_warm_restarts(20, 10, mult=2), 0.5), "with mult = 2 the second run lasts 20 steps"
values = [cosine_warm_restarts(t, 7, mult=2, eta_min=0.1, eta_max=0.9) for t in range(60)]
assert all(0.1 - 1e-12 <= v <= 0.9 + 1e-12 for v in values), "the multiplier must stay in [eta_min, eta_max]"
print("cosine_warm_restarts: visible checks passed")

### BEGIN HIDDEN TESTS
from autograder.reference.checks import check_function
from autograder.reference import cosine_warm_restarts as _reference
_cases = [dict(t=_t, period=_period, mult=_mult, eta_min=_lo, eta_max=_hi)
          for _period, _mult, _lo, _hi in [(10, 1, 0.0, 1.0), (7, 2, 0.1, 0.9), (3, 3, 0.0, 2.0),
                                           (1, 1, 0.2, 0.2), (50, 2, 1e-3, 1.0)]
          for _t in range(400)]
check_function(cosine_warm_restarts, _reference, _cases + [dict(t=10 ** 6 + 3, period=10)])
### END HIDDEN TESTS

# %% experiment
steps = np.arange(300)
fig, ax = plt.subplots(figsize=(8, 2.8))
for period, mult in [(100, 1), (20, 2)]:
    ax.plot(steps, [cosine_warm_restarts(int(t), period, mult) for t in steps], label=f"period={period}, mult={mult}")
ax.set(xlabel="step t", ylabel="multiplier $\\eta_t$", title="Cosine annealing with warm restarts")
ax.legend()
plt.show()

# %% [markdown]
# **Normalized weight decay.** The best decay factor depends on how long one trains: more steps means more total shrinkage. The paper proposes to tune a normalized value $\lambda_{\text{norm}}$ and use
#
# $$\lambda = \lambda_{\text{norm}}\sqrt{\frac{b}{B\,T}}$$
#
# for batch size $b$, $B$ training points and $T$ epochs ($BT/b$ is the total number of steps). The cell below checks the formula's purpose: the product of per-step decay and the square root of the number of steps stays fixed, so a $\lambda_{\text{norm}}$ tuned on a short run transfers to a longer one.

# %%
def normalized_weight_decay(wd_norm, batch_size, n_train, epochs):
    # lambda = lambda_norm * sqrt(b / (B T)).
    return wd_norm * math.sqrt(batch_size / (n_train * epochs))


for epochs in (5, 20, 80):
    w_epoch = normalized_weight_decay(0.05, batch_size=100, n_train=2000, epochs=epochs)
    total_steps = 2000 * epochs // 100
    print(f"{epochs:3d} epochs = {total_steps:5d} steps: w = {w_epoch:.2e}, "
          f"w * sqrt(steps) = {w_epoch * math.sqrt(total_steps):.3f}")

# %% [markdown]
# **AdamWR** is AdamW with the warm-restart schedule: the multiplier $\eta_t$ scales both the Adam step and the decay (Adam + L2 has no separate decay: $\eta_t$ scales its whole step, penalty included). Below, the landscape of Section 5 is recomputed with restarts (runs of 66 and 132 steps; the last 2 steps begin a third) and compared with the constant schedule.

# %% experiment
restarts = lambda t: cosine_warm_restarts(t, period=SETTINGS.steps // 3, mult=2)
with_restarts = paper_landscape("adam", difficulty=DIFFICULTY, rules=MY_RULES, settings=SETTINGS,
                                schedule=restarts, device=DEVICE)
adamwr = {"AdamW (constant)": results["AdamW (paper)"],   # from Section 5
          "AdamWR": with_restarts["AdamW (paper)"],
          "Adam + L2, restarts": with_restarts["Adam + L2"]}
wdlab.plots.heatmaps(adamwr, metric=["val_acc", "val_loss"], threshold=THRESHOLD, soft=True)
plt.show()
summary({"Adam + L2 (constant)": results["Adam + L2"], **adamwr})

# %% [markdown]
# **Question 6 (1 point).** Does the warm-restart schedule change the best accuracy or the shape of the good region on our data? Give one reason why the paper found restarts useful on long runs that our 200-step runs cannot show.

# %% [markdown] answer adamwr points=1
# Restarts change the numbers a little and the shapes hardly at all. AdamWR reaches about the same best accuracy as AdamW (0.941 against 0.936) and a slightly lower best validation loss (0.326 against 0.344): each run ends with small, annealed steps. Fewer settings reach 90% (55% against 69%): the strongest decays ($w \gtrsim 0.05$) and the smallest learning rate do worse with restarts. The shapes are those of Section 5: AdamWR stays close to axis-aligned (slope about $-0.3$ on the loss) and Adam + L2 with restarts stays diagonal (about $-1.7$), as expected when the same $\eta_t$ multiplies step and decay. The paper's benefit shows on long runs: annealing to a small learning rate at the end of each run gives a good model at every restart (anytime performance, useful for early stopping and ensembles), and normalized weight decay lets one $\lambda_{\text{norm}}$ serve runs of every length; two short runs of 66 and 132 steps cannot show either.

# %% [markdown] mark_scheme adamwr
# - 0.5 pt: a comparison consistent with the student's AdamW/AdamWR maps and printed numbers (best accuracy/loss, share above the threshold, slopes).
# - 0.5 pt: a valid reason (anytime performance at each restart; annealing at the end of long runs; interplay with normalized decay for different run lengths).
