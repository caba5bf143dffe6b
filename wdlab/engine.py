"""The training loop shared by ``train`` and ``sweep``: G configurations, one stacked computation.

Every configuration starts from the same initial weights (same seed) and sees the same
minibatches in the same order, so a configuration trained inside a grid follows the same
trajectory as when it is trained alone.

Two update paths:

* generic: ``rule(theta, grad, state, t, **hparams) -> (theta, state)``, any function with the
  course's signature (a student's own rule). Each step gets a fresh gradient tensor, because a
  rule may keep references to its inputs.
* fused: a rule object may carry ``fused(theta, grad, state, t, **hparams) -> None``, the same
  update written in place (theta and the state tensors are overwritten, ``grad`` may be used as
  scratch). The engine then reuses one gradient buffer instead of a new [G, P] tensor per step.
  It checks the first step against the rule itself and falls back to the generic path, with a
  warning, if the two disagree (e.g. a wrapper that copied the attribute but changes the update).

The forward and backward pass is ``Step``: the arithmetic of ``MLP.loss_and_grad``, arranged for
the CPU: a product and an in-place bias add instead of ``baddbmm`` (slower), small weight
gradients as one batched GEMM copied into place, large ones straight into their slice, the ReLU
backward in place. The first layer's gradient is one GEMM over all configurations and a copy
into its slice (~0.3% of a step); writing it in place takes one GEMM per configuration, which
measured 1.5-2 ms per step slower. Each choice was measured side by side on the course's
20-64-64-4 sweeps.
"""
from __future__ import annotations

import contextlib
import ctypes
import inspect
import platform
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import torch

from .progress import Bar, progress_bar
from .threads import intra_op_threads

if TYPE_CHECKING:
    from data_gen import Split

    from .model import MLP

# rule(theta, grad, state, t, **hparams) -> (new_theta, new_state): the course's update rules.
UpdateRule = Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]
# fused(theta, grad, state, t, **hparams) -> None: the same update, in place.
FusedUpdate = Callable[..., None]
# A schedule: the 0-based step t -> the multiplier eta_t.
Schedule = Callable[[int], float]
# A hyperparameter passed to a rule: a number or a [G, 1] tensor over a grid; options may be bools or strings.
HParam = bool | float | str | torch.Tensor

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
_relu_backward_ = torch.ops.aten.threshold_backward.grad_input  # grad * (h > 0), one pass, no mask
_PER_CONFIG_GEMM = 1024  # weights with this many entries get their gradient GEMM per configuration


class StepCallback(Protocol):
    def __call__(self, n: int = 1) -> object: ...


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
    fused: bool = False       # whether the rule's in-place ``fused`` update trained it


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


def wraps_rule(wrapper: object, rule: UpdateRule) -> None:
    """Give a rule wrapper what the engine reads from a rule: its state names, its name and its
    signature (the engine inspects the signature to pass hyperparameters)."""
    wrapper.state = getattr(rule, "state", None)
    wrapper.__name__ = getattr(rule, "__name__", None) or getattr(rule, "name", "rule")
    try:
        wrapper.__signature__ = inspect.signature(rule)
    except (TypeError, ValueError):
        pass


def fused_update(rule: UpdateRule) -> FusedUpdate | None:
    """The rule's in-place ``fused`` update, if it carries one (see the module docstring)."""
    fused = getattr(rule, "fused", None)
    return fused if callable(fused) else None


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


class Step:
    """Loss and gradient of ``model`` for G configurations: ``MLP.loss_and_grad``'s arithmetic
    (same layout, same values to rounding), arranged for speed (see the module docstring)."""

    def __init__(self, model: MLP) -> None:
        self.model = model

    def __call__(self, theta: torch.Tensor, x_t: torch.Tensor, onehot_t: torch.Tensor,
                 grad: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy per configuration [G] and its gradient [G, P], written into
        ``grad`` when given. x_t [d, B] and onehot_t [C, B] are feature-major."""
        model, n_layers = self.model, self.model.n_layers
        g_count, batch = theta.shape[0], x_t.shape[1]
        p = model.unflatten(theta)
        grad = theta.new_empty(theta.shape) if grad is None else grad
        g = model.unflatten(grad)
        acts, norms = [x_t], []
        for i in range(1, n_layers + 1):
            w, b = p[f"w{i}"], p[f"b{i}"].unsqueeze(-1)
            if i == 1:  # the input is shared: one GEMM [G*h, d] @ [d, B] for all configurations
                z = torch.addmm(b.reshape(-1, 1), w.reshape(-1, w.shape[-1]), x_t).view(g_count, -1, batch)
            else:
                z = torch.bmm(w, acts[-1]).add_(b)
            if i == n_layers:
                acts.append(z)
            elif model.layer_norm:
                z.sub_(z.mean(1, keepdim=True))
                rstd = (z * z).mean(1, keepdim=True).add_(model.eps).rsqrt_()
                z.mul_(rstd)
                norms.append((z, rstd))
                acts.append(z.relu())
            else:
                acts.append(z.relu_())
        log_probs = acts.pop().log_softmax(1)
        loss = (log_probs * onehot_t).sum((1, 2)).div_(-batch)
        delta = log_probs.exp_().sub_(onehot_t).div_(batch)  # d loss / d logits, [G, C, B]
        for i in range(n_layers, 0, -1):
            h_in = acts[i - 1]
            torch.sum(delta, -1, out=g[f"b{i}"])
            if i == 1:  # shared input: one GEMM [G*h, B] @ [B, d], copied into its strided slice
                g["w1"].copy_(torch.mm(delta.reshape(-1, batch), h_in.T).view(g["w1"].shape))
                break
            w = p[f"w{i}"]
            # written straight into its strided slice of the gradient, torch runs a product as one
            # GEMM per configuration: for a large weight that beats a batched GEMM and a copy, for
            # a small one (the readout) the per-call cost makes it several times slower
            if w.shape[1] * w.shape[2] >= _PER_CONFIG_GEMM:
                torch.bmm(delta, h_in.transpose(1, 2), out=g[f"w{i}"])
            else:
                g[f"w{i}"].copy_(torch.bmm(delta, h_in.transpose(1, 2)))
            back = torch.bmm(w.transpose(1, 2), delta)
            delta = _relu_backward_(back, h_in, 0, grad_input=back)  # in place: no new tensor
            if model.layer_norm:
                y, rstd = norms[i - 2]
                mean_g = delta.mean(1, keepdim=True)
                mean_gy = (delta * y).mean(1, keepdim=True)
                delta.sub_(mean_g).addcmul_(y, mean_gy, value=-1).mul_(rstd)
        return loss, grad


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal to float rounding (relative to each tensor's own scale, NaNs equal)."""
    scale = float(b.abs().nan_to_num(0.0, 0.0, 0.0).max()) if b.numel() else 0.0
    eps = torch.finfo(b.dtype).eps
    return bool(torch.allclose(a, b, rtol=256 * eps, atol=256 * eps * scale, equal_nan=True))


def _checked_step(fused: FusedUpdate, rule: UpdateRule, theta: torch.Tensor, grad: torch.Tensor,
                  state: dict[str, torch.Tensor], t: int, kwargs: Mapping[str, HParam],
                  ) -> tuple[torch.Tensor, dict[str, torch.Tensor]] | None:
    """Apply ``fused`` in place; None if it matched ``rule`` on the same inputs, else the rule's
    own (new_theta, new_state), which the caller continues from."""
    copy = {k: v.clone() for k, v in state.items()}
    out = rule(theta.clone(), grad.clone(), ZeroState(theta, copy) if isinstance(state, ZeroState) else copy,
               t, **kwargs)
    check_output(out, theta)
    fused(theta, grad, state, t, **kwargs)
    ref_theta, ref_state = out
    if set(ref_state) <= set(state) and _close(theta, ref_theta) and \
            all(_close(state[k], v) for k, v in ref_state.items()):
        return None
    return out


def run(rule: UpdateRule, data: Split, model: MLP, theta0: torch.Tensor, hparams: Mapping[str, HParam], *,
        steps: int, batch_size: int, seed: int, etas: torch.Tensor | None = None,
        state_keys: tuple[str, ...] | list[str] | None = None, eval_every: int | None = None,
        progress: bool | Bar | StepCallback = False, frozen_tail: int = 0, fused: bool = True) -> Run:
    """Train the G configurations in ``theta0`` [G, P] with ``rule``.

    ``hparams`` maps names to floats or [G, 1] tensors; ``etas`` is None (no schedule) or a
    [steps, G] tensor of schedule multipliers passed to the rule as ``eta``. ``frozen_tail``:
    the last parameters of the flat vector (e.g. a fixed readout) keep their initial values and
    are not shown to the rule. ``fused=False`` ignores a rule's in-place update. ``progress``:
    True for a bar of its own, or a bar (or a function of the number of steps done) to update.
    On CPU the run uses one intra-op thread (see ``wdlab.threads``).
    """
    n_params = theta0.shape[1]
    if not isinstance(frozen_tail, int) or not 0 <= frozen_tail < n_params:
        raise ValueError(f"frozen_tail must be an integer in [0, {n_params}), got {frozen_tail!r}")
    torch.set_flush_denormal(True)  # Adam's tiny v values otherwise slow CPUs down many times
    if theta0.device.type == "cpu":
        keep_freed_memory()
    with intra_op_threads(1) if theta0.device.type == "cpu" else contextlib.nullcontext():
        return _run(rule, data, model, theta0, hparams, steps=steps, batch_size=batch_size,
                    seed=seed, etas=etas, state_keys=state_keys, eval_every=eval_every,
                    progress=progress, frozen_tail=frozen_tail, use_fused=fused)


def _run(rule: UpdateRule, data: Split, model: MLP, theta0: torch.Tensor, hparams: Mapping[str, HParam], *,
         steps: int, batch_size: int, seed: int, etas: torch.Tensor | None,
         state_keys: tuple[str, ...] | list[str] | None, eval_every: int | None,
         progress: bool | Bar | StepCallback, frozen_tail: int, use_fused: bool) -> Run:
    start = time.perf_counter()
    g_count, dev, dtype = theta0.shape[0], theta0.device, theta0.dtype
    head = theta0.shape[1] - frozen_tail  # the parameters the rule trains
    order = batch_order(data.x_train.shape[0], batch_size, steps, seed).to(dev)
    xs, onehots = minibatches(data, order, model.sizes[-1], dtype)
    x_val, y_val = data.x_val.to(dev, dtype), data.y_val.to(dev)
    if etas is not None:
        etas = etas.to(dev, dtype).unsqueeze(-1)                # [steps, G, 1]
    points = set(eval_points(steps, eval_every))
    train_loss = torch.empty(steps, g_count, dtype=dtype, device=dev)
    val_loss, val_acc = [], []
    step = Step(model)
    fused = fused_update(rule) if use_fused else None
    theta = theta0.clone() if fused is not None else theta0
    state = initial_state(rule, theta[:, :head], state_keys)
    lazy = isinstance(state, ZeroState)  # undeclared state: keep reading missing keys as zeros
    grad_buffer = torch.empty_like(theta) if fused is not None else None
    own_bar = progress is True
    bar = progress_bar(steps, True, "steps") if own_bar else progress
    tick = bar.update if hasattr(bar, "update") else bar if callable(bar) else None
    for t in range(1, steps + 1):
        loss, grad = step(theta, xs[t - 1], onehots[t - 1], grad_buffer)
        train_loss[t - 1] = loss
        kwargs = hparams if etas is None else {**hparams, "eta": etas[t - 1]}
        out = None
        if fused is not None and t > 1:
            fused(theta[:, :head], grad[:, :head], state, t, **kwargs)
        elif fused is not None:
            out = _checked_step(fused, rule, theta[:, :head], grad[:, :head], state, t, kwargs)
            if out is not None:
                name = getattr(rule, "name", None) or getattr(rule, "__name__", repr(rule))
                warnings.warn(f"the in-place update of rule {name!r} differs from the rule itself; "
                              "training with the rule", RuntimeWarning, stacklevel=3)
                # continue from the rule's own first step, with a fresh gradient every step
                fused, theta, grad_buffer = None, theta0, None
        else:
            out = rule(theta[:, :head] if frozen_tail else theta, grad[:, :head] if frozen_tail else grad,
                       state, t, **kwargs)
            if t == 1:
                check_output(out, theta[:, :head])
        if out is not None:
            new_head, state = out
            theta = torch.cat([new_head, theta[:, head:]], 1) if frozen_tail else new_head
            if lazy and not isinstance(state, ZeroState):
                state = ZeroState(theta[:, :head], state)
        if t in points:
            loss_v, acc_v = model.evaluate(theta, x_val, y_val)
            val_loss.append(loss_v)
            val_acc.append(acc_v)
        if tick is not None:
            tick(1)
    if own_bar:
        bar.close()
    return Run(train_loss.T.cpu(), sorted(points), torch.stack(val_loss, 1).cpu(),
               torch.stack(val_acc, 1).cpu(), theta.detach(), time.perf_counter() - start,
               fused is not None)
