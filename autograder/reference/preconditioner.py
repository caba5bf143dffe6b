"""Adaptive methods as preconditioned descent: theta_t = theta_{t-1} - lr M_t g_t.

``grads`` is a gradient history shaped [t, m] (oldest first); matrices are [m, m].
"""
from __future__ import annotations

import torch


def outer_history(grads: torch.Tensor, a: float) -> torch.Tensor:
    """G_t(a) = sum_{tau=1..t} a^(t - tau) g_tau g_tau^T."""
    t = grads.shape[0]
    weights = a ** torch.arange(t - 1, -1, -1, dtype=grads.dtype, device=grads.device)
    return torch.einsum("t,ti,tj->ij", weights, grads, grads)


def rmsprop_preconditioner(grads: torch.Tensor, beta2: float) -> torch.Tensor:
    """M_t of bias-corrected RMSProp with v_0 = 0, eps = 0:
    [ (1 - beta2) / (1 - beta2^t) * Diag(diag(G_t(beta2))) ]^(-1/2)."""
    t = grads.shape[0]
    v_hat = (1 - beta2) / (1 - beta2 ** t) * torch.diagonal(outer_history(grads, beta2))
    return torch.diag(v_hat.rsqrt())


def full_matrix_preconditioner(grads: torch.Tensor, a: float = 1.0, eps: float = 1e-8) -> torch.Tensor:
    """Full-matrix AdaGrad (a = 1) / GGT-style (a < 1): (G_t(a) + eps I)^(-1/2)."""
    g = outer_history(grads, a)
    evals, evecs = torch.linalg.eigh(g + eps * torch.eye(g.shape[0], dtype=g.dtype, device=g.device))
    return evecs @ torch.diag(evals.rsqrt()) @ evecs.T


def scale_adjusted_l2(theta: torch.Tensor, M: torch.Tensor, l2: float | torch.Tensor) -> torch.Tensor:
    """Proposition 3's penalty (l2 / 2) ||M^(-1/2) theta||^2 = (l2 / 2) theta^T M^-1 theta."""
    return 0.5 * l2 * theta @ torch.linalg.solve(M, theta)


def scale_adjusted_l2_grad(theta: torch.Tensor, M: torch.Tensor,
                           l2: float | torch.Tensor) -> torch.Tensor:
    """Gradient of ``scale_adjusted_l2``: l2 M^-1 theta, so that lr M (grad f + it) decays by lr l2."""
    return l2 * torch.linalg.solve(M, theta)
