"""Train one MLP with a course update rule (``train``) or with a torch.optim optimizer
(``train_torch``): same model, initial weights, minibatches and evaluation, so the two can be
compared curve by curve ("from scratch, then the library")."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from . import engine
from .device import course_device, resolve_device
from .engine import HParam, Schedule, UpdateRule
from .model import MLP

if TYPE_CHECKING:
    from data_gen import Split

DTYPES = (torch.float32, torch.float64)


@dataclass
class History:
    """Curves of one training run.

    train_loss: minibatch loss at every step; val_loss / val_acc: validation set scores at the
    step numbers in ``steps`` (every ``eval_every`` steps and after the last one);
    params: the final weights, a dict name -> tensor (w1 [in, out], b1 [out], ...).
    """
    train_loss: np.ndarray
    val_loss: np.ndarray
    val_acc: np.ndarray
    steps: np.ndarray
    params: dict[str, torch.Tensor]
    seconds: float


def check_common(data: Split, steps: int, batch_size: int, eval_every: int | None,
                 dtype: torch.dtype) -> None:
    """ValueError for bad training settings, naming the argument."""
    for name in ("x_train", "y_train", "x_val", "y_val"):
        if not hasattr(data, name):
            raise ValueError(f"data must be a data_gen Split (x_train, y_train, x_val, y_val); "
                             f"it has no {name}")
    if data.x_train.ndim != 2 or data.x_train.shape[0] != data.y_train.shape[0] \
            or data.x_val.shape[0] != data.y_val.shape[0] or data.x_val.shape[1:] != data.x_train.shape[1:]:
        raise ValueError(f"data shapes do not match: x_train {tuple(data.x_train.shape)}, y_train "
                         f"{tuple(data.y_train.shape)}, x_val {tuple(data.x_val.shape)}, "
                         f"y_val {tuple(data.y_val.shape)}")
    for name, value in [("steps", steps), ("batch_size", batch_size)]:
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if batch_size > data.x_train.shape[0]:
        raise ValueError(f"batch_size must be at most the {data.x_train.shape[0]} training points, "
                         f"got {batch_size}")
    if eval_every is not None and (not isinstance(eval_every, int) or eval_every < 1):
        raise ValueError(f"eval_every must be a positive integer or None, got {eval_every!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")


def setup(data: Split, hidden: tuple[int, ...], seed: int, device: torch.device | str | None,
          dtype: torch.dtype, layer_norm: bool = False) -> tuple[MLP, torch.Tensor, torch.device]:
    """The model, its initial weights [1, P] and the device (default: the course's device policy;
    the data move there)."""
    dev = resolve_device(device) if device is not None else course_device()
    n_classes = int(torch.cat([data.y_train, data.y_val]).max()) + 1
    model = MLP(data.x_train.shape[1], hidden, n_classes, layer_norm)
    return model, model.init(seed, dtype, dev), dev


def schedule_table(schedules: Sequence[Schedule], steps: int) -> torch.Tensor:
    """Multipliers [steps, G] from one callable t (0-based) -> eta per configuration."""
    rows = [[float(fn(t)) for fn in schedules] for t in range(steps)]
    return torch.tensor(rows, dtype=torch.float64)


def to_history(model: MLP, result: engine.Run) -> History:
    """The History of configuration 0 of an engine run (curves as numpy, weights by layer)."""
    params = {k: v[0].cpu() for k, v in model.unflatten(result.theta).items()}
    return History(result.train_loss[0].numpy(), result.val_loss[0].numpy(),
                   result.val_acc[0].numpy(), np.array(result.eval_steps), params, result.seconds)


def train(rule: UpdateRule, data: Split, *, steps: int = 200, batch_size: int = 100,
          hidden: tuple[int, ...] = (64, 64), seed: int = 0, schedule: Schedule | None = None,
          device: torch.device | str | None = None, dtype: torch.dtype = torch.float32,
          state_keys: tuple[str, ...] | list[str] | None = None, eval_every: int | None = 20,
          layer_norm: bool = False, **hparams: HParam) -> History:
    """Train an MLP (n_features -> hidden -> n_classes, cross-entropy) with ``rule``.

    ``rule(theta, grad, state, t, **hparams) -> (theta, state)`` is any function with the
    course's signature (a reference rule or your own); ``schedule`` maps the 0-based step to
    the multiplier eta_t passed to the rule as ``eta`` (None: the rule's default);
    ``layer_norm`` normalizes the hidden layers (scale-invariant weights, see wdlab.model).
    """
    check_common(data, steps, batch_size, eval_every, dtype)
    engine.check_signature(rule, {**hparams, **({"eta": 1.0} if schedule else {})})
    model, theta0, _ = setup(data, hidden, seed, device, dtype, layer_norm)
    etas = schedule_table([schedule], steps) if schedule is not None else None
    result = engine.run(rule, data, model, theta0, hparams, steps=steps, batch_size=batch_size,
                        seed=seed, etas=etas, state_keys=state_keys, eval_every=eval_every)
    return to_history(model, result)


def train_torch(make_optimizer: Callable[[Iterator[torch.nn.Parameter]], torch.optim.Optimizer],
                data: Split, *, steps: int = 200, batch_size: int = 100, hidden: tuple[int, ...] = (64, 64),
                seed: int = 0, schedule: Schedule | None = None, device: torch.device | str | None = None,
                dtype: torch.dtype = torch.float32, eval_every: int | None = 20,
                layer_norm: bool = False) -> History:
    """The same training as ``train`` with a torch.optim optimizer: ``make_optimizer(params)``
    returns it; ``schedule`` multiplies its learning rate through LambdaLR."""
    check_common(data, steps, batch_size, eval_every, dtype)
    if not callable(make_optimizer):
        raise ValueError(f"make_optimizer must be a function params -> torch.optim optimizer, "
                         f"got {make_optimizer!r}")
    torch.set_flush_denormal(True)
    start = time.perf_counter()
    model, theta0, dev = setup(data, hidden, seed, device, dtype, layer_norm)
    net = model.to_modules(theta0)
    opt = make_optimizer(net.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule) if schedule is not None else None
    order = engine.batch_order(data.x_train.shape[0], batch_size, steps, seed).to(dev)
    x_train, y_train = data.x_train.to(dev, dtype), data.y_train.to(dev)
    x_val, y_val = data.x_val.to(dev, dtype), data.y_val.to(dev)
    points = set(engine.eval_points(steps, eval_every))
    train_loss, val_loss, val_acc = [], [], []
    for t in range(1, steps + 1):
        idx = order[t - 1]
        loss = torch.nn.functional.cross_entropy(net(x_train[idx]), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        train_loss.append(loss.detach())
        if t in points:
            with torch.no_grad():
                logits = net(x_val)
                val_loss.append(torch.nn.functional.cross_entropy(logits, y_val))
                val_acc.append((logits.argmax(-1) == y_val).to(dtype).mean())
    theta = model.from_modules(net)
    result = engine.Run(torch.stack(train_loss).cpu()[None], sorted(points),
                        torch.stack(val_loss).cpu()[None], torch.stack(val_acc).cpu()[None],
                        theta, time.perf_counter() - start)
    return to_history(model, result)
