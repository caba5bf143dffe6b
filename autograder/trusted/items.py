"""ONE TABLE of graded items: id, reference, case generator, known-wrong variants.

Rows are keyed "<notebook>:<function>" like CONFIG.points; ``graded_items(config)`` returns the
rows the course awards points for (an id with points but no row is a configuration error).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from autograder.reference import RULES, cosine_warm_restarts, rmsprop_preconditioner
from autograder.reports import ItemId
from autograder.trusted import cases as C
from autograder.trusted import misconceptions as M
from course_config import CourseConfig

NB1, NB2, NB3 = "01_sgd_weight_decay", "02_adaptive_preconditioning", "03_adam_adamw"
NB4 = "04_optimizer_family"


@dataclass(frozen=True)
class Item:
    id: str                 # "<notebook>:<function>"
    kind: str               # "step" (course rule signature, run as a trajectory) or "call"
    reference: Callable
    make_cases: Callable    # seed -> list of cases
    variants: tuple
    state_keys: tuple = ()

    @property
    def notebook(self) -> str:
        return ItemId.parse(self.id).notebook

    @property
    def function(self) -> str:
        return ItemId.parse(self.id).name


def _step(nb: str, fn: str, rule: str, required: tuple, optional: tuple, variants: list,
          adaptive: bool = False, zero_grads: bool = False) -> Item:
    ref = RULES[rule]
    make = functools.partial(C.step_cases, required, optional, ref.state, adaptive=adaptive,
                             zero_grads=zero_grads)
    return Item(str(ItemId(nb, fn)), "step", ref, make, tuple(variants), ref.state)


def _lr_times_l2(lr: float, l2: float) -> float:
    return lr * l2


def _sgdw_equivalent_l2(lr: float, wd: float, beta1: float) -> float:
    return (1 - beta1) * wd / lr


_SCALARS = {"lr": (0.01, 0.5), "l2": (1e-4, 0.1), "wd": (1e-4, 0.1), "beta1": (0.0, 0.99)}

TABLE = {item.id: item for item in [
    Item(str(ItemId(NB1, "l2_to_decay")), "call", _lr_times_l2,
         functools.partial(C.scalar_cases, ("lr", "l2"), ranges=_SCALARS),
         tuple(M.CALL_VARIANTS["l2_to_decay"])),
    _step(NB1, "sgd_l2_momentum_step", "sgd_l2_momentum", ("lr", "l2"), ("beta1",),
          M.SGD_L2_VARIANTS),
    _step(NB1, "sgdw_momentum_step", "sgdw_momentum", ("lr", "wd"), ("beta1",), M.SGDW_VARIANTS),
    Item(str(ItemId(NB1, "sgdw_equivalent_l2")), "call", _sgdw_equivalent_l2,
         functools.partial(C.scalar_cases, ("lr", "wd", "beta1"), ranges=_SCALARS, symbolic=False),
         tuple(M.CALL_VARIANTS["sgdw_equivalent_l2"])),
    _step(NB2, "rmsprop_step", "rmsprop_bc", ("lr",), ("beta2", "eps"), M.RMSPROP_VARIANTS,
          adaptive=True),
    Item(str(ItemId(NB2, "rmsprop_preconditioner")), "call", rmsprop_preconditioner, C.preconditioner_cases,
         tuple(M.CALL_VARIANTS["rmsprop_preconditioner"])),
    _step(NB3, "adam_step", "adam", ("lr",), ("beta1", "beta2", "eps"), M.ADAM_COMMON,
          adaptive=True),
    _step(NB3, "adam_l2_step", "adam_l2", ("lr", "l2"), ("beta1", "beta2", "eps"),
          M.ADAM_L2_VARIANTS, adaptive=True),
    _step(NB3, "adamw_step", "adamw_paper", ("lr", "wd"), ("beta1", "beta2", "eps"),
          M.ADAMW_VARIANTS, adaptive=True),
    Item(str(ItemId(NB3, "cosine_warm_restarts")), "call", cosine_warm_restarts, C.schedule_cases,
         tuple(M.CALL_VARIANTS["cosine_warm_restarts"])),
    # Every rule of the family divides by a running statistic of the gradients: a coordinate whose
    # gradients are zero from step 1 shows where eps goes.
    _step(NB4, "adagrad_step", "adagrad", ("lr",), ("eps",), M.ADAGRAD_VARIANTS, adaptive=True,
          zero_grads=True),
    _step(NB4, "adamax_step", "adamax", ("lr",), ("beta1", "beta2", "eps"), M.ADAMAX_VARIANTS,
          adaptive=True, zero_grads=True),
    _step(NB4, "nadam_step", "nadam", ("lr",), ("beta1", "beta2", "eps", "momentum_decay"),
          M.NADAM_VARIANTS, adaptive=True, zero_grads=True),
    _step(NB4, "adamw_l1_step", "adamw_l1", ("lr", "l1"), ("beta1", "beta2", "eps"),
          M.ADAMW_L1_VARIANTS, adaptive=True, zero_grads=True),
]}


def graded_items(config: CourseConfig) -> list[tuple[Item, float]]:
    """[(Item, points)] for every item in config.points, in the config's order."""
    missing = [key for key in config.points if key not in TABLE]
    if missing:
        raise ValueError(f"points: no grading table row for {missing}; known items: {sorted(TABLE)}")
    return [(TABLE[key], pts) for key, pts in config.points.items()]


@functools.lru_cache(maxsize=64)
def item_cases(item_id: str, seed: int) -> list:
    """The item's cases (StepCase or CallCase), generated once per seed."""
    item = TABLE[item_id]
    return item.make_cases(seed=seed + _stable_hash(item_id))


def _stable_hash(text: str) -> int:
    return sum((i + 1) * ord(ch) for i, ch in enumerate(text)) % 100003
