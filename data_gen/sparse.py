"""Sparse linear regression: k of d weights are non-zero (for the L1 parts).

y = X w* + noise * e, with X's rows Gaussian with covariance C_ij = correlation^|i - j| (unit
variances; 0 gives independent features) and e standard normal. w* has exactly k non-zeros at
random positions, random signs and magnitudes uniform in [0.5, 1.5], so every true weight stands
out of the noise. The defaults (n = 200 > k log d ~ 20, noise 0.5) are a problem the lasso solves:
its usual penalty noise sqrt(2 log d / n) ~ 0.14 recovers the support.

Loss: f(w) = ||X w - y||^2 / (2 n), the convention of ``make_regression`` and of scikit-learn's
``Lasso`` (whose ``alpha`` is then the L1 penalty of f(w) + alpha ||w||_1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from wdlab.device import resolve_device

from ._checks import check_float, check_int

MAGNITUDES = (0.5, 1.5)  # |w*_i| on the support: bounded away from zero


@dataclass
class SparseRegression:
    x_train: torch.Tensor  # [n_train, d]
    y_train: torch.Tensor  # [n_train]
    x_val: torch.Tensor    # [n_val, d]
    y_val: torch.Tensor    # [n_val]
    w_star: torch.Tensor   # [d], exactly k non-zeros
    support: torch.Tensor  # [d] bool, w_star != 0
    noise: float

    @property
    def k(self) -> int:
        """The number of non-zero true weights."""
        return int(self.support.sum())

    def loss(self, w: torch.Tensor, split: str = "train") -> torch.Tensor:
        """f(w) on ``split`` ("train" or "val") for w [..., d]: a tensor shaped [...]."""
        x, y = self._split(split)
        return least_squares(w, x, y)[0]

    def _split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        return (self.x_train, self.y_train) if split == "train" else (self.x_val, self.y_val)


def least_squares(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f(w) = ||x w - y||^2 / (2 n) and its gradient x^T (x w - y) / n, for many w at once:
    w [..., d] gives losses [...] and gradients [..., d]."""
    residual = w @ x.T - y  # [..., n]
    n = y.shape[-1]
    return 0.5 * (residual * residual).sum(-1) / n, residual @ x / n


def make_sparse_regression(n_train: int = 200, n_val: int = 200, d: int = 50, k: int = 5,
                           noise: float = 0.5, correlation: float = 0.0, seed: int = 0,
                           device: torch.device | str = "cpu",
                           dtype: torch.dtype = torch.float64) -> SparseRegression:
    """A sparse regression problem (see the module docstring); the same seed gives the same data
    on every device."""
    check_int("n_train", n_train, 2)
    check_int("n_val", n_val, 1)
    check_int("d", d, 1)
    check_int("k", k, 1, d)
    check_float("noise", noise, 0.0)
    check_float("correlation", correlation, 0.0, 1.0)
    if correlation == 1.0:
        raise ValueError("correlation must be below 1 (at 1 every feature is the same and the "
                         "support cannot be identified), got 1.0")
    check_int("seed", seed, 0)
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    rng = np.random.default_rng(seed)
    # C = L L^T for C_ij = rho^|i-j|: x_j = rho x_{j-1} + sqrt(1 - rho^2) z_j (an AR(1) chain)
    z = rng.standard_normal((n_train + n_val, d))
    x = np.empty_like(z)
    x[:, 0] = z[:, 0]
    for j in range(1, d):
        x[:, j] = correlation * x[:, j - 1] + np.sqrt(1.0 - correlation ** 2) * z[:, j]
    support = np.zeros(d, dtype=bool)
    support[rng.choice(d, size=k, replace=False)] = True
    w_star = np.zeros(d)
    w_star[support] = rng.choice([-1.0, 1.0], size=k) * rng.uniform(*MAGNITUDES, size=k)
    y = x @ w_star + noise * rng.standard_normal(n_train + n_val)
    dev = resolve_device(device)
    as_t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(dtype=dtype, device=dev)  # noqa: E731
    return SparseRegression(as_t(x[:n_train]), as_t(y[:n_train]), as_t(x[n_train:]), as_t(y[n_train:]),
                            as_t(w_star), torch.from_numpy(support).to(dev), float(noise))
