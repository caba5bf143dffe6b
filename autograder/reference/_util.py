"""Small helpers shared by the reference rules."""
from __future__ import annotations

import torch


def nonzero(x: float | torch.Tensor) -> bool:
    """False only for a plain scalar zero: a tensor of per-configuration values counts as set."""
    return not (isinstance(x, (int, float)) and x == 0)


DECAYS = ("paper", "torch")


def decay_rate(decay: str, lr: float | torch.Tensor, wd: float | torch.Tensor) -> float | torch.Tensor:
    """The coefficient of theta in a decoupled decay: wd ("paper") or lr wd ("torch")."""
    if decay == "paper":
        return wd
    if decay == "torch":
        return lr * wd
    raise ValueError(f"decay={decay!r} is not a decay convention; use one of {DECAYS}")
