"""Least-squares regression with a known ridge solution (for the theory parts).

Loss: f(w) = ||X w - y||^2 / (2 n) + (l2 / 2) ||w||^2, minimised by
w* = (X^T X / n + l2 I)^{-1} X^T y / n. ``condition_number`` is the ratio of the largest to the
smallest singular value of X / sqrt(n), i.e. the curvature spread of the unregularized loss is
its square.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from wdlab.device import resolve_device

from ._checks import check_float, check_int


@dataclass
class Regression:
    x: torch.Tensor        # [n, d]
    y: torch.Tensor        # [n]
    w_true: torch.Tensor   # [d], the weights that generated y

    def loss(self, w: torch.Tensor, l2: float = 0.0) -> torch.Tensor:
        """f(w) = ||X w - y||^2 / (2 n) + (l2 / 2) ||w||^2, a scalar tensor."""
        r = self.x @ w - self.y
        return 0.5 * (r @ r) / len(self.y) + 0.5 * l2 * (w @ w)

    def grad(self, w: torch.Tensor, l2: float = 0.0) -> torch.Tensor:
        """The gradient of ``loss`` at ``w``, shaped like ``w``."""
        return self.x.T @ (self.x @ w - self.y) / len(self.y) + l2 * w

    def ridge_solution(self, l2: float) -> torch.Tensor:
        """The minimiser of ``loss`` for this ``l2`` (see the module-level ``ridge_solution``)."""
        return ridge_solution(self.x, self.y, l2)


def ridge_solution(x: torch.Tensor, y: torch.Tensor, l2: float) -> torch.Tensor:
    """Closed-form minimiser of ||x w - y||^2 / (2 n) + (l2 / 2) ||w||^2."""
    n, d = x.shape
    eye = torch.eye(d, dtype=x.dtype, device=x.device)
    return torch.linalg.solve(x.T @ x / n + l2 * eye, x.T @ y / n)


def make_regression(n: int = 200, d: int = 10, condition_number: float = 10.0, noise: float = 0.1,
                    seed: int = 0, device: torch.device | str = "cpu",
                    dtype: torch.dtype = torch.float64) -> Regression:
    """X = sqrt(n) U diag(s) V^T with s log-spaced from 1 down to 1 / condition_number."""
    check_int("n", n, 2)
    check_int("d", d, 1, n)
    check_int("seed", seed, 0)
    check_float("condition_number", condition_number, 1.0)
    check_float("noise", noise, 0.0)
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, d)))
    v, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = np.logspace(0.0, -np.log10(condition_number), d)
    x = np.sqrt(n) * (u * s) @ v.T
    w_true = rng.standard_normal(d)
    y = x @ w_true + noise * rng.standard_normal(n)
    dev = resolve_device(device)
    as_t = lambda a: torch.from_numpy(a).to(dtype=dtype, device=dev)  # noqa: E731
    return Regression(as_t(x), as_t(y), as_t(w_true))
