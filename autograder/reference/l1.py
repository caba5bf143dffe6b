"""L1 regularization with Adam: the penalty in the gradient versus a decoupled proximal step.

Same signature as every course rule (see ``sgd.py``). The penalty is l1 |theta|_1.

``adam_l1`` adds the subgradient l1 sign(theta) to the gradient (sign(0) = 0), so the penalty
is divided by Adam's sqrt(v_hat) like any gradient. Its non-zero fixed points satisfy the
lasso's condition g = -l1 sign(theta), but zero is not a fixed point unless g = 0 there: a weight
the lasso would zero crosses zero again and again, small but not zero.

``adamw_l1`` takes the Adam step on the loss alone and then the proximal step of
eta_t l1 |theta|_1, the soft threshold theta <- sign(theta) max(|theta| - eta_t l1, 0). It is
decoupled as AdamW's decay is (Loshchilov & Hutter's eta_t wd theta, not multiplied by lr): the
shrinkage is the same for every weight whatever its gradient history, and every weight that the
step leaves within eta_t l1 of zero becomes exactly zero.

What decoupled L1 converges to (full-batch gradients) is not the lasso with penalty l1. At a
fixed point (constant gradient g) Adam's step is lr g / (|g| + eps), about lr whatever |g| is,
and it has to balance the threshold l1: with r = l1 / lr, a non-zero weight needs
|g| = eps r / (1 - r) and a zero weight |g| <= eps r / (1 - r). Those are the lasso's
optimality conditions with penalty eps r / (1 - r): the sparsity is set by l1 / lr and by eps,
not by l1. With the default eps = 1e-8 that penalty is negligible and the weights end near
least squares (few exact zeros); with r >= 1 the threshold beats every step and all weights
become zero; eps around 1e-2 gives a usable lasso. The penalty is thus
tied to the learning rate: over an (lr, l1) grid, equal l1 / lr gives the same fixed point.
"""
from __future__ import annotations

import torch

from .adaptive import adam


def soft_threshold(theta: torch.Tensor, tau: float | torch.Tensor) -> torch.Tensor:
    """prox of tau |x|_1: argmin_x 1/2 (x - theta)^2 + tau |x| = sign(theta) max(|theta| - tau, 0)."""
    return theta.sign() * (theta.abs() - tau).clamp(min=0)


def adam_l1(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
            lr: float | torch.Tensor, l1: float | torch.Tensor, beta1: float | torch.Tensor = 0.9,
            beta2: float | torch.Tensor = 0.999, eps: float | torch.Tensor = 1e-8,
            eta: float | torch.Tensor = 1.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Adam on loss + l1 |theta|_1 through the subgradient: g = grad + l1 sign(theta)."""
    return adam(theta, grad + l1 * theta.sign(), state, t, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                eta=eta)


def adamw_l1(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
             lr: float | torch.Tensor, l1: float | torch.Tensor, beta1: float | torch.Tensor = 0.9,
             beta2: float | torch.Tensor = 0.999, eps: float | torch.Tensor = 1e-8,
             eta: float | torch.Tensor = 1.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Decoupled L1: the Adam step on ``grad``, then ``soft_threshold`` by eta_t l1 (no lr)."""
    stepped, new_state = adam(theta, grad, state, t, lr=lr, beta1=beta1, beta2=beta2, eps=eps, eta=eta)
    return soft_threshold(stepped, eta * l1), new_state
