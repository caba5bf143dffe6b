"""Hidden reference implementations: each update rule written once, as a pure tensor function.

``RULES`` is the one table that tests, grading and sweeps read: a named rule is a reference
function with some hyperparameters fixed (e.g. AdamW = ``adam`` with ``decay="paper"``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .adaptive import adam, rmsprop_bc, rmsprop_torch
from .family import adadelta, adagrad, adamax, nadam, nesterov, radam
from .l1 import adam_l1, adamw_l1, soft_threshold
from .preconditioner import (
    full_matrix_preconditioner,
    outer_history,
    rmsprop_preconditioner,
    scale_adjusted_l2,
    scale_adjusted_l2_grad,
)
from .schedules import constant, cosine_warm_restarts, normalized_weight_decay
from .sgd import sgd_paper, sgd_problem_set, sgd_torch


@dataclass(frozen=True)
class Rule:
    """A named update rule: ``fn`` with ``fixed`` keyword arguments and its state tensors."""
    name: str
    fn: Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]
    state: tuple[str, ...]
    fixed: dict[str, bool | float | str] = field(default_factory=dict)
    doc: str = ""

    def __call__(self, theta: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor], t: int,
                 **hparams: bool | float | str | torch.Tensor,
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.fn(theta, grad, state, t, **self.fixed, **hparams)

    def init_state(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        return {key: torch.zeros_like(theta) for key in self.state}


def _rule(name: str, fn: Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]], state: list[str],
          doc: str, **fixed: bool | float | str) -> Rule:
    return Rule(name, fn, tuple(state), fixed, doc)


RULES = {r.name: r for r in [
    _rule("sgd_torch", sgd_torch, ["buf"], "torch.optim.SGD: L2, momentum, dampening, nesterov"),
    _rule("sgd_l2_momentum", sgd_paper, ["m"], "paper Alg. 1 with L2 in the gradient", wd=0.0),
    _rule("sgdw_momentum", sgd_paper, ["m"], "paper Alg. 1, SGDW: decay outside momentum", l2=0.0),
    _rule("sgd_problem_set", sgd_problem_set, ["m"], "problem set Alg. 1 (beta1 weights g_t)"),
    _rule("rmsprop_bc", rmsprop_bc, ["v"], "problem set Alg. 2: bias-corrected RMSProp"),
    _rule("rmsprop_torch", rmsprop_torch, ["v", "g_avg", "buf"], "torch.optim.RMSprop"),
    _rule("adam", adam, ["m", "v"], "Adam (Alg. 3), no regularization", l2=0.0, wd=0.0),
    _rule("adam_l2", adam, ["m", "v"], "Adam + L2 = torch.optim.Adam(weight_decay=l2)", wd=0.0),
    _rule("adamw_paper", adam, ["m", "v"], "AdamW, decay eta_t wd theta", l2=0.0, decay="paper"),
    _rule("adamw_torch", adam, ["m", "v"], "AdamW, decay eta_t lr wd theta", l2=0.0, decay="torch"),
    _rule("amsgrad", adam, ["m", "v", "v_max"], "Adam with AMSGrad's running max", amsgrad=True),
    _rule("nesterov", nesterov, ["buf"], "torch.optim.SGD(nesterov=True), L2 in the gradient"),
    _rule("adagrad", adagrad, ["sum"], "torch.optim.Adagrad, L2 in the gradient"),
    _rule("adadelta", adadelta, ["square_avg", "acc_delta"], "torch.optim.Adadelta, L2 in the gradient"),
    _rule("adamax", adamax, ["m", "u"], "torch.optim.Adamax, L2 in the gradient"),
    _rule("nadam", nadam, ["m", "v", "mu_prod"], "torch.optim.NAdam, L2 in the gradient", wd=0.0),
    _rule("nadamw_torch", nadam, ["m", "v", "mu_prod"], "NAdam, decoupled decay eta_t lr wd theta",
          l2=0.0, decay="torch"),
    _rule("radam", radam, ["m", "v"], "torch.optim.RAdam, L2 in the gradient", wd=0.0),
    _rule("radamw_torch", radam, ["m", "v"], "RAdam, decoupled decay eta_t lr wd theta",
          l2=0.0, decay="torch"),
    _rule("adam_l1", adam_l1, ["m", "v"], "Adam + L1: l1 sign(theta) in the gradient"),
    _rule("adamw_l1", adamw_l1, ["m", "v"], "decoupled L1: Adam step, then soft threshold eta_t l1"),
]}

__all__ = ["RULES", "Rule", "adam", "constant", "cosine_warm_restarts", "full_matrix_preconditioner",
           "normalized_weight_decay", "outer_history", "rmsprop_bc", "rmsprop_preconditioner",
           "rmsprop_torch", "scale_adjusted_l2", "scale_adjusted_l2_grad", "sgd_paper",
           "sgd_problem_set", "sgd_torch", "adadelta", "adagrad", "adam_l1", "adamax", "adamw_l1",
           "nadam", "nesterov", "radam", "soft_threshold"]
