"""The optimizer family beyond Adam: Nesterov momentum, Adagrad, Adadelta, Adamax, NAdam, RAdam.

Same signature as every course rule (see ``sgd.py``): pure, a state of zeros before step 1,
hyperparameters as floats or tensors that broadcast against ``theta``. ``eta`` is the schedule
multiplier eta_t and scales the whole step (the learning rate and any decoupled decay alike).

Each rule follows torch.optim's convention (the tests hold it to torch.optim within 1e-10 over
500 float64 steps); its docstring says where torch differs from the paper that introduced the
rule. The regularizer
is L2 in the gradient (``l2``, torch's ``weight_decay``) for every rule, and NAdam and RAdam also
take a decoupled decay (``wd``, torch's ``decoupled_weight_decay=True``) with ``decay`` chosen as
in ``adam``: "paper" subtracts eta_t wd theta, "torch" subtracts eta_t lr wd theta.
"""
from __future__ import annotations

import torch

from ._util import decay_rate
from .sgd import sgd_torch


def nesterov(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
             lr: float | torch.Tensor, momentum: float | torch.Tensor = 0.9,
             l2: float | torch.Tensor = 0.0, eta: float | torch.Tensor = 1.0,
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Nesterov momentum as ``torch.optim.SGD(nesterov=True)`` (no dampening), L2 in the gradient.

    b_t = momentum b_{t-1} + g_t (b_1 = g_1),  theta_t = theta - eta_t lr (g_t + momentum b_t),
    with g = grad + l2 theta. This is Sutskever et al.'s look-ahead, v_t = momentum v_{t-1}
    - lr grad f(theta + momentum v_{t-1}), written in the look-ahead point phi = theta +
    momentum v (Bengio et al. 2013): the gradient is taken where the rule stands, and the
    parameters it returns are the look-ahead point, not Sutskever's theta.
    """
    return sgd_torch(theta, grad, state, t, lr=lr, l2=l2, momentum=momentum, nesterov=True, eta=eta)


def adagrad(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
            lr: float | torch.Tensor, lr_decay: float | torch.Tensor = 0.0,
            initial_accumulator_value: float | torch.Tensor = 0.0, eps: float | torch.Tensor = 1e-10,
            l2: float | torch.Tensor = 0.0, eta: float | torch.Tensor = 1.0,
            ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Adagrad as ``torch.optim.Adagrad``, L2 in the gradient.

    s_t = s_{t-1} + g^2 with s_0 = initial_accumulator_value,
    theta_t = theta - eta_t lr / (1 + (t - 1) lr_decay) g / (sqrt(s_t) + eps).
    eps is added outside the root (some texts put it inside, sqrt(s_t + eps)). The state holds s_t
    from step 1 on; before step 1 it is zeros like every course state, so step 1 adds
    ``initial_accumulator_value`` itself.
    """
    g = grad + l2 * theta
    previous = state["sum"] + initial_accumulator_value if t == 1 else state["sum"]
    acc = previous + g * g
    clr = lr / (1 + (t - 1) * lr_decay)
    return theta - eta * clr * g / (acc.sqrt() + eps), {"sum": acc}


def adadelta(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
             lr: float | torch.Tensor, rho: float | torch.Tensor = 0.9, eps: float | torch.Tensor = 1e-6,
             l2: float | torch.Tensor = 0.0, eta: float | torch.Tensor = 1.0,
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Adadelta as ``torch.optim.Adadelta``, L2 in the gradient.

    E[g^2]_t = rho E[g^2] + (1 - rho) g^2,  d_t = sqrt(E[dx^2] + eps) / sqrt(E[g^2]_t + eps) g,
    E[dx^2]_t = rho E[dx^2] + (1 - rho) d_t^2,  theta_t = theta - eta_t lr d_t.
    eps sits inside both roots, as in Zeiler's paper; ``lr`` is torch's multiplier of the step,
    which Zeiler's rule does not have (lr = 1 is the paper's rule; torch's default too).
    """
    g = grad + l2 * theta
    square_avg = rho * state["square_avg"] + (1 - rho) * g * g
    delta = (state["acc_delta"] + eps).sqrt() / (square_avg + eps).sqrt() * g
    acc_delta = rho * state["acc_delta"] + (1 - rho) * delta * delta
    return theta - eta * lr * delta, {"square_avg": square_avg, "acc_delta": acc_delta}


def adamax(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
           lr: float | torch.Tensor, beta1: float | torch.Tensor = 0.9,
           beta2: float | torch.Tensor = 0.999, eps: float | torch.Tensor = 1e-8,
           l2: float | torch.Tensor = 0.0, eta: float | torch.Tensor = 1.0,
           ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Adamax as ``torch.optim.Adamax``, L2 in the gradient.

    m_t = beta1 m + (1 - beta1) g,  u_t = max(beta2 u, |g| + eps),
    theta_t = theta - eta_t lr / (1 - beta1^t) m_t / u_t.
    The infinity norm u_t needs no bias correction (a max does not shrink towards its zero
    start as an average does), so only m is corrected. Kingma & Ba's Adamax has no eps; torch
    adds it inside the max, which keeps u_t > 0 when gradients are zero from the start.
    """
    g = grad + l2 * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    u = torch.maximum(beta2 * state["u"], g.abs() + eps)
    return theta - eta * lr / (1 - beta1 ** t) * m / u, {"m": m, "u": u}


def nadam(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
          lr: float | torch.Tensor, beta1: float | torch.Tensor = 0.9,
          beta2: float | torch.Tensor = 0.999, eps: float | torch.Tensor = 1e-8,
          momentum_decay: float | torch.Tensor = 4e-3, l2: float | torch.Tensor = 0.0,
          wd: float | torch.Tensor = 0.0, decay: str = "paper", eta: float | torch.Tensor = 1.0,
          ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """NAdam as ``torch.optim.NAdam``: L2 through ``l2``, decoupled decay through ``wd``.

    mu_t = beta1 (1 - 0.5 0.96^(t psi)) with psi = momentum_decay, P_t = mu_1 ... mu_t,
    m_t = beta1 m + (1 - beta1) g,  v_t = beta2 v + (1 - beta2) g^2,
    d_t = sqrt(v_t / (1 - beta2^t)) + eps,
    theta_t = theta - eta_t (lr (1 - mu_t) / (1 - P_t) g / d_t
                             + lr mu_{t+1} / (1 - P_t mu_{t+1}) m_t / d_t + decay theta).
    The look-ahead: the step uses next step's momentum weight mu_{t+1} on m_t.

    Dozat's NAdam uses the same schedule (his 1/250 is psi = 0.004) but averages the gradients
    with it, m_t = mu_t m + (1 - mu_t) g; torch averages them with a constant beta1 and uses the
    schedule only in the two weights above. The schedule never reaches beta1: psi = 0 gives
    mu_t = beta1 / 2, not the constant-beta1 NAdam often written in textbooks. The product P_t
    is the state ``mu_prod``, kept in theta's dtype (torch keeps it in the default dtype, so
    torch matches this rule in float64 only under ``torch.set_default_dtype(torch.float64)``).
    """
    g = grad + l2 * theta
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_prod = (torch.ones_like(theta) if t == 1 else state["mu_prod"]) * mu
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    denom = (v / (1 - beta2 ** t)).sqrt() + eps
    step = (lr * (1 - mu) / (1 - mu_prod) * g + lr * mu_next / (1 - mu_prod * mu_next) * m) / denom
    return theta - eta * (step + decay_rate(decay, lr, wd) * theta), {"m": m, "v": v, "mu_prod": mu_prod}


def _rectification(rho_t: float | torch.Tensor, rho_inf: float | torch.Tensor) -> float | torch.Tensor:
    """RAdam's r_t^2; positive where rho_t > 4 (called only where rho_t > 5 when rho_t is a float)."""
    return (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)


def radam(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
          lr: float | torch.Tensor, beta1: float | torch.Tensor = 0.9,
          beta2: float | torch.Tensor = 0.999, eps: float | torch.Tensor = 1e-8,
          l2: float | torch.Tensor = 0.0, wd: float | torch.Tensor = 0.0, decay: str = "paper",
          eta: float | torch.Tensor = 1.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """RAdam as ``torch.optim.RAdam``: L2 through ``l2``, decoupled decay through ``wd``.

    m_t, v_t as in Adam, m_hat = m_t / (1 - beta1^t), rho_inf = 2 / (1 - beta2) - 1,
    rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t). While rho_t <= 5 the variance of the
    adaptive rate is not yet tractable and the step is momentum SGD, lr m_hat; afterwards it is
    lr m_hat r_t sqrt(1 - beta2^t) / (sqrt(v_t) + eps) with the rectification
    r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)).
    rho_1 = 1, so step 1 is always un-rectified; with beta2 <= 2/3 every step is. The paper's
    Algorithm 2 switches at rho_t > 4 and has no eps; torch (like the authors' code) switches at
    rho_t > 5 and adds eps to sqrt(v_t).
    The decay is then subtracted, eta_t decay theta. With tensor hyperparameters the switch is
    taken per configuration.
    """
    if isinstance(beta2, (int, float)) and not 0 <= beta2 < 1:
        raise ValueError(f"radam needs 0 <= beta2 < 1, got beta2={beta2}; rho_inf = 2/(1 - beta2) - 1")
    g = grad + l2 * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    bc2 = 1 - beta2 ** t
    m_hat = m / (1 - beta1 ** t)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2 ** t / bc2
    adaptive = bc2 ** 0.5 / (v.sqrt() + eps)
    if torch.is_tensor(rho_t):
        # both branches everywhere; the clamp keeps the unused one real where rho_t < 4
        on = adaptive * _rectification(rho_t, rho_inf).clamp(min=0).sqrt()
        scale = torch.where(rho_t > 5, on, torch.ones_like(on))
    else:
        scale = adaptive * _rectification(rho_t, rho_inf) ** 0.5 if rho_t > 5 else 1.0
    step = m_hat * lr * scale
    return theta - eta * (step + decay_rate(decay, lr, wd) * theta), {"m": m, "v": v}
