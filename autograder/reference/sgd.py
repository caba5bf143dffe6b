"""SGD-family reference rules: PyTorch's SGD, the paper's SGD/SGDW, the problem set's momentum.

Every rule has the course signature ``rule(theta, grad, state, t, **hparams) -> (theta, state)``:
``state`` is a dict of tensors shaped like ``theta`` (zeros before the first step), ``t`` is the
1-based step number, and hyperparameters are floats or tensors that broadcast against ``theta``
(shape [G, 1, ...] trains G configurations at once). Inputs are never modified in place.
"""
from __future__ import annotations

import torch

from ._util import nonzero


def sgd_torch(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
              lr: float | torch.Tensor, l2: float | torch.Tensor = 0.0,
              momentum: float | torch.Tensor = 0.0, dampening: float | torch.Tensor = 0.0,
              nesterov: bool = False, eta: float | torch.Tensor = 1.0,
              ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``torch.optim.SGD``: L2 enters the gradient, the buffer starts as the first gradient."""
    d = grad + l2 * theta
    if not nonzero(momentum):
        return theta - eta * lr * d, state
    buf = d if t == 1 else momentum * state["buf"] + (1 - dampening) * d
    step = d + momentum * buf if nesterov else buf
    return theta - eta * lr * step, {"buf": buf}


def sgd_paper(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
              lr: float | torch.Tensor, l2: float | torch.Tensor = 0.0, wd: float | torch.Tensor = 0.0,
              beta1: float | torch.Tensor = 0.9, eta: float | torch.Tensor = 1.0,
              ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Loshchilov & Hutter, Algorithm 1: SGD (+L2 through ``l2``) and SGDW (decay ``wd``).

    m_t = beta1 m_{t-1} + eta_t lr (g_t + l2 theta);  theta_t = theta - m_t - eta_t wd theta.
    The decay never enters the momentum buffer and is not multiplied by the learning rate.
    """
    m = beta1 * state["m"] + eta * lr * (grad + l2 * theta)
    return theta - m - eta * wd * theta, {"m": m}


def sgd_problem_set(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
                    lr: float | torch.Tensor, l2: float | torch.Tensor = 0.0,
                    wd: float | torch.Tensor = 0.0, beta1: float | torch.Tensor = 0.9,
                    eta: float | torch.Tensor = 1.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The problem set's Algorithm 1, where beta1 weights the *new* gradient.

    m_t = (1 - beta1) m_{t-1} + beta1 (g_t + l2 theta);  theta_t = theta - eta_t (lr m_t + wd theta).
    """
    m = (1 - beta1) * state["m"] + beta1 * (grad + l2 * theta)
    return theta - eta * (lr * m + wd * theta), {"m": m}

