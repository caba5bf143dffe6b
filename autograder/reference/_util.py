"""Small helpers shared by the reference rules."""
from __future__ import annotations

import torch


def nonzero(x: float | torch.Tensor) -> bool:
    """False only for a plain scalar zero: a tensor of per-configuration values counts as set."""
    return not (isinstance(x, (int, float)) and x == 0)
