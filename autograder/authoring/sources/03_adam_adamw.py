"""Source of notebook 03: Adam, Adam + L2, AdamW and the (lr, weight decay) landscape.

Percent format, read by autograder/authoring/percent.py (its docstring describes the cell
kinds): each `# %%` line starts a notebook cell. Build the notebook with

    python -m autograder.authoring.percent 03_adam_adamw

which writes solutions/<assignment>/03_adam_adamw.ipynb.
"""

# %% [markdown]
# # 03 · Adam, Adam + L2 and AdamW
#
# You will implement Adam (the problem set's Algorithm 3), Adam + L2 and AdamW (Loshchilov & Hutter, 2019), each checked against `torch.optim`; see on a 2-D problem where Adam + L2 and AdamW come to rest; map validation accuracy and loss over learning rate × weight decay with your own rules; untangle the paper's and PyTorch's meaning of "weight decay"; and (extension) add warm restarts.
#
# Graded: `adam_step`, `adam_l2_step`, `adamw_step`, `cosine_warm_restarts` and written answers; the self-checks A to D earn no points. Replace each `raise NotImplementedError(...)` with your code and run the check cell under it; hidden tests run more cases.
#
# **Course rule signature.** `rule(theta, grad, state, t, **hyperparameters) -> (new_theta, new_state)`: `state` is a dict of tensors shaped like `theta` (zeros before the first step), `t` counts steps from 1, hyperparameters are floats *or tensors that broadcast against* `theta` (shape `[G, 1]` trains G configurations at once). Do not modify the inputs in place (no `+=`, `mul_`, ...) and do not call `torch.optim`.
#
# **Notation.** $g_t$ minibatch gradient at $\theta_{t-1}$; $\alpha$ learning rate (`lr`); $\eta_t$ schedule multiplier (`eta`, 1 unless a schedule is used); $\lambda'$ L2 coefficient (`l2`); $w$ decay factor (`wd`).

# %% setup
import math
import time

import matplotlib.pyplot as plt

import wdlab
from data_gen import make_classification
from wdlab import checks, interactive, selfcheck, toy2d
from wdlab.landscape import LandscapeSettings, basins, paper_landscape, slopes

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
# All operations are elementwise. Defaults: $\alpha = 10^{-3}$, $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$. Two details decide whether your numbers match a library to the last digit: $\epsilon$ is added **outside** the square root, and **after** the bias correction. At $t = 1$, $\hat m_1 = g_1$ and $\sqrt{\hat v_1} = |g_1|$, so the first step moves every coordinate by almost exactly $\alpha$ against the sign of its gradient, whatever the gradient's size.
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
# Visible checks: two steps with numbers fixed in advance (fresh copies of the inputs for every
# call), the dtype, then torch.optim.Adam, which implements the same rule.
f64 = dict(dtype=torch.float64)
zeros = {"m": torch.zeros(4, **f64), "v": torch.zeros(4, **f64)}
theta1, state1 = checks.rule(adam_step, torch.tensor([1.0, -2.0, 0.5, 3.0], **f64),
                             torch.tensor([1e-3, -5.0, 2e3, 0.0], **f64), zeros, 1, lr=0.01)
checks.close(state1["m"], [1e-4, -0.5, 200.0, 0.0], "m_1", hint="the state holds the raw averages m_t, v_t, "
             "not the bias-corrected ones")
checks.close(state1["v"], [1e-9, 0.025, 4000.0, 0.0], "v_1", hint="v_t averages the squared gradient")
checks.close(theta1, [0.990000099999, -1.99000000002, 0.49000000000005, 3.0], "theta_1 (lr = 0.01)",
             hint="at t = 1 the step is lr * g / (|g| + eps): bias-correct both moments, and add eps outside "
                  "the square root (it matters for the gradient 1e-3)")
theta2, state2 = checks.rule(adam_step, theta1, torch.tensor([-2e-3, 1.0, 1e3, 0.5], **f64), state1, 2,
                             lr=0.01, eta=0.5)
checks.close(theta2, [0.9918306060587794, -1.9874448696411715, 0.48533910180602247, 2.9962793159873757],
             "theta_2 (lr = 0.01, eta = 0.5)", hint="the bias corrections use the step number t; eta "
             "multiplies the whole step")
theta32, _ = checks.rule(adam_step, torch.ones(3), torch.full((3,), 0.5), {"m": torch.zeros(3), "v": torch.zeros(3)},
                         1, lr=0.1)
checks.same_dtype(theta32, torch.ones(3), "adam_step on float32 inputs")

p = torch.nn.Parameter(torch.linspace(-1, 1, 5, **f64))
opt = torch.optim.Adam([p], lr=0.05, betas=(0.8, 0.99), eps=1e-8)
mine, state = p.detach().clone(), {"m": torch.zeros(5, **f64), "v": torch.zeros(5, **f64)}
for t in range(1, 6):
    opt.zero_grad()
    (p ** 2 * torch.arange(1.0, 6.0, **f64)).sum().backward()
    g = p.grad.clone()
    opt.step()
    mine, state = checks.rule(adam_step, mine, g, state, t, lr=0.05, beta1=0.8, beta2=0.99)
    checks.close(mine, p.detach(), f"theta at step {t} against torch.optim.Adam(lr=0.05, betas=(0.8, 0.99))",
                 rtol=1e-10, atol=1e-12, hint="torch bias-corrects both moments and adds eps after the square root")
print("adam_step: visible checks passed")
### BEGIN HIDDEN TESTS
from autograder.reference.checks import check_rule
# Trajectories against the reference: float32/float64, CPU/CUDA, t = 1, tiny and huge gradients,
# a varying eta_t, lr as a [3, 1] tensor; no in-place changes, no torch.optim.
check_rule(adam_step, "adam", lr=(1e-4, 0.3), beta1=(0.5, 0.99), beta2=(0.9, 0.9999), eps=(1e-10, 1e-6))
check_rule(adam_step, "adam", steps=20, seed=1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
### END HIDDEN TESTS

# %% [markdown]
# **Self-check A** (not graded). Adam with $\alpha = 10^{-3}$ takes its first step; one coordinate has the gradient $g_1 = -250$ ($\epsilon$ negligible). By how much does that coordinate change?

# %%
answer = None   # a number (its sign too)
selfcheck.check("03-first-adam-step", answer)

# %% [markdown]
# ## 2 · Adam + L2
#
# The usual way to regularize Adam is to add $\frac{\lambda'}{2}\lVert\theta\rVert^2$ to the loss, which adds $\lambda'\theta_{t-1}$ to the gradient **before** it enters the moving averages:
#
# $$ g_t \leftarrow \nabla f_t(\theta_{t-1}) + \lambda'\theta_{t-1}, \qquad \text{then Adam as above.}$$
#
# This is exactly what `torch.optim.Adam(..., weight_decay=λ')` does, despite the argument's name. Implement `adam_l2_step` (you may call your `adam_step`; its check must pass first).

# %% solution
def adam_l2_step(theta, grad, state, t, lr, l2, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
    """One step of Adam on f + (l2 / 2) ||theta||^2: the penalty's gradient joins `grad`
    before the moments. Returns (new_theta, {"m": ..., "v": ...})."""
    ### BEGIN SOLUTION
    return adam_step(theta, grad + l2 * theta, state, t, lr, beta1=beta1, beta2=beta2, eps=eps, eta=eta)
    ### END SOLUTION

# %% tests adam_l2_step
# Visible checks: two steps with numbers fixed in advance, then torch.optim.Adam(weight_decay=l2),
# which is Adam + L2 (and plain Adam for l2 = 0). Nothing here runs your adam_step directly; if
# adam_l2_step calls it, a mistake there shows up here too: pass adam_step's check first.
f64 = dict(dtype=torch.float64)
zeros = {"m": torch.zeros(3, **f64), "v": torch.zeros(3, **f64)}
theta1, state1 = checks.rule(adam_l2_step, torch.tensor([1.0, -2.0, 0.5], **f64), torch.tensor([0.2, 0.3, -0.1], **f64),
                             zeros, 1, lr=0.01, l2=0.5)
checks.close(state1["m"], [0.07, -0.07, 0.015], "m_1 with l2 = 0.5",
             hint="the penalty's gradient l2 * theta joins the gradient before both moments")
checks.close(state1["v"], [4.9e-4, 4.9e-4, 2.25e-5], "v_1 with l2 = 0.5",
             hint="v averages the square of grad + l2 * theta")
checks.close(theta1, [0.9900000001428572, -1.990000000142857, 0.4900000006666666], "theta_1",
             hint="L2 acts only through the moments: no separate decay term in the update")
theta2, _ = checks.rule(adam_l2_step, theta1, torch.tensor([-0.4, 0.1, 0.05], **f64), state1, 2, lr=0.01, l2=0.5,
                        eta=0.5)
checks.close(theta2, [0.9861795637668143, -1.9850053192682502, 0.48516519279878656], "theta_2 (eta = 0.5)",
             hint="eta multiplies the whole Adam step, the penalty included")

for l2 in (0.0, 0.3):
    p = torch.nn.Parameter(torch.linspace(-2, 2, 5, **f64))
    opt = torch.optim.Adam([p], lr=0.05, weight_decay=l2)
    mine, state = p.detach().clone(), {"m": torch.zeros(5, **f64), "v": torch.zeros(5, **f64)}
    for t in range(1, 6):
        opt.zero_grad()
        (torch.sin(p) * torch.arange(1.0, 6.0, **f64)).sum().backward()
        g = p.grad.clone()
        opt.step()
        mine, state = checks.rule(adam_l2_step, mine, g, state, t, lr=0.05, l2=l2)
        checks.close(mine, p.detach(), f"theta at step {t} against torch.optim.Adam(lr=0.05, weight_decay={l2})",
                     rtol=1e-10, atol=1e-12, hint="with l2 = 0 this is plain Adam" if l2 == 0 else
                     "add l2 * theta (theta before the step) to the gradient")
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
# Ignoring momentum ($\beta_1 = 0$), the penalty contributes $-\alpha\,\lambda'\theta_{t-1} / (\sqrt{\hat v_t}+\epsilon)$ to the step: the shrinkage is divided by the same per-coordinate scale as the gradient. Notebook 02 showed that no L2 coefficient turns a non-scalar preconditioner into uniform decay (Proposition 2). The next cell makes this concrete: two coordinates with the same weight 1.0, one with gradients of typical size 0.01 and one with gradients of size 10.

# %%
theta = torch.tensor([1.0, 1.0], dtype=torch.float64)
grads = torch.randn(200, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) \
    * torch.tensor([0.01, 10.0], dtype=torch.float64)
lr, l2 = 1e-3, 1e-2
state = {"m": torch.zeros(2, dtype=torch.float64), "v": torch.zeros(2, dtype=torch.float64)}
for t, g in enumerate(grads, start=1):
    _, state = adam_l2_step(theta, g, state, t, lr=lr, l2=l2)      # theta held fixed: we watch v
v_hat = state["v"] / (1 - 0.999 ** len(grads))
rates = lr * l2 / (v_hat.sqrt() + 1e-8)
print("per-step decay from L2 inside Adam:", [f"{r:.3g}" for r in rates.tolist()],
      f"(ratio {float(rates[0] / rates[1]):.0f})")
print("per-step decay of decoupled weight decay with w = lr * l2:", [lr * l2] * 2)
# sqrt(v_hat) is the root mean square of what entered v: the gradient plus the penalty's l2 * theta.
rms = ((grads + l2 * theta) ** 2).mean(0).sqrt()
print("sqrt(v_hat):", [f"{x:.3g}" for x in v_hat.sqrt().tolist()],
      " root mean square of g + l2 * theta:", [f"{x:.3g}" for x in rms.tolist()])

# %% [markdown]
# **Question 1 (2 points).** Use the numbers above. Which of the two weights does L2 regularize more inside Adam, by roughly what factor, and why is the factor not simply the ratio of the gradient sizes? What does decoupled weight decay do instead, and why is that closer to what we want from a regularizer?

# %% [markdown] answer l2_inside_adam points=2
# With $\beta_1 = 0$ the penalty moves a coordinate by $\alpha\lambda'\theta/(\sqrt{\hat v}+\epsilon)$ per step, so its decay rate $\alpha\lambda'/\sqrt{\hat v}$ is inversely proportional to the coordinate's root-mean-square gradient. The coordinate with small gradients is decayed about 700 times faster (the printed rates are $7.3\times10^{-4}$ and $1.0\times10^{-6}$ per step). The factor is not $10/0.01 = 10^3$ because $\hat v$ averages the square of everything that enters the moments, penalty included: for the small coordinate $\lambda'\theta = 10^{-2}$ is as large as the gradient, so $\sqrt{\hat v} \approx \sqrt{0.01^2 + 0.01^2} \approx 0.014$ (printed), and $10/0.014 \approx 700$. Inside Adam, L2 therefore barely touches the weights with large or frequent gradients and decays the rarely-updated ones strongly: its strength depends on the gradient history, not on $\lambda'$ alone. Decoupled decay shrinks every weight by the same fraction $\eta_t w$ per step, independent of the gradient history, so "prefer small weights" means the same for every weight and the strength is one interpretable number.

# %% [markdown] mark_scheme l2_inside_adam
# - 1 pt: the L2 shrinkage is divided by $\sqrt{\hat v}+\epsilon$; the small-gradient coordinate is decayed more, by a factor of several hundred, consistent with the printed numbers (about 700), with the reason it is below $10^3$ (the penalty's gradient enters $\hat v$ of the small coordinate). A factor "about $10^3$" without that reason: 0.5 pt.
# - 1 pt: decoupled decay shrinks all weights by the same fraction per step, independent of gradient history; weights with large gradients are under-regularized by L2 in Adam.

# %% [markdown]
# **Self-check B** (not graded). Inside Adam + L2 with $\beta_1 = 0$, which weight does the penalty shrink faster per step? (a) The one with large gradients. (b) The one with small gradients. (c) Both alike. (d) It depends on $\lambda'$ only.

# %%
answer = None   # "a", "b", "c" or "d"
selfcheck.check("03-l2-small-gradient", answer)

# %% [markdown]
# ## 3 · AdamW: decay outside the adaptive step
#
# Loshchilov & Hutter (Algorithm 2 of the paper) keep the loss unregularized, run Adam on the plain gradient, and shrink the weights directly:
#
# $$\theta_t = \theta_{t-1} - \eta_t\left(\alpha\,\frac{\hat m_t}{\sqrt{\hat v_t}+\epsilon} + w\,\theta_{t-1}\right).$$
#
# The decay $w\theta_{t-1}$ never enters $m_t$ or $v_t$, is not divided by $\sqrt{\hat v_t}$, and is **not** multiplied by the learning rate $\alpha$, only by the schedule multiplier $\eta_t$. This is the form this course grades.
#
# `torch.optim.AdamW` writes the decay as $\theta \leftarrow \theta\,(1 - \text{lr}\cdot\text{wd})$, multiplied by the learning rate. With a constant schedule the two agree when `lr` $= \alpha$ and `weight_decay` $= w/\alpha$: the check below uses that conversion (Section 7 comes back to it).
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
# Visible checks: two steps with numbers fixed in advance, a zero gradient (pure decay), then
# torch.optim.Adam for wd = 0 and torch.optim.AdamW with weight_decay = wd / lr.
f64 = dict(dtype=torch.float64)
zeros = {"m": torch.zeros(3, **f64), "v": torch.zeros(3, **f64)}
theta1, state1 = checks.rule(adamw_step, torch.tensor([1.0, -2.0, 0.5], **f64), torch.tensor([0.2, 0.3, -0.1], **f64),
                             zeros, 1, lr=0.01, wd=0.1)
checks.close(state1["m"], [0.02, 0.03, -0.01], "m_1 with wd = 0.1", hint="the decay must not enter the moments")
checks.close(theta1, [0.8900000004999999, -1.8099999996666667, 0.4599999990000001], "theta_1 (lr = 0.01, wd = 0.1)",
             hint="the decay is eta * wd * theta_{t-1}, not multiplied by lr and not divided by sqrt(v_hat)")
theta2, _ = checks.rule(adamw_step, theta1, torch.tensor([-0.4, 0.1, 0.05], **f64), state1, 2, lr=0.01, wd=0.1,
                        eta=0.5)
checks.close(theta2, [0.8473305180523018, -1.7238553192421402, 0.4383316840798305], "theta_2 (eta = 0.5)",
             hint="eta multiplies both the Adam step and the decay")
shrunk, state0 = checks.rule(adamw_step, torch.tensor([2.0, -4.0, 1.0], **f64), torch.zeros(3, **f64), zeros, 1,
                             lr=0.5, wd=0.1, eta=0.5)
checks.close(shrunk, [1.9, -3.8, 0.95], "a zero-gradient step with lr = 0.5, wd = 0.1, eta = 0.5",
             hint="with no gradient the step is a pure decay by eta * wd, whatever lr is")
checks.close(state0["m"], [0.0, 0.0, 0.0], "m_1 after a zero gradient", hint="the decay must not enter the moments")

lr, w = 0.05, 0.02
for make, wd, name in [(lambda q: torch.optim.Adam(q, lr=lr), 0.0, "torch.optim.Adam(lr=0.05)"),
                       (lambda q: torch.optim.AdamW(q, lr=lr, weight_decay=w / lr), w,
                        f"torch.optim.AdamW(lr={lr}, weight_decay={w}/{lr})")]:
    p = torch.nn.Parameter(torch.linspace(-2, 2, 5, **f64))
    opt = make([p])
    mine, state = p.detach().clone(), {"m": torch.zeros(5, **f64), "v": torch.zeros(5, **f64)}
    for t in range(1, 6):
        opt.zero_grad()
        (torch.sin(p) * torch.arange(1.0, 6.0, **f64)).sum().backward()
        g = p.grad.clone()
        opt.step()
        mine, state = checks.rule(adamw_step, mine, g, state, t, lr=lr, wd=wd)
        checks.close(mine, p.detach(), f"theta at step {t} (wd = {wd}) against {name}", rtol=1e-10, atol=1e-12,
                     hint="torch multiplies its weight_decay by lr: the paper's wd = lr * weight_decay")
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
# ### 3.1 Where Adam + L2 and AdamW come to rest: a 2-D picture
#
# $f(\theta) = \frac12\sum_i h_i(\theta_i - c_i)^2$ with $c = (1, 1)$ and curvatures $h = (10, 0.1)$; each step sees a noisy target, so the gradient $h_i(\theta_i - c_i - \xi_i)$ is noisy in proportion to the curvature and coordinate 1 has the large gradients. Your rules run 16 times for 3000 steps each (one run drawn); a dot marks where they come to rest (the mean of the second halves).
#
# * **Adam + L2** ($\lambda' = 0.1$) rests where the averaged gradient of $f + \frac{\lambda'}{2}\lVert\theta\rVert^2$ vanishes, at $h_i c_i/(h_i + \lambda') = (0.99, 0.5)$ (orange dotted curve: every $\lambda'$). The large-gradient coordinate is barely regularized.
# * **AdamW** ($w = 0.004$): Adam's step $\hat m/\sqrt{\hat v}$ ignores the scale of a coordinate's gradients and the decay never looks at them, so both coordinates rest at the same fraction of their targets (green dotted line).
#
# The cell checks both statements on your rules.

# %% experiment
problem = toy2d.NoisyQuadratic(curvature=(10.0, 0.1), target=(1.0, 1.0), noise=1.0)
start, lr, l2, w, steps = (-0.5, 2.0), 0.01, 0.1, 0.004, 3000
paths = {"Adam": toy2d.run(adam_step, problem, start, steps, lr=lr),
         "Adam + L2": toy2d.run(adam_l2_step, problem, start, steps, lr=lr, l2=l2),
         "AdamW": toy2d.run(adamw_step, problem, start, steps, lr=lr, wd=w)}
rest = {name: toy2d.rest_point(path) for name, path in paths.items()}

fig, (ax, ax_t) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw=dict(width_ratios=[1.15, 1]))
toy2d.draw(ax, problem, paths)
ax.legend(fontsize=7, loc="upper right")
ax.set_title("one run of each rule and where 16 runs come to rest")
for (name, path), color in zip(list(paths.items())[1:], ["C1", "C2"]):
    mean = path.mean(1)                         # the 16 runs' average; the targets are 1
    ax_t.plot(mean[:, 0], color=color, label=f"{name}: $\\theta_1$ (curvature 10)")
    ax_t.plot(mean[:, 1], color=color, ls="--", label=f"{name}: $\\theta_2$ (curvature 0.1)")
ax_t.axhline(1.0, color="k", lw=0.8, ls=":")
ax_t.set(xlabel="step", ylabel="$\\theta_i / c_i$ (mean of 16 runs)", ylim=(-0.6, 2.1),
         title="how far each coordinate is shrunk")
ax_t.legend(fontsize=8, loc="upper right")
plt.show()
ridge = problem.l2_rest_point(l2)
for name, point in rest.items():
    print(f"{name:10s} rests at ({point[0]:.3f}, {point[1]:.3f})")
print(f"minimizer of f + (l2/2)||theta||^2: ({ridge[0]:.3f}, {ridge[1]:.3f})")
off = float((rest["Adam + L2"] - ridge).abs().max())
assert off < 0.03, f"Adam + L2 should rest at the L2 minimizer; it is {off:.3f} away"
spread = abs(float(rest["AdamW"][0] - rest["AdamW"][1]))
assert spread < 0.03, f"AdamW should shrink both coordinates alike; they differ by {spread:.3f}"

# %% [markdown]
# This is Proposition 3 of notebook 02 in motion: decoupled decay acts like an L2 penalty scaled by each coordinate's gradient size, which here cancels the difference in curvature.
#
# **Self-check C** (not graded). Why does AdamW shrink both coordinates by the same factor? (a) Both coordinates have the same curvature. (b) Adam's step ignores the scale of each coordinate's gradients, and the decay never looks at the gradient. (c) The decay is multiplied by the learning rate. (d) $\beta_2$ is close to 1.

# %%
answer = None   # "a", "b", "c" or "d"
selfcheck.check("03-why-uniform", answer)

# %% [markdown]
# ## 4 · Your rules train a network, next to `torch.optim`
#
# `wdlab.train(rule, data, ...)` trains a small MLP (inputs → 64 → 64 → classes, ReLU, cross-entropy) with **any** function of the course signature: here, yours. `wdlab.train_torch(make_optimizer, data, ...)` trains the same network from the same initial weights on the same minibatches with a `torch.optim` optimizer. If your rule is right the curves lie on top of each other.
#
# The data come from `data_gen.make_classification`: 4 classes of Gaussian clusters, with a difficulty knob (`"easy"`, `"medium"`, `"hard"`) that changes the cluster separation, the share of randomly relabelled points and the number of pure-noise features.

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
# We train a grid of (learning rate, regularization) pairs with **your** rules and record the final validation accuracy and loss of each: the paper's Figure 2 on our data. `paper_landscape` (from `wdlab.landscape`) prepares the network, data and grids and calls `wdlab.sweep`, which trains every configuration at once by passing each hyperparameter as a `[G, 1]` tensor.
#
# The network has a LayerNorm after each hidden layer and a fixed random output layer, so every trained weight is *scale invariant*, like the weights in front of the batch normalization of the paper's ResNets: only their direction matters, and decay sets how fast that direction turns.
#
# The workload is chosen so that decay can help: 1000 training points (so that the noisy labels can be overfitted), 300 steps, and one cosine annealing over the run ($\eta_t$ falls from 1 to 0 and scales both the step and the decay). Every learning rate is also trained with decay 0; that reference row is not drawn, the summary prints it.

# %% [markdown]
# > **Optional: why scale invariance predicts the shapes.** For scale-invariant weights the loss gradient is orthogonal to $\theta$ and a step $\Delta\theta$ turns them by about $\lVert\Delta\theta\rVert/\lVert\theta\rVert$. Adam moves each of the $d$ coordinates by about $\alpha$ per step, mostly orthogonally to $\theta$, so $\lVert\theta\rVert^2$ grows by about $\alpha^2 d$ per step until decay balances it. At that equilibrium the angular step per coordinate, $\alpha/\lVert\theta\rVert$, is
# >
# > | rule | decay per step | equilibrium $\lVert\theta\rVert^2$ | angular step | good region |
# > |---|---|---|---|---|
# > | AdamW, paper form | $w\,\theta$ | $\alpha^2 d/(2w)$ | $\sqrt{2w/d}$: no $\alpha$ | fixed $w$: slope 0 |
# > | AdamW, PyTorch form | $\alpha\,\text{wd}\,\theta$ | $\alpha\, d/(2\,\text{wd})$ | $\sqrt{2\alpha\,\text{wd}/d}$ | fixed $\alpha\cdot\text{wd}$: slope $-1$ |
# > | Adam + L2 | $\lambda'\theta$, divided by $\sqrt{\hat v_t}$ | grows with $\alpha$, shrinks with $\lambda'$ | a function of $\alpha^2\lambda'$ | fixed $\alpha^2\lambda'$: slope about $-2$ |
# >
# > For Adam + L2 the penalty's gradient is normalized together with the loss gradient, which shrinks like $1/\lVert\theta\rVert$; when the loss gradient dominates $\sqrt{\hat v_t}$ the balance gives $\lVert\theta\rVert^3 \propto \alpha/\lambda'$ and an angular step $\propto (\alpha^2\lambda')^{1/3}$. The norm settles only in runs longer than the decay's timescale, about $1/w$ steps: the AdamW grid puts $w\times\text{steps}$ between 0.003 and 300, from decays the run hardly feels to decays that reach equilibrium within a few steps.
# >
# > The same invariance says what the learning rate does here. The run with step $\alpha$ from the initial weights $\theta_0$ follows the run with step 1 from $\theta_0/\alpha$ (with the same $w$ for AdamW, with $\alpha^2\lambda'$ in place of $\lambda'$ for Adam + L2), so $\alpha$ acts like the size of the initial weights, not like a step size. Once the norm has forgotten its start, $\alpha$ should hardly matter.

# %% [markdown]
# **The coupling slope.** For each learning rate we locate the best regularization value (a weighted centre of the settings within a few percent of that column's best validation loss) and fit log(best decay) against log(learning rate). The slope, printed in each heatmap's title and by `summary`, is $0$ when the decay can be tuned on its own, $-1$ when $\alpha\cdot$decay matters, $-2$ when $\alpha^2\cdot$decay does. It is read from the loss: on 1000 validation points the accuracy moves by about 0.01 from noise alone.
#
# `summary` prints, for each map, the lowest validation loss and where it lies (and whether that is on the grid's edge), the best learning rate trained with decay 0 and what decay gains over it, the slope, the *ridge slope* (the same fit through each column's best decay, refined between grid cells, over the columns whose best decay lies inside the grid) and the best loss of each column, from the smallest learning rate to the largest.

# %%
DIFFICULTY = "medium"      # the difficulty knob: "easy", "medium" or "hard"
THRESHOLD = 0.90           # a setting is "good" when its validation accuracy reaches this
SETTINGS = LandscapeSettings()          # LayerNorm MLP, fixed readout, 8 x 8 grids, 300 steps, cosine
QUICK = SETTINGS.with_(grid_size=6)     # 6 x 6 grids for the later comparisons (cost ~ cells)
MY_RULES = (adam_l2_step, adamw_step)   # your Adam + L2 and your AdamW (paper form)
landscapes = {}                         # difficulty -> the two sweeps, filled by the cells below

for name in ("adam_l2", "adamw_paper"):
    grid = SETTINGS.grid(name)
    print(f"{SETTINGS.axes[name].label:14s}", ", ".join(f"{k} from {v[0]:.0e} to {v[-1]:.0e}" for k, v in grid.items()))


def summary(results, threshold=THRESHOLD):
    # Per sweep: best accuracy, share of settings above the threshold, the lowest loss and where
    # it lies, the gain over decay 0 (when the sweep has that row) and the coupling slopes.
    for name, b in basins(results).items():
        r = results[name]
        edge = "" if b.interior else ", on the grid's edge in " + " and ".join(
            axis for axis, inside in (("lr", b.lr_interior), (b.decay, b.decay_interior)) if not inside)
        print(f"{name:18s} best val acc {np.nanmax(r.val_acc):.3f}; "
              f"{np.mean(r.val_acc >= threshold):4.0%} of settings reach {threshold:.0%}; "
              f"lowest val loss {b.val_loss:.3f} (acc {b.val_acc:.3f}) at lr={b.best_lr:.2g}, "
              f"{b.decay}={b.best_decay:.2g}{edge}")
        if math.isfinite(b.reference_loss):
            print(f"{'':18s} decay 0: lowest val loss {b.reference_loss:.3f} (acc {b.reference_acc:.3f}); "
                  f"gain from decay {b.loss_gain:.3f} in loss, {b.acc_gain:+.3f} in accuracy")
        print(f"{'':18s} slope {b.slope:+.2f}; ridge slope {b.ridge_slope:+.2f} "
              f"(over {b.ridge_columns} learning rates); best loss at each lr: "
              + " ".join(f"{v:.3f}" for v in np.nanmin(r.val_loss, axis=1)))

# %% experiment
start = time.perf_counter()
results = landscapes[DIFFICULTY] = paper_landscape("adam", difficulty=DIFFICULTY, rules=MY_RULES,
                                                   settings=SETTINGS, device=DEVICE)
print(f"{2 * SETTINGS.grid_size * (SETTINGS.grid_size + 1)} training runs (decay-0 row included) in {time.perf_counter() - start:.1f} s")
wdlab.plots.heatmaps(results, metric=["val_acc", "val_loss"], threshold=THRESHOLD, soft=True)
plt.show()
summary(results)

# %% [markdown]
# **What these maps show.** Decay helps here: each method has a band of good decay values inside the grid, and both beat the row of decay 0 (the summary). Adam + L2's lowest validation loss is 0.354 (accuracy 0.927) and AdamW's 0.346 (0.930), against 0.391 (0.905) for the best learning rate trained without decay: gains of 0.038 and 0.045 in loss and about 2 points of accuracy.
#
# The shapes are the paper's. Adam + L2's good band runs diagonally (slope $-1.19$ on the loss, $-1.48$ along the ridge): what matters is $\alpha^2\lambda'$. AdamW's band is horizontal: its best $w$ is about 0.04 or 0.2 at almost every learning rate (the stars of the figure in Section 5.1), and the slope is $+0.09$.
#
# The learning rate is where this differs from the paper. Once its decay is tuned, AdamW's loss hardly depends on $\alpha$: the best loss of each column lies between 0.346 and 0.370 over three decades, and between 0.346 and 0.359 from $\alpha \approx 3\times10^{-3}$ up. Its best learning rate is therefore chosen by noise among near-equal ones, and in this map it lands on the grid's edge ($\alpha = 1$): a plateau, not a basin closed along $\alpha$. Adam + L2 needs $\alpha \geq 3\times10^{-3}$ (0.434 at $10^{-3}$) and then has a flat valley floor (0.354 to 0.368). The decay axis is where the optimum is sharp. Another seed moves the stars along these plateaus (the docstring of `wdlab.landscape` reports the measurement over seeds).
#
# **Why decay helps here, and how this differs from the paper's ResNets.** Every trained weight is scale invariant, so decay does not shrink the function. It keeps the weights small, so their angular steps stay large instead of dying out as the norm of an undecayed run grows. That pays only when the run ends with small steps, hence the cosine schedule: with a constant one, decay gained little or nothing on this data (the docstring of `wdlab.landscape`). The same invariance makes $\alpha$ act like the size of the initial weights (the optional box), which is why it matters so little. The paper's basins are also closed along the learning rate because ResNets have weights that are not scale invariant (the classifier, the batch-norm scales); Section 6 shows what a network without scale invariance does to the picture.
#
# **The decay ranges.** Both decay axes span the same 5 decades, but the L2 axis is not AdamW's mapped through $\lambda' = w/\alpha$. That mapping is exact for SGD (Proposition 1); Adam divides the penalty's gradient by $\sqrt{\hat v_t}$ (Proposition 2, and Section 2 above), so an L2 coefficient decays far more than $\alpha\lambda'$ per step. AdamW's best $w \approx 0.04$ to 0.2 would map to $\lambda' \approx 4$ to 20 at $\alpha = 10^{-2}$, where Adam + L2 already decays too much (compare the top rows of its loss map with the best cells of the same columns). Each axis is therefore placed on its own method's good region.
#
# **Question 2 (2 points).** Compare the two accuracy maps: what is alike, what differs (position and shape of the good region, what happens at large regularization)? Then compare the two loss maps in the same way. Why can the loss maps look different from the accuracy maps?

# %% [markdown] answer heatmaps_compare points=2
# *(Model answer for the medium data and this notebook's grids; the numbers are printed by the summary cell and can differ from these in the last digit or by a cell or two from run to run.)*
#
# Alike: both methods reach about the same best validation accuracy (0.927 for Adam + L2, 0.931 for AdamW: within the noise of 1000 validation points) and a similar lowest validation loss (0.354 and 0.346), and both beat the best run without decay (0.391, accuracy 0.905). In both maps the bottom rows are a plateau where the decay is too weak to matter, the band of good decays lies inside the grid, too much decay hurts (the top rows, worst at the smallest learning rate), and the smallest learning rate does a little worse (its best loss is 0.434 and 0.370).
#
# Different: the shape of the good band. For Adam + L2 it runs diagonally: the best $\lambda'$ falls from about 2 at $\alpha \approx 3\times10^{-3}$ to $10^{-4}$ at $\alpha = 1$ (slope $-1.19$ on the loss, ridge slope $-1.48$), close to the $\alpha^2\lambda'$ diagonal. For AdamW it is horizontal: the best $w$ is about 0.04 to 0.2 at almost every learning rate (slope $+0.09$). Along the learning rate neither map has a closed basin: AdamW's best loss per column varies by less than 0.025 and its overall best sits at the grid's edge ($\alpha = 1$), which noise decides.
#
# The loss maps show this more sharply than the accuracy maps: accuracy only records which side of the decision boundary a point falls on, so it saturates on a broad plateau (50% and 62% of the settings reach 90%) and moves by about 0.01 from noise alone, while the cross-entropy also measures how confident the predictions are and keeps varying across the plateau. That is why the slope is read from the loss; the accuracy slopes point the same way ($-1.28$ and $-0.04$) but are noisier.

# %% [markdown] mark_scheme heatmaps_compare
# - 1 pt: accuracy maps compared with at least one correct similarity (similar best accuracy and loss; both beat decay 0; the good band lies inside the decay grid; too much regularization fails; the smallest learning rate does worse) and the difference in shape: a diagonal band for Adam + L2, a horizontal one for AdamW, consistent with the student's plots and slopes.
# - 1 pt: loss maps compared; explains why they can differ (loss measures confidence/calibration and keeps varying where accuracy has saturated; accuracy is noisier on 1000 points).
# - Accept any answer that is consistent with the student's own heatmaps and printed numbers.

# %% [markdown]
# ### 5.1 Retrain one learning rate with a slider
#
# The next cell draws the heatmaps' columns as curves (loss against decay, one curve per learning rate, best decay starred). In a live notebook a slider appears under the figure: each position retrains that learning rate with **your** rules (16 runs, a few seconds) and redraws it in bold. Watch where the best decay moves as the learning rate grows: along the diagonal for Adam + L2, hardly at all for AdamW. Elsewhere the figure stays static.

# %% experiment
slider_data = SETTINGS.data(DIFFICULTY, seed=0)   # the landscape's data: its n_train training points
readout = SETTINGS.hidden[-1] * slider_data.n_classes + slider_data.n_classes if SETTINGS.fixed_readout else 0
decay_rules = {SETTINGS.axes[name].label: (rule, SETTINGS.axes[name].decay, SETTINGS.grid(name)[SETTINGS.axes[name].decay])
               for name, rule in zip(("adam_l2", "adamw_paper"), MY_RULES)}
lr_values = SETTINGS.grid("adam_l2")["lr"]
finer_lrs = np.logspace(np.log10(lr_values[0]), np.log10(lr_values[-1]), 2 * len(lr_values) - 1)
curves = interactive.decay_curves(decay_rules, slider_data, finer_lrs, known=landscapes.get(DIFFICULTY),
                                  frozen_tail=readout, steps=SETTINGS.steps, batch_size=SETTINGS.batch_size,
                                  hidden=tuple(SETTINGS.hidden), layer_norm=SETTINGS.layer_norm,
                                  schedule=SETTINGS.eta(), device=DEVICE)

# %% [markdown]
# ### 5.2 Harder or easier data
#
# The next cell redraws the maps for another difficulty on 6 × 6 grids (set `OTHER` to `"easy"` if you like). `"hard"` shrinks the class separation, adds 10 pure-noise features and gives 15% of the points a random label, which is the right one a quarter of the time: about 11% of the labels end up wrong (the cell checks this by simulation).

# %% experiment
relabelled = np.random.default_rng(0).random(10 ** 6) < 0.15
wrong = relabelled & (np.random.default_rng(1).integers(0, 4, 10 ** 6) != np.random.default_rng(2).integers(0, 4, 10 ** 6))
print(f"share of wrong labels when 15% get a random one of 4 classes: {wrong.mean():.3f} (0.15 * 3/4 = {0.15 * 0.75:.4f})")
OTHER = "hard"
OTHER_THRESHOLD = 0.8 if OTHER == "hard" else THRESHOLD   # wrong labels cap hard data near 0.85
other = landscapes[OTHER] = paper_landscape("adam", difficulty=OTHER, rules=MY_RULES, settings=QUICK,
                                            device=DEVICE)
wdlab.plots.heatmaps(other, metric=["val_acc", "val_loss"], threshold=OTHER_THRESHOLD, soft=True)
plt.show()
summary(other, threshold=OTHER_THRESHOLD)

# %% [markdown]
# **Question 3 (2 points).** How do the maps change with the data's difficulty, for each method, and compared with the medium data above?

# %% [markdown] answer difficulty points=2
# On the hard data every score is lower: the best accuracy falls to 0.804 (Adam + L2) and 0.819 (AdamW), since about 11% wrong labels cap it near 0.89 and the noise features cost more, so the 90% threshold is never met and 80% is used instead; only 3% and 14% of the settings reach it. The lowest validation loss rises from 0.354 and 0.346 to 0.673 and 0.664. Decay pays more on noisy labels: it gains 0.062 and 0.070 in loss over the best run without decay (0.734) and 3 to 4 points of accuracy, against 0.038 and 0.045 on the medium data. The optima move to the edges of the grids: Adam + L2's best is at the largest learning rate ($\alpha = 1$, $\lambda' = 10^{-3}$), AdamW's at the strongest decay ($w = 1$, $\alpha = 0.25$), so their true optimum may lie beyond the grid. The shapes blur: AdamW stays flat (slope $+0.09$), Adam + L2 still tilts but less ($-0.45$ on the loss, the ridge fitted through only 4 columns), and on 6 × 6 grids with the optima on the edges these slopes are rough. The difference between the methods is kept, but the medium data show it more clearly.

# %% [markdown] mark_scheme difficulty
# - 1 pt: describes the change in overall level (best accuracy/loss) and in the size of the good region with difficulty, consistent with the student's plots and numbers.
# - 1 pt: compares the two methods across difficulties (shapes/slopes kept or blurred; how much decay gains over decay 0; where the optimum moves, e.g. to stronger decay or the grid's edge).

# %% [markdown]
# **Question 4 (2 points).** What do these maps suggest about tuning each optimizer? Report the best validation accuracy of each and the share of settings above the threshold (from the printed summary), and say whether the difference in best accuracy matters more or less than the difference in how the good region is shaped.

# %% [markdown] answer tuning points=2
# On the medium data Adam + L2 reaches a best validation accuracy of 0.927 with 50% of the settings above 90%; AdamW reaches 0.931 with 62%. These differences are within what another seed or a finer grid changes. What matters for tuning is the shape. For AdamW the good decays are the same at every learning rate ($w \approx 0.04$ to 0.2), so $w$ can be tuned once and a later change of learning rate needs no new search for it; on this network the learning rate hardly matters once $w$ is tuned (every column's best loss lies within 0.025 of the overall best), while the decay does (0.346 against 0.391 without decay). For Adam + L2 the two are coupled along a diagonal: every change of the learning rate moves the good $\lambda'$ (with the measured slope of about $-1.2$ to $-1.5$, doubling $\alpha$ asks for $\lambda'$ divided by 2.3 to 2.8), so the search has to be two-dimensional or follow the diagonal. The difference in shape matters more than the small difference in the best accuracy.

# %% [markdown] mark_scheme tuning
# - 1 pt: best accuracy and share above threshold reported for both methods, matching the student's printed numbers.
# - 1 pt: a tuning conclusion tied to the shape of the good region (separable for AdamW: tune one at a time, here mostly the decay; coupled for Adam + L2: move lambda' when lr moves), consistent with the maps.

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
# On the loss, Adam + L2 comes out at $-1.19$ on the medium data, between the $-1$ and $-2$ of the optional box, and $-0.45$ on the hard data (a rough value: 6 × 6 grids, optima on the edges); AdamW at $+0.09$ on both: the paper's shapes, with your rules. The difference that remains is along the learning rate: the paper's basins are closed there, ours are not (AdamW's best loss hardly changes with $\alpha$, Section 5), because every weight we train is scale invariant.
#
# **Without scale invariance the picture changes.** The next cell repeats the sweeps on the plain MLP (no LayerNorm, output layer trained), where the *size* of the weights changes the function. AdamW's decay $w\theta$ balances Adam's steps of about $\alpha$ when $|\theta| \approx \alpha/w$, so a useful weight size asks for $w$ growing with $\alpha$: a *positive* slope (at most $+1$), as for the converged runs of notebook 01. (This is also the picture the scale-invariant network gives when only its readout is trained: then the readout's decay acts as a penalty on the size of the logits.)

# %% experiment
PLAIN = QUICK.with_(layer_norm=False, fixed_readout=False)
plain = paper_landscape("adam", difficulty=DIFFICULTY, rules=MY_RULES, settings=PLAIN, device=DEVICE)
wdlab.plots.heatmaps(plain, metric="val_loss", threshold=None, soft=True)
plt.show()
summary(plain)

# %% [markdown]
# Both slopes come out positive here ($+0.46$ for Adam + L2 and $+0.85$ for AdamW), and decay gains more than on the scale-invariant network: 0.075 and 0.097 in loss over the best run without decay (0.449, accuracy 0.871). Adam + L2 now acts as a regularizer of the function: $\lambda' \geq 1$ is too much at every learning rate, and at large learning rates too little L2 lets the loss climb. So "decoupled decay makes learning rate and decay separable" is a statement about scale-invariant weights (batch normalization, LayerNorm, weight normalization), which covers most of the weights of the paper's ResNets and of modern architectures; it is not a law for every model.

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
# So `weight_decay=0.01` with `lr=1e-3` decays the weights by $10^{-5}$ per step in PyTorch and by $10^{-2}$ in MosaicML: a thousand times more. Moving a configuration between libraries without converting is a classic bug.
#
# In PyTorch's convention the weights are an exponential moving average of the updates with the **timescale** $\tau = 1/(\text{lr}\cdot\text{wd})$ steps (Wang & Aitchison, 2024); in the paper's, $\tau = 1/w$ does not involve the learning rate. By the optional box of Section 5, PyTorch's angular step is fixed by $\tau$ too, so its good region should follow $\text{lr}\cdot\text{wd} = $ const: slope $-1$.
#
# The next cell trains PyTorch's convention with *your* `adamw_step` (the wrapper passes $w = \text{lr}\cdot\text{wd}$). Dotted lines mark constant $\tau$ (2, 20 and 200 steps, for a run of 300). Blank cells diverged: beyond $\text{lr}\cdot\text{wd} = 2$ the factor $1 - \text{lr}\cdot\text{wd}$ is below $-1$, so the weights flip sign and grow (the cell prints the smallest $\text{lr}\cdot\text{wd}$ that diverged).

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
    for tau in (2, 20, 200):   # tau = 1 / (lr * wd) steps
        ax.plot(lrs, 1 / (tau * lrs), ":", color="0.15", lw=1.5)
        # labelled mid-grid, where all three lines lie inside the decay range
        mid = lrs[len(lrs) // 2]
        ax.annotate(f"τ = {tau}", (mid, 1 / (tau * mid)), color="k", fontsize=8, va="bottom", ha="center",
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85))
    ax.set_ylim(wds[0] / 1.5, wds[-1] * 1.5)
plt.show()
summary(conventions)
torch_form = conventions["AdamW (PyTorch)"]
best = torch_form.best("val_loss")
print(f"best PyTorch-convention setting lr={best['lr']:.2g}, wd={best['wd']:.2g}: tau = 1/(lr*wd) = "
      f"{1 / (best['lr'] * best['wd']):.2g} steps for a run of {SETTINGS.steps} steps")
products = lrs[:, None] * wds[None, :]   # lr * wd of each cell, [lr, wd] like the results
diverged = ~np.isfinite(torch_form.val_loss)
print(f"{diverged.sum()} settings diverged; the smallest lr*wd among them is "
      f"{products[diverged].min() if diverged.any() else float('nan'):.2g}")

# %% [markdown]
# **Question 5 (2 points).** (a) A colleague trains with `torch.optim.AdamW(lr=3e-4, weight_decay=0.1)` and a constant schedule. What is $w$ in the paper's convention, and what is the timescale $\tau$ in steps? (b) They double the learning rate. What must they do to `weight_decay` to keep $\tau$ fixed, and what would they have to do in the paper's convention? (c) Does the heatmap above support "keep $\text{lr}\cdot\text{wd}$ fixed" for PyTorch's AdamW on our data? Quote the coupling slope of the **AdamW (PyTorch)** validation-loss panel (bottom right: the slope of log of the best `weight_decay` against log of the learning rate, also printed by `summary`). Then check (a) and (b) with your numbers in the cell below the answer.

# %% [markdown] answer conventions points=2
# (a) $w = \text{lr}\cdot\text{wd} = 3\times10^{-4}\cdot 0.1 = 3\times10^{-5}$ per step; $\tau = 1/(\text{lr}\cdot\text{wd}) = 1/(3\times10^{-5}) \approx 33{,}333$ steps.
#
# (b) Halve `weight_decay` (to 0.05) so that $\text{lr}\cdot\text{wd}$ stays $3\times10^{-5}$. In the paper's convention $\tau = 1/w$ does not involve $\alpha$: leave $w$ unchanged.
#
# (c) Roughly, yes. The AdamW (PyTorch) loss panel has a coupling slope of $-0.68$ (ridge slope $-0.73$; the accuracy panel gives $-0.78$), a clear tilt towards the $-1$ of constant $\text{lr}\cdot\text{wd}$, while the paper-convention map of the same runs is flat ($+0.09$): the good band runs along the dotted lines of constant $\tau$ rather than along the axes. It falls short of $-1$, and with the learning rate mattering so little on this network, the best cell is chosen by noise along the band (it sits at the largest learning rate, $\text{lr} = 0.1$, $\text{wd} = 3.9$). Its timescale is $\tau = 1/(\text{lr}\cdot\text{wd}) \approx 2.6$ steps, not hundreds: the decay's timescale is far shorter than the run, as for the paper's AdamW, whose best $w \approx 0.04$ to 0.2 means $\tau = 1/w$ of 5 to 25 steps. What matters is the angular step that $\text{lr}\cdot\text{wd}$ sets at equilibrium, as the scale-invariance argument predicts. Too much is fatal: 4 settings diverged, the smallest $\text{lr}\cdot\text{wd}$ among them 5.4.

# %% [markdown] mark_scheme conventions
# - 0.5 pt: $w = 3\times10^{-5}$ and $\tau \approx 3.3\times10^4$ steps.
# - 0.5 pt: halve weight_decay in PyTorch; leave $w$ unchanged in the paper's convention.
# - 1 pt: reads the coupling slope of the AdamW (PyTorch) loss panel correctly from their own output (a clearly negative slope, about -0.7 to -1, supports the claim; the paper-convention panel stays near 0) and relates it to the timescale / effective step size.

# %%
# Check your answers to (a) and (b): put in your numbers and run the cell.
w_paper = None        # (a): the paper's w for torch.optim.AdamW(lr=3e-4, weight_decay=0.1)
wd_doubled = None     # (b): PyTorch's weight_decay that keeps tau once lr = 6e-4
if w_paper is None or wd_doubled is None:
    print("Put your answers to (a) and (b) into w_paper and wd_doubled, then run this cell again.")
else:
    # (a): torch.optim.AdamW(lr=3e-4, weight_decay=0.1) against your adamw_step with wd = w_paper.
    p = torch.nn.Parameter(torch.linspace(-1, 1, 4, dtype=torch.float64))
    opt = torch.optim.AdamW([p], lr=3e-4, weight_decay=0.1)
    mine, st = p.detach().clone(), {"m": torch.zeros(4, dtype=torch.float64), "v": torch.zeros(4, dtype=torch.float64)}
    for t in range(1, 4):
        opt.zero_grad()
        (p ** 3).sum().backward()
        g = p.grad.clone()
        opt.step()
        mine, st = adamw_step(mine, g, st, t, lr=3e-4, wd=w_paper)
    print(f"(a) largest difference to torch.optim.AdamW after 3 steps: {float((mine - p.detach()).abs().max()):.1e} "
          "(about 1e-16 when w_paper is right)")
    print(f"(b) tau = 1 / (lr * weight_decay): {1 / (3e-4 * 0.1):.0f} steps before, {1 / (6e-4 * wd_doubled):.0f} after")

# %% [markdown]
# **Self-check D** (not graded). `torch.optim.AdamW(lr=2e-3, weight_decay=0.05)` with a constant schedule: what is $w$ in the paper's convention?

# %%
answer = None   # a number
selfcheck.check("03-torch-to-paper", answer)

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
# Visible checks: numbers fixed in advance at the start, middle and restarts of a run, longer runs
# with mult = 2, and the range.
for args, kwargs, want, hint in [
        ((0, 10), {}, 1.0, "a run starts at eta_max (t counts from 0)"),
        ((5, 10), {}, 0.5, "half way through a run the multiplier is the midpoint"),
        ((10, 10), {}, 1.0, "at t = period the schedule restarts"),
        ((3, 10), {}, 0.7938926261462366, "0.5 * (1 + cos(pi * 3 / 10))"),
        ((10, 10), {"mult": 2}, 1.0, "the first restart comes after `period` steps"),
        ((20, 10), {"mult": 2}, 0.5, "with mult = 2 the second run lasts 20 steps"),
        ((30, 10), {"mult": 2}, 1.0, "with mult = 2 the third run starts at step 10 + 20 = 30"),
        ((5, 10), {"eta_min": 0.1, "eta_max": 0.9}, 0.5, "eta_min + (eta_max - eta_min) * (1 + cos) / 2")]:
    call = ", ".join([str(a) for a in args] + [f"{k}={v}" for k, v in kwargs.items()])
    checks.close(cosine_warm_restarts(*args, **kwargs), want, f"cosine_warm_restarts({call})", rtol=1e-9, hint=hint)
values = [cosine_warm_restarts(t, 7, mult=2, eta_min=0.1, eta_max=0.9) for t in range(60)]
outside = [v for v in values if not 0.1 - 1e-12 <= v <= 0.9 + 1e-12]
assert not outside, f"the multiplier must stay in [eta_min, eta_max] = [0.1, 0.9]; got {outside[:3]}"
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
# for batch size $b$, $B$ training points and $T$ epochs ($BT/b$ steps in all). The cell below only evaluates the formula: per-step decay times the square root of the number of steps stays fixed by construction. That a $\lambda_{\text{norm}}$ tuned on a short run also suits a longer one is the paper's empirical finding, not tested here: that would take landscapes at several run lengths, and this notebook trains one (its grids keep $w\times\text{steps}$ fixed instead, see `LandscapeSettings.grid`).

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
# **AdamWR** is AdamW with the warm-restart schedule: the multiplier $\eta_t$ scales both the Adam step and the decay (Adam + L2 has no separate decay: $\eta_t$ scales its whole step, penalty included). Below, the landscape of Section 5 is recomputed with restarts (runs of 100 and 200 steps, each annealed to 0) and compared with the single cosine annealing of Section 5; the summary compares each method with decay 0 trained on the same restarts.

# %% experiment
restarts = lambda t: cosine_warm_restarts(t, period=SETTINGS.steps // 3, mult=2)
with_restarts = paper_landscape("adam", difficulty=DIFFICULTY, rules=MY_RULES, settings=SETTINGS,
                                schedule=restarts, device=DEVICE)
adamwr = {"AdamW (cosine)": results["AdamW (paper)"],   # from Section 5
          "AdamWR": with_restarts["AdamW (paper)"],
          "Adam + L2, restarts": with_restarts["Adam + L2"]}
wdlab.plots.heatmaps(adamwr, metric=["val_acc", "val_loss"], threshold=THRESHOLD, soft=True)
plt.show()
summary(with_restarts)   # with restarts, against decay 0 trained with the same restarts

# %% [markdown]
# **Question 6 (1 point).** Does the warm-restart schedule change the best accuracy or the shape of the good region on our data? Give one reason why the paper found restarts useful on long runs that our 300-step runs cannot show.

# %% [markdown] answer adamwr points=1
# Restarts change the numbers a little and the shapes not at all. AdamWR reaches about the same lowest loss as AdamW with one cosine annealing (0.343, accuracy 0.935 there, against 0.346 and 0.930), again at $w = 0.19$ and the largest learning rate, $\alpha = 1$, on the grid's edge, where noise puts it among near-equal learning rates. More settings reach 90% (80% against 62%). Adam + L2 with restarts reaches 0.352 (accuracy 0.933), with its best setting inside the grid ($\alpha = 0.019$, $\lambda' = 0.072$), against 0.354 in Section 5. Decay gains as much as before over decay 0 trained with the same restarts (0.036 and 0.045 in loss). The shapes are those of Section 5: AdamWR flat (slope $+0.01$), Adam + L2 diagonal ($-1.26$), as expected when the same $\eta_t$ multiplies step and decay. That restarts change so little is no surprise: the second run ends at step 300 with $\eta_t$ annealed to 0, as the single cosine does. The paper's benefit shows on long runs: annealing to a small learning rate at the end of each run gives a good model at every restart (anytime performance, useful for early stopping and ensembles), and normalized weight decay lets one $\lambda_{\text{norm}}$ serve runs of every length; two runs of 100 and 200 steps cannot show either.

# %% [markdown] mark_scheme adamwr
# - 0.5 pt: a comparison consistent with the student's AdamW/AdamWR maps and printed numbers (best accuracy/loss, share above the threshold, slopes).
# - 0.5 pt: a valid reason (anytime performance at each restart; annealing at the end of long runs; interplay with normalized decay for different run lengths).
