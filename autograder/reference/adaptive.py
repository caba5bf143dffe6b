"""Adaptive reference rules: RMSProp (bias-corrected and PyTorch's), Adam, Adam + L2, AdamW.

Same signature as every course rule (see ``sgd.py``). ``eta`` is the schedule multiplier eta_t.
"""
import torch

from ._util import nonzero


def rmsprop_bc(theta, grad, state, t, *, lr, beta2=0.999, eps=1e-8, l2=0.0, wd=0.0, eta=1.0):
    """The problem set's Algorithm 2: RMSProp with a bias-corrected second moment.

    v_t = beta2 v + (1 - beta2) g^2,  v_hat = v_t / (1 - beta2^t),
    theta_t = theta - eta_t (lr g / (sqrt(v_hat) + eps) + wd theta), with g = grad + l2 theta.
    """
    g = grad + l2 * theta
    v = beta2 * state["v"] + (1 - beta2) * g * g
    v_hat = v / (1 - beta2 ** t)
    return theta - eta * (lr * g / (v_hat.sqrt() + eps) + wd * theta), {"v": v}


def rmsprop_torch(theta, grad, state, t, *, lr, alpha=0.99, eps=1e-8, l2=0.0, momentum=0.0,
                  centered=False, eta=1.0):
    """``torch.optim.RMSprop``: no bias correction; eps outside the root; optional momentum."""
    g = grad + l2 * theta
    v = alpha * state["v"] + (1 - alpha) * g * g
    new = {"v": v}
    avg = v
    if centered:
        new["g_avg"] = alpha * state["g_avg"] + (1 - alpha) * g
        avg = v - new["g_avg"] * new["g_avg"]
    denom = avg.sqrt() + eps
    if nonzero(momentum):
        new["buf"] = momentum * state["buf"] + g / denom
        return theta - eta * lr * new["buf"], new
    return theta - eta * lr * g / denom, new


def adam(theta, grad, state, t, *, lr, l2=0.0, wd=0.0, beta1=0.9, beta2=0.999, eps=1e-8,
         eta=1.0, decay="paper", amsgrad=False):
    """Adam (problem set Algorithm 3), Adam + L2 (``l2``) and AdamW (``wd``).

    decay="paper": theta_t = theta - eta_t (lr m_hat / (sqrt(v_hat) + eps) + wd theta)
    decay="torch": the decay is multiplied by the learning rate, eta_t lr wd theta, as in
    ``torch.optim.AdamW`` (so torch wd = paper wd / lr under a constant schedule).
    amsgrad keeps the running maximum of v (not of v_hat), as PyTorch does.
    """
    g = grad + l2 * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    new = {"m": m, "v": v}
    if amsgrad:
        v = new["v_max"] = torch.maximum(state["v_max"], v)
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    decay_rate = {"paper": wd, "torch": lr * wd}[decay]
    return theta - eta * (lr * m_hat / (v_hat.sqrt() + eps) + decay_rate * theta), new

