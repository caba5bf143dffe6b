"""Source of notebook 03: Adam, Adam + L2, AdamW and the (lr, weight decay) landscape.

``python -m autograder.sources.adam_adamw`` writes solutions/<assignment>/03_adam_adamw.ipynb.
"""
from autograder.authoring import answer, build, code, mark_scheme, markdown, setup, solution, tests
from autograder.sources.adam_hidden import HELPER

NB = "03_adam_adamw"


def hidden(body):
    """A hidden-tests region: the shared helpers, then ``body``."""
    return ("### BEGIN HIDDEN TESTS\n" + HELPER.strip("\n") + "\n\n" + body.strip("\n")
            + '\nprint("hidden checks passed")\n### END HIDDEN TESTS')


cells = []
add = cells.append

add(markdown(r"""
# 03 · Adam, Adam + L2 and AdamW

This notebook finishes the story of the first two. You will

1. implement Adam exactly as written in the problem set (Algorithm 3) and check it against `torch.optim.Adam`;
2. add an L2 penalty to it (what `torch.optim.Adam(weight_decay=...)` does) and, separately, decoupled weight decay (AdamW in the form of Loshchilov & Hutter, 2019);
3. train a small network with each of your three rules, next to the `torch.optim` optimizer that should match it;
4. map validation accuracy and loss over a grid of learning rate × weight decay for Adam + L2 and for AdamW, with your own update rules, and measure the shape of the good region;
5. untangle the two conventions for "weight decay" in AdamW (the paper's and PyTorch's) and the timescale $\tau = 1/(\text{lr}\cdot\text{wd})$;
6. (extension) cosine annealing with warm restarts, normalized weight decay and AdamWR.

Graded functions: `adam_step`, `adam_l2_step`, `adamw_step`, `cosine_warm_restarts`, plus written answers.
Replace each `raise NotImplementedError(...)` with your code and run the check cell under it. The visible checks are only part of the grading: hidden tests run longer trajectories, both float32 and float64, tensor hyperparameters and edge cases.

**Course rule signature.** Every update rule is a pure function
`rule(theta, grad, state, t, **hyperparameters) -> (new_theta, new_state)`:
`state` is a dict of tensors shaped like `theta` (all zeros before the first step), `t` is the step number starting at 1, and the hyperparameters are floats *or tensors that broadcast against* `theta`. Do not modify the inputs in place (no `+=`, `mul_`, ...), and do not call `torch.optim`: write the arithmetic yourself. Because hyperparameters may be tensors of shape `[G, 1]`, the same function will later train a whole grid of configurations at once.

**Notation.** $g_t$ minibatch gradient at $\theta_{t-1}$; $\alpha$ learning rate (`lr`); $\eta_t$ schedule multiplier (`eta`, 1 unless a schedule is used); $\lambda'$ L2 coefficient (`l2`); $w$ decay factor (`wd`).
"""))

add(setup("""
import math
import time

import matplotlib.pyplot as plt

import wdlab
from data_gen import make_classification

DEVICE = wdlab.resolve_device("auto")
"""))

# ---------------------------------------------------------------- 1. Adam
add(markdown(r"""
## 1 · Adam

Adam keeps two exponential moving averages per coordinate, of the gradient and of its square, corrects both for their zero initialization, and divides one by the root of the other:

$$
\begin{aligned}
m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, &\qquad \hat m_t &= m_t / (1-\beta_1^t),\\
v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, &\qquad \hat v_t &= v_t / (1-\beta_2^t),\\
\theta_t &= \theta_{t-1} - \eta_t\,\alpha\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}. &&
\end{aligned}
$$

All operations are elementwise. Defaults: $\alpha = 10^{-3}$, $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$. Two details decide whether your numbers match a library to the last digit: $\epsilon$ is added **outside** the square root, and **after** the bias correction.

A useful sanity check: at $t = 1$, $\hat m_1 = g_1$ and $\sqrt{\hat v_1} = |g_1|$, so the first step moves every coordinate by almost exactly $\alpha$ against the sign of its gradient, whatever the gradient's size.

Implement `adam_step`; return the new parameters and the new state `{"m": m_t, "v": v_t}` (the raw averages, not the corrected ones).
"""))

add(solution(r'''
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
'''))

add(tests(NB, "adam_step", r'''
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
''' + hidden(r'''
_compare(adam_step, RULES["adam"], dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8), ("m", "v"))
_compare(adam_step, RULES["adam"], dict(lr=0.3, beta1=0.5, beta2=0.9, eps=1e-6, eta=0.5), ("m", "v"))
_inputs_untouched(adam_step, dict(lr=1e-3), ("m", "v"))
''')))

# ---------------------------------------------------------------- 2. Adam + L2
add(markdown(r"""
## 2 · Adam + L2

The usual way to regularize Adam is to add $\frac{\lambda'}{2}\lVert\theta\rVert^2$ to the loss, which adds $\lambda'\theta_{t-1}$ to the gradient **before** it enters the moving averages:

$$ g_t \leftarrow \nabla f_t(\theta_{t-1}) + \lambda'\theta_{t-1}, \qquad \text{then Adam as above.}$$

This is exactly what `torch.optim.Adam(..., weight_decay=λ')` does, despite the argument's name. Implement `adam_l2_step` (you may call your `adam_step`).
"""))

add(solution(r'''
def adam_l2_step(theta, grad, state, t, lr, l2, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
    """One step of Adam on f + (l2 / 2) ||theta||^2: the penalty's gradient joins `grad`
    before the moments. Returns (new_theta, {"m": ..., "v": ...})."""
    ### BEGIN SOLUTION
    return adam_step(theta, grad + l2 * theta, state, t, lr, beta1=beta1, beta2=beta2, eps=eps, eta=eta)
    ### END SOLUTION
'''))

add(tests(NB, "adam_l2_step", r'''
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
''' + hidden(r'''
_compare(adam_l2_step, RULES["adam_l2"], dict(lr=1e-2, l2=0.1), ("m", "v"))
_compare(adam_l2_step, RULES["adam_l2"], dict(lr=0.2, l2=2.0, beta1=0.7, beta2=0.95, eps=1e-6, eta=0.3), ("m", "v"))
_compare(adam_l2_step, RULES["adam_l2"], dict(lr=1e-3, l2=0.0), ("m", "v"))
_inputs_untouched(adam_l2_step, dict(lr=1e-3, l2=0.1), ("m", "v"))
''')))

add(markdown(r"""
### How much does L2 actually decay a weight inside Adam?

Write the Adam + L2 step as "gradient part + penalty part". Ignoring momentum for a moment ($\beta_1 = 0$), the penalty contributes $-\alpha\,\lambda'\theta_{t-1} / (\sqrt{\hat v_t}+\epsilon)$: the shrinkage is divided by the same per-coordinate scale as the gradient. Notebook 2 showed that no single L2 coefficient turns a non-scalar preconditioner into uniform decay (Proposition 2), and that decay equals a *scale-adjusted* L2 penalty (Proposition 3). The next cell makes this concrete: two coordinates with the same weight, one with small and one with large gradients.
"""))

add(code(r"""
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
"""))

add(markdown(r"""
**Question 1 (2 points).** Use the numbers above. Which of the two weights does L2 regularize more inside Adam, by roughly what factor, and why? What does decoupled weight decay do instead, and why is that closer to what we want from a regularizer?
"""))

add(answer("l2_inside_adam", 2, r"""
With $\beta_1 = 0$ the penalty moves a coordinate by $\alpha\lambda'\theta/(\sqrt{\hat v}+\epsilon)$ per step, so its decay rate is $\alpha\lambda'/\sqrt{\hat v}$: inversely proportional to the coordinate's typical gradient size. The coordinate with gradients of size 0.01 is decayed about $10/0.01 = 10^3$ times faster than the one with gradients of size 10 (the printed rates are about $10^{-3}$ and $10^{-6}$ per step). Inside Adam, L2 therefore barely touches exactly the weights with large or frequent gradients, and decays the rarely-updated ones strongly, so its strength is neither uniform nor controlled by $\lambda'$ alone. Decoupled decay shrinks every weight by the same fraction $\eta_t w$ per step, independent of the gradient history (the scale-adjusted penalty of Proposition 3), which is what "prefer small weights" means and keeps the regularization strength a single, interpretable number.
"""))
add(mark_scheme("l2_inside_adam", r"""
- 1 pt: the L2 shrinkage is divided by $\sqrt{\hat v}+\epsilon$; the small-gradient coordinate is decayed more, by a factor ~$10^3$ (ratio of gradient scales), consistent with the printed numbers.
- 1 pt: decoupled decay shrinks all weights by the same fraction per step, independent of gradient history; weights with large gradients are under-regularized by L2 in Adam.
"""))

# ---------------------------------------------------------------- 3. AdamW
add(markdown(r"""
## 3 · AdamW: decay outside the adaptive step

Loshchilov & Hutter (Algorithm 2 of the paper) keep the loss unregularized, run Adam on the plain gradient, and shrink the weights directly:

$$\theta_t = \theta_{t-1} - \eta_t\left(\alpha\,\frac{\hat m_t}{\sqrt{\hat v_t}+\epsilon} + w\,\theta_{t-1}\right).$$

The decay $w\theta_{t-1}$ never enters $m_t$ or $v_t$, is not divided by $\sqrt{\hat v_t}$, and is **not** multiplied by the learning rate $\alpha$, only by the schedule multiplier $\eta_t$. This is the form this course grades.

`torch.optim.AdamW` writes the decay as $\theta \leftarrow \theta\,(1 - \text{lr}\cdot\text{wd})$, multiplied by the learning rate. With a constant schedule the two agree when `lr` $= \alpha$ and `weight_decay` $= w/\alpha$: the check below uses that conversion (Section 6 comes back to it).

Implement `adamw_step`.
"""))

add(solution(r'''
def adamw_step(theta, grad, state, t, lr, wd, beta1=0.9, beta2=0.999, eps=1e-8, eta=1.0):
    """One AdamW step in the paper's form:
    theta - eta * (lr * m_hat / (sqrt(v_hat) + eps) + wd * theta); the moments see only `grad`.
    Returns (new_theta, {"m": ..., "v": ...})."""
    ### BEGIN SOLUTION
    stepped, new_state = adam_step(theta, grad, state, t, lr, beta1=beta1, beta2=beta2, eps=eps, eta=eta)
    return stepped - eta * wd * theta, new_state
    ### END SOLUTION
'''))

add(tests(NB, "adamw_step", r'''
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
''' + hidden(r'''
_compare(adamw_step, RULES["adamw_paper"], dict(lr=1e-2, wd=0.05), ("m", "v"))
_compare(adamw_step, RULES["adamw_paper"], dict(lr=0.2, wd=1e-3, beta1=0.7, beta2=0.95, eps=1e-6, eta=0.3), ("m", "v"))
_compare(adamw_step, RULES["adamw_paper"], dict(lr=1e-3, wd=0.0), ("m", "v"))
_inputs_untouched(adamw_step, dict(lr=1e-3, wd=0.1), ("m", "v"))
# The decay must not be scaled by lr (that is torch's convention, not the paper's).
_t, _g = torch.ones(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
_z = {"m": torch.zeros(3, dtype=torch.float64), "v": torch.zeros(3, dtype=torch.float64)}
_a, _ = adamw_step(_t, _g, _z, 1, lr=0.5, wd=0.1)
assert torch.allclose(_a, 0.9 * _t), "AdamW (paper form) decays by eta * wd, independent of lr"
''')))

# ---------------------------------------------------------------- 4. Training
add(markdown(r"""
## 4 · Your rules train a network, next to `torch.optim`

`wdlab.train(rule, data, ...)` trains a small MLP (inputs → 64 → 64 → classes, ReLU, cross-entropy) with **any** function of the course signature: here, yours. `wdlab.train_torch(make_optimizer, data, ...)` trains the same network from the same initial weights on the same minibatches with a `torch.optim` optimizer. If your rule is right the curves lie on top of each other.

The data come from `data_gen.make_classification`: 4 classes of Gaussian clusters, with a difficulty knob (`"easy"`, `"medium"`, `"hard"`) that changes the cluster separation, the share of flipped labels and the number of pure-noise features.
"""))

add(code(r"""
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
""", experiment=True))

add(markdown(r"""
In float32 the two implementations round differently, so tiny gaps (around $10^{-6}$ to $10^{-4}$) that grow slowly over the run are expected; a gap of order 0.1 means a different algorithm.
"""))

# ---------------------------------------------------------------- 5. Heatmaps
add(markdown(r"""
## 5 · The hyperparameter landscape: Adam + L2 against AdamW

We now train a whole grid of (learning rate, regularization) pairs and record the final validation accuracy and loss of each. `wdlab.sweep(rule, data, grid={...})` trains every configuration at once: it passes each hyperparameter as a tensor of shape `[G, 1]`, one row per configuration, which your rules broadcast because they are written with tensor arithmetic. `wdlab.plots.heatmaps` draws the maps on log axes with one colour scale, marks the best setting, outlines the region above a threshold and reports the slope of the best log-decay against log-learning-rate.

The regularization axes differ in meaning: $\lambda'$ for Adam + L2, the per-step decay $w$ for AdamW. Both are log-spaced over four decades that bracket "no effect" and "too much".

Change `DIFFICULTY` to `"easy"` or `"hard"` to change the data (the questions below ask you to).
"""))

add(code(r"""
DIFFICULTY = "medium"      # the difficulty knob: "easy", "medium" or "hard"
THRESHOLD = 0.90           # a setting is "good" when its validation accuracy reaches this
LRS = np.logspace(-3.5, -1.0, 6)
L2S = np.logspace(-4.0, 0.0, 7)
WDS = np.logspace(-4.5, -0.5, 7)
SWEEP = dict(steps=300, batch_size=100, seed=0)


_computed = {}   # sweeps already run, so later sections reuse them


def landscape(difficulty, rules=None):
    # Validation maps of Adam + L2 (grid over l2) and AdamW (grid over wd), with your rules.
    rules = rules or {"Adam + L2": (adam_l2_step, "l2", L2S), "AdamW": (adamw_step, "wd", WDS)}
    out = {}
    for name, (rule, key, values) in rules.items():
        tag = (difficulty, rule, key, tuple(values))
        if tag not in _computed:
            data = make_classification(difficulty=difficulty, seed=0, device=DEVICE)
            _computed[tag] = wdlab.sweep(rule, data, grid={"lr": LRS, key: values}, **SWEEP)
        out[name] = _computed[tag]
    return out


def summary(results, threshold=THRESHOLD):
    # Best validation accuracy, share of settings above the threshold, coupling slope.
    for name, r in results.items():
        print(f"{name:10s} best val acc {np.nanmax(r.val_acc):.3f} at {r.best('val_acc')}; "
              f"{np.mean(r.val_acc >= threshold):.0%} of settings reach {threshold:.0%}; "
              f"lowest val loss {np.nanmin(r.val_loss):.3f}; "
              f"slope of best log-decay vs log-lr: {wdlab.plots.coupling_slope(r):+.2f}")
"""))

add(code(r"""
start = time.perf_counter()
results = landscape(DIFFICULTY)
print(f"{len(LRS) * (len(L2S) + len(WDS))} training runs in {time.perf_counter() - start:.1f} s")
wdlab.plots.heatmaps(results, metric=["val_acc", "val_loss"], threshold=THRESHOLD)
plt.show()
summary(results)
""", experiment=True))

add(markdown(r"""
**Question 2 (2 points).** Compare the two accuracy maps: what is alike, what differs (position and shape of the good region, what happens at large regularization)? Then compare the two loss maps in the same way. Why can the loss maps look different from the accuracy maps?
"""))
add(answer("heatmaps_compare", 2, r"""
*(Model answer for the medium data and the grid above; the numbers are printed by the summary cell.)*

Alike: in both accuracy maps the learning rate matters most: the smallest learning rate underfits in 300 steps and the largest one is noisy, and both methods reach about the same best accuracy (about 0.93–0.94) in the middle rows. Both fail when the regularization is too strong: very large $\lambda'$ or $w$ pins the weights near zero and the accuracy drops to chance (0.25).

Different: where the good region ends as the regularization grows depends on the learning rate in different ways. For Adam + L2 the useful $\lambda'$ range sits in roughly the same columns for every learning rate (the fixed point of the regularized loss does not depend on $\alpha$), whereas for AdamW the largest tolerable $w$ grows with the learning rate: the weights settle where the decay $w\theta$ balances an Adam step of size about $\alpha$, so what matters is the ratio $\alpha / w$.

The loss maps are sharper than the accuracy maps: validation cross-entropy also penalizes over-confident logits, so it punishes too little regularization (large weights) at high learning rates, which accuracy hardly sees, and it separates settings that have the same accuracy. The best loss sits on a clearer ridge, and the measured slopes of the best setting (printed) tell how that ridge moves with the learning rate.
"""))
add(mark_scheme("heatmaps_compare", r"""
- 1 pt: accuracy maps compared with at least one correct similarity (lr dominates; similar best accuracy; collapse at too much regularization) and one difference in the position/shape of the good region, consistent with the student's plots.
- 1 pt: loss maps compared; notes that loss is more sensitive than accuracy (confidence/weight size), and relates the shape to how decay interacts with lr.
- Accept any answer that is consistent with the student's own heatmaps and numbers; do not require a diagonal if the plots do not show one.
"""))

add(markdown(r"""
### Harder or easier data

The next cell redraws the accuracy maps for another difficulty (change `OTHER` to `"easy"` if you like; `"hard"` flips 15% of the labels, shrinks the class separation and adds 10 pure-noise features).
"""))

add(code(r"""
OTHER = "hard"
other = landscape(OTHER)
OTHER_THRESHOLD = 0.8 if OTHER == "hard" else THRESHOLD   # label noise caps hard data near 0.85
wdlab.plots.heatmaps(other, metric=["val_acc", "val_loss"], threshold=OTHER_THRESHOLD)
plt.show()
summary(other, threshold=OTHER_THRESHOLD)
""", experiment=True))

add(markdown(r"""
**Question 3 (2 points).** How do the maps change with the data's difficulty, for each method, and compared with the medium data above?
"""))
add(answer("difficulty", 2, r"""
On the hard data every accuracy falls (label noise alone caps it near $0.85$), so a 90% threshold is no longer met and a lower one (80%) is used. Regularization matters more: with noisy labels and nuisance features the network overfits, the validation loss of weakly regularized runs at large learning rates climbs well above its minimum, and the best AdamW decay moves up (from about $3\times10^{-3}$ to $1.5\times10^{-2}$). The region of good settings shrinks, and the difference in how its edge moves with the learning rate (roughly fixed $\lambda'$ for Adam + L2, $w$ growing with $\alpha$ for AdamW) is easier to see in the loss maps. On easy data almost every setting that trains at all reaches very high accuracy; the maps are flat apart from the too-small learning rate and the too-large regularization, and the two methods are hard to tell apart.
"""))
add(mark_scheme("difficulty", r"""
- 1 pt: describes the change in overall level and in the size of the good region with difficulty, consistent with the plots.
- 1 pt: describes how regularization's role changes (more important on hard/noisy data; nearly irrelevant on easy data) and compares the two methods.
"""))

add(markdown(r"""
**Question 4 (2 points).** What do these maps suggest about tuning each optimizer? Report the best validation accuracy of each and the share of settings above the threshold (from the printed summary), and say whether the difference in best accuracy matters more or less than the difference in how the good region is shaped.
"""))
add(answer("tuning", 2, r"""
On the medium data both reach a similar best validation accuracy (printed: about 0.93–0.94 each; the difference is within what another seed would change) and a similar share of the grid clears 90%. What differs is how to search: for Adam + L2 the good $\lambda'$ hardly moves with the learning rate on this problem, but its effect inside Adam is uneven across weights (Question 1); for AdamW the good $w$ moves with $\alpha$ because the weights settle at a size proportional to $\alpha/w$, so after changing the learning rate one should move $w$ with it (or keep $\alpha/w$ fixed). In practice: tune the learning rate first on a coarse log grid, then the decay, and check the interaction on a few diagonal points; the shape of the good region decides how many runs that takes, more than the small difference in the best accuracy.
"""))
add(mark_scheme("tuning", r"""
- 1 pt: best accuracy and share above threshold reported for both methods, matching the student's printed numbers.
- 1 pt: a tuning conclusion tied to the shape of the good region (separable vs coupled; which ratio/product to keep fixed), consistent with the maps.
"""))

# ---------------------------------------------------------------- 6. Measured finding
add(markdown(r"""
## 6 · The paper's headline, measured

The paper's Figure 2 (a ResNet on CIFAR-10) shows the good region of Adam + L2 as a diagonal in the (learning rate, L2) plane and that of AdamW as axis-aligned: with decoupled decay, the best $w$ hardly moves when the learning rate moves. We measure the same shape here by the slope of the best log-regularization against log-learning-rate (a slope of $-1$ means the product $\alpha\cdot$decay is what matters, 0 means decay can be tuned on its own, $+1$ means the ratio $\alpha/$decay matters):
"""))

add(code(r"""
for label in (DIFFICULTY, OTHER):
    res = landscape(label)
    for metric in ("val_acc", "val_loss"):
        slopes = {name: round(wdlab.plots.coupling_slope(r, metric=metric), 2) for name, r in res.items()}
        print(f"{label:7s} data, best {metric:8s}: slope of best log-decay vs log-lr {slopes}")
""", experiment=True))

add(markdown(r"""
**What the measurement says, and why.** Read the printed slopes before this paragraph. On this small MLP the paper's picture does not come out cleanly, and the reason is instructive. The paper's network uses batch normalization: its output does not change when the weights before a normalization layer are rescaled, so only the *direction* of those weights matters, and decay acts through the speed at which that direction can move. Then only the per-step decay $w$ counts, and the good region of AdamW is axis-aligned. Our MLP has no normalization, so the *size* of the weights matters too. At equilibrium, AdamW's decay $w\theta$ balances an Adam step whose size is about $\alpha$ per coordinate, so the weights settle at a size proportional to $\alpha / w$: the best $w$ grows with $\alpha$ (positive slope). Adam + L2 instead converges towards the minimizer of $f + \frac{\lambda'}{2}\lVert\theta\rVert^2$, which depends on $\lambda'$ alone, so its best $\lambda'$ moves less with $\alpha$ than the paper's picture suggests once training has converged. Which regime you observe depends on the model (normalized or not), the training length relative to the decay timescale, and the metric: a good reminder that "decoupled" is a statement about a parametrization, not a law of nature.
"""))

# ---------------------------------------------------------------- 7. Conventions
add(markdown(r"""
## 7 · One number, two meanings: the paper's AdamW and PyTorch's

| implementation | decay applied per step | relation to the paper's $w$ |
|---|---|---|
| paper (Loshchilov & Hutter), this course's `adamw_step` | $\eta_t\, w\,\theta$ | — |
| `torch.optim.AdamW(lr, weight_decay)` | $\text{lr}_t\cdot\text{weight\_decay}\cdot\theta$ | weight_decay $= w/\alpha$ (constant schedule) |
| optax `adamw(learning_rate, weight_decay)` | same as PyTorch: multiplied by the learning rate | weight_decay $= w/\alpha$ |
| MosaicML `DecoupledAdamW(lr, weight_decay)` | $(\text{lr}_t/\text{lr}_0)\cdot\text{weight\_decay}\cdot\theta$ | weight_decay $= w$ (the schedule multiplier $\eta_t$ is $\text{lr}_t/\text{lr}_0$) |

So `weight_decay=0.01` in PyTorch with `lr=1e-3` decays the weights by $10^{-5}$ per step, while `weight_decay=0.01` in MosaicML decays them by $10^{-2}$ per step: a thousand times more. Moving a configuration between libraries without converting is a classic bug.

In PyTorch's convention the weights are an exponential moving average of the updates with the **timescale** $\tau = 1/(\text{lr}\cdot\text{wd})$ steps (Wang & Aitchison, 2024): the weights "forget" updates older than about $\tau$ steps. If what matters is $\tau$ (relative to the length of training), the good region of PyTorch's AdamW follows $\text{lr}\cdot\text{wd} = $ const: a diagonal of slope $-1$. In the paper's convention $\tau = 1/w$ does not involve the learning rate.

The next cell trains PyTorch's convention with *your* `adamw_step`: the wrapper passes $w = \text{lr}\cdot\text{wd}$. Dotted lines mark constant $\tau$; blank cells diverged ($\text{lr}\cdot\text{wd} > 1$ flips the weights' sign every step).
"""))

add(code(r"""
def adamw_torch_convention(theta, grad, state, t, lr, wd, **kw):
    # PyTorch's AdamW: the decay is lr * wd, i.e. the paper's w = lr * wd.
    return adamw_step(theta, grad, state, t, lr, wd=lr * wd, **kw)


WDS_TORCH = np.logspace(-2.0, 2.0, 7)
torch_conv = landscape(DIFFICULTY, {"AdamW (paper w)": (adamw_step, "wd", WDS),   # reused from Section 5
                                    "AdamW (PyTorch wd)": (adamw_torch_convention, "wd", WDS_TORCH)})
fig = wdlab.plots.heatmaps(torch_conv, metric="val_loss", threshold=None)
ax = fig.axes[1]
for tau in (30, 300, 3000):   # lines of constant timescale tau = 1 / (lr * wd)
    ax.plot(LRS, 1 / (tau * LRS), "w:", lw=1.5)
    ax.annotate(f"tau={tau}", (LRS[0], 1 / (tau * LRS[0])), color="w", fontsize=8)
ax.set_ylim(WDS_TORCH[0] / 1.8, WDS_TORCH[-1] * 1.8)
plt.show()
summary(torch_conv)
r = torch_conv["AdamW (PyTorch wd)"]
best = r.best("val_loss")
print(f"best PyTorch-convention setting {best}: tau = 1/(lr*wd) = {1 / (best['lr'] * best['wd']):.0f} steps "
      f"for a run of {SWEEP['steps']} steps")
""", experiment=True))

add(markdown(r"""
**Question 5 (2 points).** (a) A colleague trains with `torch.optim.AdamW(lr=3e-4, weight_decay=0.1)` and a constant schedule. What is $w$ in the paper's convention, and what is the timescale $\tau$ in steps? (b) They double the learning rate. What must they do to `weight_decay` to keep $\tau$ fixed, and what would they have to do in the paper's convention? (c) Does the heatmap above support "keep $\text{lr}\cdot\text{wd}$ fixed" for PyTorch's AdamW on our data? Quote the slope. Check (a) and (b) numerically in the cell below the answer.
"""))
add(answer("conventions", 2, r"""
(a) $w = \text{lr}\cdot\text{wd} = 3\times10^{-4}\cdot 0.1 = 3\times10^{-5}$ per step; $\tau = 1/(\text{lr}\cdot\text{wd}) = 1/(3\times10^{-5}) \approx 33{,}333$ steps.

(b) Halve `weight_decay` (to 0.05) so that $\text{lr}\cdot\text{wd}$ stays $3\times10^{-5}$. In the paper's convention $\tau = 1/w$ does not involve $\alpha$: leave $w$ unchanged.

(c) Not on our data. Both maps show the same kind of runs with $w = \text{lr}\cdot\text{wd}$, so on a log grid $\log \text{wd} = \log w - \log \text{lr}$ and the PyTorch-form slope is roughly the paper-form slope minus one (not exactly: the two grids cover different ranges). The paper-form slope is clearly positive (about $+1$), so the PyTorch-form slope is close to 0 (about $+0.1$): the best `weight_decay` hardly moves with the learning rate, and the good region crosses the lines of constant $\tau$ instead of following them. The timescale argument assumes only the weights' direction matters (normalized networks) or that the run is short compared with $\tau$; our unnormalized MLP at equilibrium is sensitive to the weight size $\propto 1/\text{wd}$ instead.
"""))
add(mark_scheme("conventions", r"""
- 0.5 pt: $w = 3\times10^{-5}$ and $\tau \approx 3.3\times10^4$ steps.
- 0.5 pt: halve weight_decay in PyTorch; leave $w$ unchanged in the paper's convention.
- 1 pt: reads the measured slope correctly from their own output and relates it to the timescale claim (support or not, with a reason).
"""))

add(code(r"""
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
"""))

# ---------------------------------------------------------------- 8. Extensions
add(markdown(r"""
## 8 · Extension: warm restarts, normalized weight decay and AdamWR

**Cosine annealing with warm restarts** (SGDR, Loshchilov & Hutter 2017) multiplies the learning rate by

$$\eta_t = \eta_{\min} + \tfrac12(\eta_{\max}-\eta_{\min})\big(1 + \cos(\pi\, T_{\text{cur}}/T_i)\big),$$

where $T_i$ is the length of the current run and $T_{\text{cur}}$ the number of steps since the last restart. The first run lasts `period` steps; each restart multiplies the run length by `mult` (1 = equal runs, 2 = each run twice as long). Here `t` counts steps from 0, so $\eta_0 = \eta_{\max}$ and a restart at step `period` jumps back to $\eta_{\max}$.

Implement `cosine_warm_restarts(t, period, mult=1, eta_min=0.0, eta_max=1.0)` returning a float.
"""))

add(solution(r'''
def cosine_warm_restarts(t, period, mult=1, eta_min=0.0, eta_max=1.0):
    """SGDR schedule multiplier at step t (counted from 0): first run `period` steps long,
    each later run `mult` times longer than the one before."""
    ### BEGIN SOLUTION
    t_cur, t_i = t, period
    while t_cur >= t_i:
        t_cur, t_i = t_cur - t_i, t_i * mult
    return eta_min + 0.5 * (eta_max - eta_min) * (1 + math.cos(math.pi * t_cur / t_i))
    ### END SOLUTION
'''))

add(tests(NB, "cosine_warm_restarts", r'''
# Visible checks: start, middle, restart, longer runs with mult = 2, range.
assert math.isclose(cosine_warm_restarts(0, 10), 1.0), "a run starts at eta_max"
assert math.isclose(cosine_warm_restarts(5, 10), 0.5), "half way through a run the multiplier is the midpoint"
assert math.isclose(cosine_warm_restarts(10, 10), 1.0), "at t = period the schedule restarts"
assert math.isclose(cosine_warm_restarts(10, 10, mult=2), 1.0) and \
    math.isclose(cosine_warm_restarts(20, 10, mult=2), 0.5), "with mult = 2 the second run lasts 20 steps"
values = [cosine_warm_restarts(t, 7, mult=2, eta_min=0.1, eta_max=0.9) for t in range(60)]
assert all(0.1 - 1e-12 <= v <= 0.9 + 1e-12 for v in values), "the multiplier must stay in [eta_min, eta_max]"
print("cosine_warm_restarts: visible checks passed")
''' + r'''
### BEGIN HIDDEN TESTS
from autograder.reference import cosine_warm_restarts as _reference
for _period, _mult, _lo, _hi in [(10, 1, 0.0, 1.0), (7, 2, 0.1, 0.9), (3, 3, 0.0, 2.0), (1, 1, 0.2, 0.2), (50, 2, 1e-3, 1.0)]:
    for _t in range(0, 400, 1):
        _want = _reference(_t, _period, mult=_mult, eta_min=_lo, eta_max=_hi)
        _got = cosine_warm_restarts(_t, _period, mult=_mult, eta_min=_lo, eta_max=_hi)
        assert math.isclose(float(_got), _want, rel_tol=1e-9, abs_tol=1e-12), \
            f"t={_t}, period={_period}, mult={_mult}: got {_got}, expected {_want}"
assert math.isclose(float(cosine_warm_restarts(10 ** 6 + 3, 10)), _reference(10 ** 6 + 3, 10), abs_tol=1e-12)
### END HIDDEN TESTS
'''))

add(code(r"""
steps = np.arange(300)
fig, ax = plt.subplots(figsize=(8, 2.8))
for period, mult in [(100, 1), (20, 2)]:
    ax.plot(steps, [cosine_warm_restarts(int(t), period, mult) for t in steps], label=f"period={period}, mult={mult}")
ax.set(xlabel="step t", ylabel="multiplier $\\eta_t$", title="Cosine annealing with warm restarts")
ax.legend()
plt.show()
""", experiment=True))

add(markdown(r"""
**Normalized weight decay.** The best decay factor depends on how long one trains: more steps means more total shrinkage. The paper proposes to tune a normalized value $\lambda_{\text{norm}}$ and use

$$\lambda = \lambda_{\text{norm}}\sqrt{\frac{b}{B\,T}}$$

for batch size $b$, $B$ training points and $T$ epochs ($BT/b$ is the total number of steps). The cell below checks the formula's purpose: the product of per-step decay and the square root of the number of steps stays fixed, so a $\lambda_{\text{norm}}$ tuned on a short run transfers to a longer one.
"""))

add(code(r"""
def normalized_weight_decay(wd_norm, batch_size, n_train, epochs):
    # lambda = lambda_norm * sqrt(b / (B T)).
    return wd_norm * math.sqrt(batch_size / (n_train * epochs))


for epochs in (5, 20, 80):
    w_epoch = normalized_weight_decay(0.05, batch_size=100, n_train=2000, epochs=epochs)
    total_steps = 2000 * epochs // 100
    print(f"{epochs:3d} epochs = {total_steps:5d} steps: w = {w_epoch:.2e}, "
          f"w * sqrt(steps) = {w_epoch * math.sqrt(total_steps):.3f}")
"""))

add(markdown(r"""
**AdamWR** is AdamW with the warm-restart schedule: the multiplier $\eta_t$ scales both the Adam step and the decay. Below, the AdamW landscape of Section 5 is recomputed with restarts (a run of 100 steps, then one of 200), and compared with the constant schedule.
"""))

add(code(r"""
restarts = lambda t: cosine_warm_restarts(t, period=SWEEP["steps"] // 3, mult=2)
data = make_classification(difficulty=DIFFICULTY, seed=0, device=DEVICE)
adamwr = {"AdamW": landscape(DIFFICULTY)["AdamW"],   # reused from Section 5
          "AdamWR": wdlab.sweep(adamw_step, data, grid={"lr": LRS, "wd": WDS}, schedule=restarts, **SWEEP)}
wdlab.plots.heatmaps(adamwr, metric="val_acc", threshold=THRESHOLD)
plt.show()
summary(adamwr)
""", experiment=True))

add(markdown(r"""
**Question 6 (1 point).** Does the warm-restart schedule change the best accuracy or the shape of the good region on our data? Give one reason why the paper found restarts useful on long runs that our 300-step runs cannot show.
"""))
add(answer("adamwr", 1, r"""
On our grid AdamWR reaches a slightly higher best accuracy than AdamW (about 0.95 against 0.93) and a clearly larger share of good settings (about 60% against 33%): annealing ends each run with small steps, so large learning rates, noisy under a constant schedule, now finish well. The good region grows towards large learning rates; its best $w$ still grows with the learning rate. The paper's benefit is on long runs: annealing to a small learning rate at the end of each run gives a good model at every restart (anytime performance), and with normalized decay the same $\lambda_{\text{norm}}$ works for every run length. With one short run of 300 steps there is no "long run" to anneal over, so that advantage cannot appear here.
"""))
add(mark_scheme("adamwr", r"""
- 0.5 pt: a comparison consistent with the student's AdamW/AdamWR maps and printed numbers.
- 0.5 pt: a valid reason (anytime performance at each restart; annealing at the end of long runs; interplay with normalized decay for different run lengths).
"""))

if __name__ == "__main__":
    print(build(cells, NB))
