"""Known-wrong variants of the reference rules, and the matcher that names a student's mistake.

Each Variant has the signature of the graded function it shadows. When a student's outputs
disagree with the reference, ``diagnose`` replays every variant on the student's own inputs
(the same per-step check the grader uses, with a looser tolerance) and names the variant that
explains the most failing cases.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from autograder.reference import cosine_warm_restarts, outer_history, rmsprop_preconditioner, soft_threshold


@dataclass(frozen=True)
class Variant:
    name: str        # short id, e.g. "no_bias_correction"
    message: str     # what the student most likely did, in teaching words
    fn: Callable[..., Any]  # same signature and kind of result as the graded function it shadows


class Misconception(NamedTuple):
    """A mistake the grader finds without a variant, from how the function behaved."""

    name: str
    message: str


INPLACE = Misconception(
    "inputs_changed_in_place", "the function changed its inputs in place (theta, grad or state); "
    "update rules must return new tensors and leave their arguments untouched")
WRONG_DTYPE = Misconception(
    "wrong_dtype", "the result has another dtype than the inputs (e.g. float64 from a Python "
    "float or numpy constant); keep the dtype of theta")
WRONG_DEVICE = Misconception(
    "wrong_device", "the result lives on another device than the inputs; create new tensors "
    "with device=theta.device")
DELEGATION = Misconception(
    "delegates_to_torch_optim", "the function calls torch.optim instead of implementing the "
    "update rule")


# -- SGD with momentum (the paper's Algorithm 1) ---------------------------------------------
def _sgd(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
         lr: float | torch.Tensor, l2: float | torch.Tensor = 0.0, wd: float | torch.Tensor = 0.0,
         beta1: float | torch.Tensor = 0.9, eta: float | torch.Tensor = 1.0, convention: str = "paper",
         decay: str = "paper", l2_scaled: bool = True) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    g = grad + (l2 * theta if l2_scaled else 0)
    extra = 0 if l2_scaled else eta * l2 * theta
    if convention == "paper":
        m = beta1 * state["m"] + eta * lr * g + extra
        step = m
    elif convention == "no_eta":
        m = step = beta1 * state["m"] + lr * g
    elif convention == "dampened":
        m = step = beta1 * state["m"] + (1 - beta1) * eta * lr * g
    elif convention == "problem_set":
        m = (1 - beta1) * state["m"] + beta1 * g
        step = eta * lr * m
    else:  # torch: the buffer starts as the first gradient and carries no learning rate
        m = g if t == 1 else beta1 * state["m"] + g
        step = eta * lr * m
    if decay == "after":
        new = theta - step
        return new - eta * wd * new, {"m": m}
    rate = {"paper": eta * wd, "lr": eta * lr * wd, "no_eta": wd}[decay]
    return theta - step - rate * theta, {"m": m}


def _sgdw_l2_momentum(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
                      lr: float | torch.Tensor, wd: float | torch.Tensor, beta1: float | torch.Tensor = 0.9,
                      eta: float | torch.Tensor = 1.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    return _sgd(theta, grad, state, t, lr=lr, l2=wd, beta1=beta1, eta=eta)


def _sgd_l2_as_decay(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
                     lr: float | torch.Tensor, l2: float | torch.Tensor, beta1: float | torch.Tensor = 0.9,
                     eta: float | torch.Tensor = 1.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    return _sgd(theta, grad, state, t, lr=lr, wd=lr * l2, beta1=beta1, eta=eta)


def _with(fn: Callable[..., Any], **fixed: bool | float | str) -> Callable[..., Any]:
    def variant(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **{**kwargs, **fixed})
    return variant


SGD_CONVENTIONS = [
    Variant("problem_set_momentum", "momentum written in the problem set's convention "
            "(m = (1 - beta1) m + beta1 g) instead of the paper's m = beta1 m + eta_t lr g",
            _with(_sgd, convention="problem_set")),
    Variant("torch_momentum", "momentum written in PyTorch's convention (buffer starts as g_1, "
            "lr applied outside) instead of the paper's m = beta1 m + eta_t lr g",
            _with(_sgd, convention="torch")),
    Variant("dampened_momentum", "momentum dampened by (1 - beta1): the paper's buffer adds "
            "eta_t lr g without a (1 - beta1) factor", _with(_sgd, convention="dampened")),
    Variant("schedule_ignored", "the schedule multiplier eta_t is not applied to the gradient step",
            _with(_sgd, convention="no_eta")),
]
SGD_L2_VARIANTS = [
    Variant("l2_as_decay", "the L2 term was applied as weight decay outside the momentum buffer "
            "(that is SGDW); with L2 the term lr l2 theta enters the buffer with the gradient",
            _sgd_l2_as_decay),
    Variant("l2_not_times_lr", "the L2 term l2 theta was not multiplied by the learning rate "
            "inside the momentum buffer", _with(_sgd, l2_scaled=False)),
    *SGD_CONVENTIONS,
]
SGDW_VARIANTS = [
    Variant("decay_times_lr", "the decay was multiplied by the learning rate (PyTorch's "
            "convention); SGDW decays by eta_t wd theta, independent of lr", _with(_sgd, decay="lr")),
    Variant("decay_without_schedule", "the decay ignores the schedule: SGDW decays by eta_t wd "
            "theta", _with(_sgd, decay="no_eta")),
    Variant("decay_in_momentum", "the decay went through the momentum buffer (that is L2 "
            "regularization, not decoupled decay)", _sgdw_l2_momentum),
    Variant("decay_after_step", "the decay was applied to the updated weights; SGDW decays "
            "theta_{t-1}", _with(_sgd, decay="after")),
    *SGD_CONVENTIONS,
]


# -- RMSProp and Adam ------------------------------------------------------------------------
def _rms(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
         lr: float | torch.Tensor, beta2: float | torch.Tensor = 0.999, eps: float | torch.Tensor = 1e-8,
         eta: float | torch.Tensor = 1.0, bias: bool = True, eps_inside: bool = False, t_shift: int = 0,
         root: bool = True, use_eta: bool = True) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    v = beta2 * state["v"] + (1 - beta2) * grad * grad
    v_hat = v / (1 - beta2 ** (t + t_shift)) if bias else v
    denom = (v_hat + eps).sqrt() if eps_inside else (v_hat.sqrt() if root else v_hat) + eps
    return theta - (eta if use_eta else 1) * lr * grad / denom, {"v": v}


def _adam(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
          lr: float | torch.Tensor, l2: float | torch.Tensor = 0.0, wd: float | torch.Tensor = 0.0,
          beta1: float | torch.Tensor = 0.9, beta2: float | torch.Tensor = 0.999,
          eps: float | torch.Tensor = 1e-8, eta: float | torch.Tensor = 1.0, bias_m: bool = True,
          bias_v: bool = True, eps_inside: bool = False, t_shift: int = 0, efficient: bool = False,
          decay: str = "paper", use_eta: bool = True) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    g = grad + l2 * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    tt = t + t_shift
    if efficient:
        step = lr * math.sqrt(1 - beta2 ** tt) / (1 - beta1 ** tt) * m / (v.sqrt() + eps)
    else:
        m_hat = m / (1 - beta1 ** tt) if bias_m else m
        v_hat = v / (1 - beta2 ** tt) if bias_v else v
        denom = (v_hat + eps).sqrt() if eps_inside else v_hat.sqrt() + eps
        step = lr * m_hat / denom
    e = eta if use_eta else 1
    if decay == "after":
        new = theta - e * step
        return new - eta * wd * new, {"m": m, "v": v}
    rate = {"paper": eta * wd, "lr": eta * lr * wd, "no_eta": wd}[decay]
    return theta - e * step - rate * theta, {"m": m, "v": v}


RMSPROP_VARIANTS = [
    Variant("no_bias_correction", "no bias correction: v_hat = v_t / (1 - beta2^t) is missing "
            "(PyTorch's RMSprop also omits it)", _with(_rms, bias=False)),
    Variant("eps_inside_sqrt", "eps was added inside the square root: use sqrt(v_hat) + eps",
            _with(_rms, eps_inside=True)),
    Variant("step_counter_ahead", "step counter off by one: the bias correction used t + 1",
            _with(_rms, t_shift=1)),
    Variant("step_counter_behind", "step counter off by one: the bias correction used t - 1 "
            "(t is already 1 at the first step)", _with(_rms, t_shift=-1)),
    Variant("no_square_root", "the gradient was divided by v_hat instead of sqrt(v_hat)",
            _with(_rms, root=False)),
    Variant("schedule_ignored", "the schedule multiplier eta_t is not applied",
            _with(_rms, use_eta=False)),
]
# Mistakes inside the Adam step, as (name, message, flags of _adam): shared by every rule built
# on an Adam step.
ADAM_MISTAKES = [
    ("no_bias_correction", "no bias correction: m_hat = m / (1 - beta1^t) and v_hat = "
     "v / (1 - beta2^t) are missing", {"bias_m": False, "bias_v": False}),
    ("no_first_moment_correction", "the first moment m is not bias-corrected", {"bias_m": False}),
    ("no_second_moment_correction", "the second moment v is not bias-corrected", {"bias_v": False}),
    ("eps_inside_sqrt", "eps was added inside the square root: use sqrt(v_hat) + eps",
     {"eps_inside": True}),
    ("eps_before_correction", "eps was added before the bias correction (the 'efficient' "
     "form, lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t)); the course's rule adds eps to "
     "sqrt(v_hat)", {"efficient": True}),
    ("step_counter_ahead", "step counter off by one: the bias correction used t + 1", {"t_shift": 1}),
    ("step_counter_behind", "step counter off by one: the bias correction used t - 1 "
     "(t is already 1 at the first step)", {"t_shift": -1}),
    ("schedule_ignored", "the schedule multiplier eta_t is not applied to the Adam step",
     {"use_eta": False}),
]
ADAM_COMMON = [Variant(name, message, _with(_adam, **flags)) for name, message, flags in ADAM_MISTAKES]


def _adam_l2_as_decay(decay: str) -> Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]:
    def variant(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
                lr: float | torch.Tensor, l2: float | torch.Tensor,
                **hp: bool | float | str | torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return _adam(theta, grad, state, t, lr=lr, wd=l2, decay=decay, **hp)
    return variant


def _adamw_as_l2(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
                 lr: float | torch.Tensor, wd: float | torch.Tensor,
                 **hp: bool | float | str | torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    return _adam(theta, grad, state, t, lr=lr, l2=wd, **hp)


ADAM_L2_VARIANTS = [
    Variant("decay_in_adam_l2", "decoupled decay was used instead of L2: Adam + L2 adds l2 theta "
            "to the gradient before the moments", _adam_l2_as_decay("paper")),
    Variant("l2_added_to_update", "l2 theta was added to the update (scaled by lr) instead of to "
            "the gradient before the moments", _adam_l2_as_decay("lr")),
    *ADAM_COMMON,
]
ADAMW_VARIANTS = [
    Variant("l2_in_adamw", "the decay went into the gradient (L2 inside AdamW): AdamW decays the "
            "weights outside the moments", _adamw_as_l2),
    Variant("decay_times_lr", "the decay was multiplied by the learning rate (PyTorch's AdamW "
            "convention); the paper's AdamW decays by eta_t wd theta", _with(_adam, decay="lr")),
    Variant("decay_without_schedule", "the decay ignores the schedule: AdamW decays by eta_t wd "
            "theta", _with(_adam, decay="no_eta")),
    Variant("decay_after_step", "the decay was applied to the updated weights; AdamW decays "
            "theta_{t-1}", _with(_adam, decay="after")),
    *ADAM_COMMON,
]


# -- the optimizer family: Adagrad, Adamax, NAdam, decoupled L1 ------------------------------
def _adagrad(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
             lr: float | torch.Tensor, eps: float | torch.Tensor = 1e-10, eta: float | torch.Tensor = 1.0,
             average: float | None = None, root: bool = True, eps_inside: bool = False,
             stale: bool = False, use_eta: bool = True) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    if average is None:
        s = state["sum"] + grad * grad
    else:   # RMSProp's decaying average, without bias correction
        s = average * state["sum"] + (1 - average) * grad * grad
    acc = state["sum"] if stale else s
    denom = (acc + eps).sqrt() if eps_inside else (acc.sqrt() if root else acc) + eps
    return theta - (eta if use_eta else 1) * lr * grad / denom, {"sum": s}


def _adamax(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
            lr: float | torch.Tensor, beta1: float | torch.Tensor = 0.9,
            beta2: float | torch.Tensor = 0.999, eps: float | torch.Tensor = 1e-8,
            eta: float | torch.Tensor = 1.0, squares: bool = False, root: bool = False,
            bias_m: bool = True, bias_u: bool = False, eps_at: str = "max",
            use_eta: bool = True) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    m = beta1 * state["m"] + (1 - beta1) * grad
    if squares:   # Adam's v with a max instead of an average
        u = torch.maximum(beta2 * state["u"], grad * grad)
        denom = u.sqrt() + eps
    else:
        u = torch.maximum(beta2 * state["u"], grad.abs() + (eps if eps_at == "max" else 0))
        denom = {"max": u, "outside": u + eps, "none": u}[eps_at]
        denom = denom.sqrt() if root else denom
    if bias_u:
        denom = denom / (1 - beta2 ** t)
    m_hat = m / (1 - beta1 ** t) if bias_m else m
    return theta - (eta if use_eta else 1) * lr * m_hat / denom, {"m": m, "u": u}


def _nadam(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
           lr: float | torch.Tensor, beta1: float | torch.Tensor = 0.9,
           beta2: float | torch.Tensor = 0.999, eps: float | torch.Tensor = 1e-8,
           momentum_decay: float | torch.Tensor = 4e-3, eta: float | torch.Tensor = 1.0,
           look_ahead: bool = True, schedule: bool = True, product: str = "current",
           adam: bool = False, use_eta: bool = True) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    if schedule:
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    else:   # the textbook NAdam: a constant momentum weight beta1
        mu = mu_next = beta1
    if not look_ahead:
        mu_next = mu
    previous = state["mu_prod"]
    if product == "zero_start":   # the zeros of the first state taken as P_0
        mu_prod = previous * mu
    else:
        mu_prod = (torch.ones_like(theta) if t == 1 else previous) * mu
    p = previous if product == "previous" else mu_prod
    m = beta1 * state["m"] + (1 - beta1) * grad
    v = beta2 * state["v"] + (1 - beta2) * grad * grad
    denom = (v / (1 - beta2 ** t)).sqrt() + eps
    if adam:
        step = lr * m / (1 - beta1 ** t) / denom
    else:
        step = (lr * (1 - mu) / (1 - p) * grad + lr * mu_next / (1 - p * mu_next) * m) / denom
    return theta - (eta if use_eta else 1) * step, {"m": m, "v": v, "mu_prod": mu_prod}


def _adamw_l1(theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int, *,
              lr: float | torch.Tensor, l1: float | torch.Tensor, beta1: float | torch.Tensor = 0.9,
              beta2: float | torch.Tensor = 0.999, eps: float | torch.Tensor = 1e-8,
              eta: float | torch.Tensor = 1.0, shrink: str = "after", tau_lr: bool = False,
              tau_eta: bool = True, **adam_flags: bool | int,
              ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    hp = {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps, "eta": eta, **adam_flags}
    if shrink == "gradient":   # Adam + L1: the subgradient goes through the moments
        return _adam(theta, grad + l1 * theta.sign(), state, t, **hp)
    stepped, new_state = _adam(theta, grad, state, t, **hp)
    tau = (eta if tau_eta else 1) * (lr if tau_lr else 1) * l1
    if shrink == "before":
        return soft_threshold(theta, tau) - (theta - stepped), new_state
    if shrink == "sign":
        return stepped - tau * stepped.sign(), new_state
    return soft_threshold(stepped, tau), new_state


def _schedule_ignored(rule: Callable[..., Any]) -> Variant:
    """The mistake every rule with a ``use_eta`` switch can make: eta_t left out of the step."""
    return Variant("schedule_ignored", "the schedule multiplier eta_t is not applied to the step",
                   _with(rule, use_eta=False))


ADAGRAD_VARIANTS = [
    *[Variant(f"decaying_average_{beta}", "the squared gradients were averaged with decay "
              f"beta = {beta} (RMSProp's v_t = beta v + (1 - beta) g^2) instead of summed: "
              "Adagrad accumulates s_t = s_{t-1} + g_t^2", _with(_adagrad, average=beta))
      for beta in (0.9, 0.99, 0.999)],
    Variant("no_square_root", "the gradient was divided by s_t instead of sqrt(s_t)",
            _with(_adagrad, root=False)),
    Variant("eps_inside_sqrt", "eps was added inside the square root: use sqrt(s_t) + eps",
            _with(_adagrad, eps_inside=True)),
    Variant("accumulator_after_step", "the step divided by the previous sum s_{t-1}: add g_t^2 to "
            "the accumulator before the step", _with(_adagrad, stale=True)),
    _schedule_ignored(_adagrad),
]
ADAMAX_VARIANTS = [
    Variant("squared_max", "u kept the maximum of squared gradients and the step divided by its "
            "square root, as Adam does with v: Adamax keeps u_t = max(beta2 u, |g_t| + eps) and "
            "divides by u_t itself", _with(_adamax, squares=True)),
    Variant("square_root_of_u", "the step divided by sqrt(u_t): u_t = max(beta2 u, |g_t| + eps) "
            "is already on the scale of the gradient, divide by u_t", _with(_adamax, root=True)),
    Variant("u_bias_corrected", "u_t was bias-corrected like Adam's v: a maximum does not shrink "
            "towards its zero start, only m needs the correction", _with(_adamax, bias_u=True)),
    Variant("no_bias_correction", "the first moment m is not bias-corrected: divide it by "
            "(1 - beta1^t)", _with(_adamax, bias_m=False)),
    Variant("eps_outside_max", "eps was added to the denominator u_t + eps instead of inside the "
            "max, u_t = max(beta2 u, |g_t| + eps); the state u differs by eps",
            _with(_adamax, eps_at="outside")),
    Variant("no_eps", "eps is missing (Kingma & Ba's Adamax): a weight whose gradients have been "
            "zero from the start gets 0 / 0; put eps inside the max", _with(_adamax, eps_at="none")),
    _schedule_ignored(_adamax),
]
NADAM_VARIANTS = [
    Variant("no_look_ahead", "no look-ahead: m_t was weighted with mu_t; NAdam weights it with "
            "next step's mu_{t+1} / (1 - P_t mu_{t+1})", _with(_nadam, look_ahead=False)),
    Variant("constant_momentum", "the momentum weight was the constant beta1 (the textbook "
            "NAdam); torch's NAdam uses mu_t = beta1 (1 - 0.5 0.96^(t psi))",
            _with(_nadam, schedule=False)),
    Variant("plain_adam", "the step is Adam's lr m_hat / (sqrt(v_hat) + eps): NAdam mixes the "
            "gradient and the look-ahead momentum", _with(_nadam, adam=True)),
    Variant("previous_product", "the step used the product P_{t-1} as it arrived in the state "
            "instead of P_t = P_{t-1} mu_t", _with(_nadam, product="previous")),
    Variant("product_starts_at_zero", "the product mu_prod stays 0: the zeros of the first state "
            "stand for P_0 = 1, so P_1 = mu_1", _with(_nadam, product="zero_start")),
    _schedule_ignored(_nadam),
]
ADAMW_L1_VARIANTS = [
    Variant("l1_without_threshold", "the L1 term was subtracted, eta_t l1 sign(theta), without "
            "the threshold: weights jump across zero instead of stopping at it; use "
            "sign(theta) max(|theta| - eta_t l1, 0)", _with(_adamw_l1, shrink="sign")),
    Variant("threshold_times_lr", "the threshold was multiplied by the learning rate: decoupled "
            "L1 thresholds by eta_t l1, independent of lr", _with(_adamw_l1, tau_lr=True)),
    Variant("l1_in_gradient", "l1 sign(theta) was added to the gradient (Adam + L1, the "
            "coupled penalty): decoupled L1 takes the Adam step on the loss, then thresholds",
            _with(_adamw_l1, shrink="gradient")),
    Variant("threshold_before_step", "the threshold was applied to theta_{t-1} before the Adam "
            "step: threshold the weights the step returns", _with(_adamw_l1, shrink="before")),
    Variant("threshold_without_schedule", "the threshold ignores the schedule: threshold by "
            "eta_t l1", _with(_adamw_l1, tau_eta=False)),
    Variant("schedule_ignored", "the schedule multiplier eta_t is applied neither to the Adam step "
            "nor to the threshold", _with(_adamw_l1, use_eta=False, tau_eta=False)),
    *[Variant(name, message, _with(_adamw_l1, **flags)) for name, message, flags in ADAM_MISTAKES
      if name != "schedule_ignored"],
]


# -- plain functions -------------------------------------------------------------------------
def _diag_pre(grads: torch.Tensor, beta2: float, factor: Callable[[int], float]) -> torch.Tensor:
    return torch.diag((factor(grads.shape[0]) * torch.diagonal(outer_history(grads, beta2))).rsqrt())


def _full_pre(grads: torch.Tensor, beta2: float) -> torch.Tensor:
    t = grads.shape[0]
    g = (1 - beta2) / (1 - beta2 ** t) * outer_history(grads, beta2)
    evals, evecs = torch.linalg.eigh(g)
    return evecs @ torch.diag(evals.clamp_min(1e-300).rsqrt()) @ evecs.T


def _shifted_history(grads: torch.Tensor, beta2: float) -> torch.Tensor:
    t = grads.shape[0]
    w = beta2 ** torch.arange(t, 0, -1, dtype=grads.dtype)
    v_hat = (1 - beta2) / (1 - beta2 ** t) * torch.einsum("t,ti,ti->i", w, grads, grads)
    return torch.diag(v_hat.rsqrt())


def _cosine_strict(t: int, period: int, mult: int = 1, eta_min: float = 0.0,
                   eta_max: float = 1.0) -> float:
    t_cur, t_i = t, period
    while t_cur > t_i:
        t_cur, t_i = t_cur - t_i, t_i * mult
    return eta_min + 0.5 * (eta_max - eta_min) * (1 + math.cos(math.pi * t_cur / t_i))


CALL_VARIANTS = {
    "l2_to_decay": [
        Variant("inverted", "the mapping is inverted: lambda = lr * l2", lambda lr, l2: l2 / lr),
        Variant("l2_only", "the learning rate is missing: lambda = lr * l2", lambda lr, l2: l2),
        Variant("half", "a factor 1/2 from the penalty (l2/2)||theta||^2 was kept; its gradient "
                "is l2 theta", lambda lr, l2: lr * l2 / 2),
    ],
    "sgdw_equivalent_l2": [
        Variant("missing_one_minus_beta1", "the momentum factor (1 - beta1) is missing",
                lambda lr, wd, beta1: wd / lr),
        Variant("not_divided_by_lr", "not divided by the learning rate",
                lambda lr, wd, beta1: (1 - beta1) * wd),
        Variant("divides_by_one_minus_beta1", "divided by (1 - beta1) instead of multiplied",
                lambda lr, wd, beta1: wd / (lr * (1 - beta1))),
        Variant("beta1_for_one_minus_beta1", "beta1 where (1 - beta1) belongs",
                lambda lr, wd, beta1: beta1 * wd / lr),
    ],
    "rmsprop_preconditioner": [
        Variant("no_bias_correction", "no bias correction: the factor 1 / (1 - beta2^t) is missing",
                lambda grads, beta2: _diag_pre(grads, beta2, lambda t: 1 - beta2)),
        Variant("no_one_minus_beta2", "the factor (1 - beta2) / (1 - beta2^t) is missing",
                lambda grads, beta2: _diag_pre(grads, beta2, lambda t: 1.0)),
        Variant("not_inverted", "returned the square root of v_hat, not its inverse",
                lambda grads, beta2: torch.linalg.inv(rmsprop_preconditioner(grads, beta2))),
        Variant("no_square_root", "returned Diag(v_hat)^-1 without the square root",
                lambda grads, beta2: rmsprop_preconditioner(grads, beta2) ** 2),
        Variant("full_matrix", "used the full matrix G_t instead of its diagonal (that is "
                "full-matrix AdaGrad / GGT, not RMSProp)", _full_pre),
        Variant("exponent_off_by_one", "the weights beta2^(t - tau) are off by one",
                _shifted_history),
    ],
    "cosine_warm_restarts": [
        Variant("step_counter_ahead", "step counter off by one: t counts from 0 (T_cur = t at "
                "the first step)", lambda t, **k: cosine_warm_restarts(t + 1, **k)),
        Variant("step_counter_behind", "step counter off by one: t counts from 0, not 1",
                lambda t, **k: cosine_warm_restarts(max(t - 1, 0), **k)),
        Variant("mult_ignored", "the run length does not grow by mult after each restart",
                lambda t, period, mult=1, **k: cosine_warm_restarts(t, period, 1, **k)),
        Variant("restart_late", "the restart comes one step late (T_cur > T_i instead of >=)",
                _cosine_strict),
        Variant("bounds_swapped", "eta_min and eta_max are swapped",
                lambda t, period, mult=1, eta_min=0.0, eta_max=1.0:
                cosine_warm_restarts(t, period, mult, eta_max, eta_min)),
    ],
}


def diagnose(explained: dict[str, tuple[Variant, int]]) -> tuple[Variant, int] | None:
    """The most likely misconception from {variant name: (Variant, cases it explains)}.

    Returns (Variant, count) for the variant explaining the most failing cases, or None.
    Ties keep the table order (the more common mistake first).
    """
    best = None
    for variant, count in explained.values():
        if count and (best is None or count > best[1]):
            best = (variant, count)
    return best
