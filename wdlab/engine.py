"""The training loop shared by ``train`` and ``sweep``: G configurations, one stacked computation.

Every configuration starts from the same initial weights (same seed) and sees the same
minibatches in the same order, so a configuration trained inside a grid follows the same
trajectory as when it is trained alone.
"""
from __future__ import annotations

import ctypes
import inspect
import platform
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .progress import progress_bar

if TYPE_CHECKING:
    from data_gen import Split

    from .model import MLP

# rule(theta, grad, state, t, **hparams) -> (new_theta, new_state): the course's update rules.
UpdateRule = Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]
# A schedule: the 0-based step t -> the multiplier eta_t.
Schedule = Callable[[int], float]
# A hyperparameter passed to a rule: a number or a [G, 1] tensor over a grid; options may be bools or strings.
HParam = bool | float | str | torch.Tensor

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers


def keep_freed_memory(mmap_mb: int = 32, trim_mb: int = 512) -> bool:
    """Let glibc reuse freed CPU memory instead of handing it back to the system.

    A training step allocates dozens of [G, P]-sized temporaries. With glibc's defaults each
    one above 128 KiB is a fresh mmap whose pages fault in on first touch, which made the
    update rule's elementwise ops several times slower than the arithmetic. Serving those
    blocks from the heap (mmap threshold 32 MiB, the most glibc allows) and keeping up to
    ``trim_mb`` of freed heap removes the faults. Returns whether the setting was applied
    (False off Linux/glibc, where nothing is changed).
    """
    if platform.system() != "Linux":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_mb << 20)) and \
            bool(libc.mallopt(_M_TRIM_THRESHOLD, trim_mb << 20))
    except (OSError, AttributeError):  # another C library (musl): leave it as it is
        return False


@dataclass
class Run:
    """Raw results of one engine run for G configurations (tensors on the CPU)."""
    train_loss: torch.Tensor  # [G, steps]
    eval_steps: list[int]     # 1-based step numbers at which the validation set was scored
    val_loss: torch.Tensor    # [G, len(eval_steps)]
    val_acc: torch.Tensor     # [G, len(eval_steps)]
    theta: torch.Tensor       # [G, P] final parameters
    seconds: float


class ZeroState(dict[str, torch.Tensor]):
    """Optimizer state whose missing keys read as zeros shaped like the parameters, so a rule
    need not declare its state tensors."""

    def __init__(self, like: torch.Tensor,
                 items: Mapping[str, torch.Tensor] | Iterable[tuple[str, torch.Tensor]] = ()) -> None:
        super().__init__(items)
        self._like = like

    def __missing__(self, key: str) -> torch.Tensor:
        self[key] = torch.zeros_like(self._like)
        return self[key]

    def get(self, key: str, default: torch.Tensor | None = None) -> torch.Tensor:
        """``self[key]``: a missing key reads as zeros, so ``default`` is never used."""
        return self[key]


def initial_state(rule: UpdateRule, theta: torch.Tensor,
                  state_keys: tuple[str, ...] | list[str] | None = None) -> dict[str, torch.Tensor]:
    """Zeros for the rule's state: a reference Rule's ``state``, else ``state_keys``, else lazy."""
    keys = state_keys if state_keys is not None else getattr(rule, "state", None)
    if isinstance(keys, (tuple, list)):
        return {key: torch.zeros_like(theta) for key in keys}
    return ZeroState(theta)


def check_signature(rule: UpdateRule, hparams: Mapping[str, HParam]) -> None:
    """ValueError unless ``rule(theta, grad, state, t, **hparams)`` can be called."""
    if not callable(rule):
        raise ValueError(f"rule must be a function rule(theta, grad, state, t, **hparams), got {rule!r}")
    try:
        sig = inspect.signature(rule)
    except (TypeError, ValueError):
        return  # builtins without a signature: find out when called
    try:
        sig.bind(None, None, None, 1, **hparams)
    except TypeError as err:
        raise ValueError(f"rule {getattr(rule, '__name__', rule)!r} does not have the course signature "
                         f"rule(theta, grad, state, t, **hparams) for hyperparameters "
                         f"{sorted(hparams)}: {err}") from None


def check_output(out: object, theta: torch.Tensor) -> None:
    """ValueError unless a rule returned (new_theta shaped like theta, dict of state)."""
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ValueError(f"a rule must return (new_theta, new_state), got {type(out).__name__}")
    new_theta, new_state = out
    if not isinstance(new_theta, torch.Tensor) or new_theta.shape != theta.shape:
        got = tuple(new_theta.shape) if isinstance(new_theta, torch.Tensor) else type(new_theta).__name__
        raise ValueError(f"a rule must return new_theta shaped like theta {tuple(theta.shape)}, got {got}")
    if not isinstance(new_state, dict):
        raise ValueError(f"a rule must return its state as a dict, got {type(new_state).__name__}")


def batch_order(n_train: int, batch_size: int, steps: int, seed: int) -> torch.Tensor:
    """Minibatch indices [steps, batch_size]: reshuffled epochs, drawn on the CPU from ``seed``."""
    gen = torch.Generator().manual_seed(int(seed) + 1)
    per_epoch = n_train // batch_size
    epochs = -(-steps // per_epoch)
    perms = [torch.randperm(n_train, generator=gen)[:per_epoch * batch_size] for _ in range(epochs)]
    return torch.cat(perms).view(-1, batch_size)[:steps]


def minibatches(data: Split, order: torch.Tensor, n_classes: int,
                dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs [steps, d, B] and one-hot labels [steps, C, B], feature-major as the model wants."""
    dev = order.device
    xs = data.x_train.to(dev, dtype)[order].transpose(1, 2).contiguous()
    onehots = torch.nn.functional.one_hot(data.y_train.to(dev)[order], n_classes).to(dtype)
    return xs, onehots.transpose(1, 2).contiguous()


def eval_points(steps: int, eval_every: int | None) -> list[int]:
    """The 1-based steps after which the validation set is scored (always the last one)."""
    points = list(range(eval_every, steps, eval_every)) if eval_every else []
    return points + [steps]


def run(rule: UpdateRule, data: Split, model: MLP, theta0: torch.Tensor, hparams: Mapping[str, HParam], *,
        steps: int, batch_size: int, seed: int, etas: torch.Tensor | None = None,
        state_keys: tuple[str, ...] | list[str] | None = None, eval_every: int | None = None,
        progress: bool = False) -> Run:
    """Train the G configurations in ``theta0`` [G, P] with ``rule``.

    ``hparams`` maps names to floats or [G, 1] tensors; ``etas`` is None (no schedule) or a
    [steps, G] tensor of schedule multipliers passed to the rule as ``eta``.
    """
    torch.set_flush_denormal(True)  # Adam's tiny v values otherwise slow CPUs down many times
    if theta0.device.type == "cpu":
        keep_freed_memory()
    start = time.perf_counter()
    g_count, dev, dtype = theta0.shape[0], theta0.device, theta0.dtype
    order = batch_order(data.x_train.shape[0], batch_size, steps, seed).to(dev)
    xs, onehots = minibatches(data, order, model.sizes[-1], dtype)
    x_val, y_val = data.x_val.to(dev, dtype), data.y_val.to(dev)
    if etas is not None:
        etas = etas.to(dev, dtype).unsqueeze(-1)                # [steps, G, 1]
    points = set(eval_points(steps, eval_every))
    train_loss = torch.empty(steps, g_count, dtype=dtype, device=dev)
    val_loss, val_acc = [], []
    theta, state = theta0, initial_state(rule, theta0, state_keys)
    lazy = isinstance(state, ZeroState)  # undeclared state: keep reading missing keys as zeros
    bar = progress_bar(steps, progress, "steps")
    for t in range(1, steps + 1):
        loss, grad = model.loss_and_grad(theta, xs[t - 1], onehots[t - 1])
        train_loss[t - 1] = loss
        kwargs = hparams if etas is None else {**hparams, "eta": etas[t - 1]}
        out = rule(theta, grad, state, t, **kwargs)
        if t == 1:
            check_output(out, theta)
        theta, state = out
        if lazy and not isinstance(state, ZeroState):
            state = ZeroState(theta, state)
        if t in points:
            loss_v, acc_v = model.evaluate(theta, x_val, y_val)
            val_loss.append(loss_v)
            val_acc.append(acc_v)
        bar.update(1)
    bar.close()
    return Run(train_loss.T.cpu(), sorted(points), torch.stack(val_loss, 1).cpu(),
               torch.stack(val_acc, 1).cpu(), theta.detach(), time.perf_counter() - start)
