"""Schedule multipliers eta_t and normalized weight decay (Loshchilov & Hutter, Sec. 3-4)."""
from __future__ import annotations

import math


def constant(t: int) -> float:
    """eta_t = 1 for every step."""
    return 1.0


def cosine_warm_restarts(t: int, period: int, mult: int = 1, eta_min: float = 0.0,
                         eta_max: float = 1.0) -> float:
    """SGDR: eta_t = eta_min + (eta_max - eta_min) (1 + cos(pi T_cur / T_i)) / 2.

    ``t`` counts steps from 0; the first run lasts ``period`` steps, each restart multiplies the
    run length by ``mult``; T_cur is the number of steps since the last restart.
    """
    if period <= 0 or mult < 1 or t < 0:
        raise ValueError(f"need period > 0, mult >= 1, t >= 0; got {period}, {mult}, {t}")
    t_cur, t_i = t, period
    while t_cur >= t_i:
        t_cur, t_i = t_cur - t_i, t_i * mult
    return eta_min + 0.5 * (eta_max - eta_min) * (1 + math.cos(math.pi * t_cur / t_i))


def normalized_weight_decay(wd_norm: float, batch_size: int, n_train: int, epochs: int) -> float:
    """lambda = lambda_norm * sqrt(b / (B T)): the same wd_norm suits runs of any length."""
    if min(batch_size, n_train, epochs) <= 0:
        raise ValueError("batch_size, n_train and epochs must be positive")
    return wd_norm * math.sqrt(batch_size / (n_train * epochs))
