"""Adaptive reference rules: RMSProp (bias-corrected and PyTorch's), Adam, Adam + L2, AdamW.

Same signature as every course rule (see ``sgd.py``). ``eta`` is the schedule multiplier eta_t.
"""
from __future__ import annotations

import torch

from ._util import decay_rate, nonzero


def rmsprop_bc(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
               lr: float | torch.Tensor, beta2: float | torch.Tensor = 0.999,
               eps: float | torch.Tensor = 1e-8, l2: float | torch.Tensor = 0.0,
               wd: float | torch.Tensor = 0.0, eta: float | torch.Tensor = 1.0,
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The problem set's Algorithm 2: RMSProp with a bias-corrected second moment.

    v_t = beta2 v + (1 - beta2) g^2,  v_hat = v_t / (1 - beta2^t),
    theta_t = theta - eta_t (lr g / (sqrt(v_hat) + eps) + wd theta), with g = grad + l2 theta.
    """
    g = grad + l2 * theta
    v = beta2 * state["v"] + (1 - beta2) * g * g
    v_hat = v / (1 - beta2 ** t)
    return theta - eta * (lr * g / (v_hat.sqrt() + eps) + wd * theta), {"v": v}


def rmsprop_torch(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
                  lr: float | torch.Tensor, alpha: float | torch.Tensor = 0.99,
                  eps: float | torch.Tensor = 1e-8, l2: float | torch.Tensor = 0.0,
                  momentum: float | torch.Tensor = 0.0, centered: bool = False,
                  eta: float | torch.Tensor = 1.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
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


def adam(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
         lr: float | torch.Tensor, l2: float | torch.Tensor = 0.0, wd: float | torch.Tensor = 0.0,
         beta1: float | torch.Tensor = 0.9, beta2: float | torch.Tensor = 0.999,
         eps: float | torch.Tensor = 1e-8, eta: float | torch.Tensor = 1.0, decay: str = "paper",
         amsgrad: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
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
    return theta - eta * (lr * m_hat / (v_hat.sqrt() + eps) + decay_rate(decay, lr, wd) * theta), new

