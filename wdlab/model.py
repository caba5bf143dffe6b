"""A ReLU MLP written as plain tensor code, for G configurations at once.

All parameters of all configurations live in one flat tensor ``theta`` of shape [G, P]: an
update rule is then one elementwise call per step, whatever the number of layers. Weights are
stored [out, in] as in ``torch.nn.Linear``; ``unflatten`` gives per-layer views.

Activations are kept feature-major, [G, features, batch], so every layer is a batched matmul
``W @ h`` whose small dimension (4 classes in the last layer) is the row count: MKL handles
that shape an order of magnitude faster than an output only 4 columns wide. The first layer's
input is the same minibatch for every configuration, so it is one plain GEMM over the stacked
weights [G*h, d]. Gradients are written by hand (a dozen matmuls, each straight into its slice
of the [G, P] gradient), which keeps the per-step Python overhead small.

``layer_norm=True`` normalizes every hidden pre-activation over its features (LayerNorm without
a learned scale, as ``torch.nn.LayerNorm(elementwise_affine=False)``). The hidden weights then
become scale-invariant, as in the batch-normalized networks of Loshchilov & Hutter's
experiments; there the weight norm only sets an effective learning rate, and that is what makes
decoupled decay separable from the learning rate.
"""
from __future__ import annotations

import math

import torch

_relu_backward = torch.ops.aten.threshold_backward  # grad * (h > 0) in one pass, no mask tensor


class MLP:
    """Layer sizes and the [G, P] layout: n_features -> hidden... -> n_classes, ReLU between."""

    eps = 1e-5  # LayerNorm's default

    def __init__(self, n_features: int, hidden: tuple[int, ...], n_classes: int,
                 layer_norm: bool = False) -> None:
        if isinstance(hidden, int) or not all(isinstance(h, int) and h > 0 for h in hidden):
            raise ValueError(f"hidden must be a tuple of positive layer widths, got {hidden!r}")
        self.sizes = [int(n_features), *hidden, int(n_classes)]
        self.n_layers = len(self.sizes) - 1
        self.layer_norm = bool(layer_norm)
        self.shapes: list[tuple[str, tuple[int, ...]]] = []  # (name, shape) for each parameter, in flat order
        for i, (n_in, n_out) in enumerate(zip(self.sizes, self.sizes[1:]), start=1):
            self.shapes += [(f"w{i}", (n_out, n_in)), (f"b{i}", (n_out,))]
        self.n_params = sum(math.prod(shape) for _, shape in self.shapes)

    def flops_per_step(self, batch_size: int) -> int:
        """FLOPs of one training step for one configuration: 2 per multiply-add, forward and
        backward (weight gradients everywhere, input gradients except for the first layer)."""
        macs = sum(a * b for a, b in zip(self.sizes, self.sizes[1:]))
        return 2 * batch_size * (3 * macs - self.sizes[0] * self.sizes[1])

    def init(self, seed: int, dtype: torch.dtype = torch.float32,
             device: torch.device | str = "cpu") -> torch.Tensor:
        """nn.Linear's default init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases,
        drawn on the CPU from ``seed`` so every device and dtype starts alike; shape [1, P]."""
        gen = torch.Generator().manual_seed(int(seed))
        parts = []
        for i in range(1, self.n_layers + 1):
            bound = 1.0 / math.sqrt(self.sizes[i - 1])
            for size in (self.sizes[i] * self.sizes[i - 1], self.sizes[i]):
                parts.append((torch.rand(size, generator=gen, dtype=torch.float64) * 2 - 1) * bound)
        return torch.cat(parts).to(dtype=dtype, device=device).unsqueeze(0)

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of ``theta`` [G, P] as a dict name -> [G, *shape]."""
        out, offset = {}, 0
        for name, shape in self.shapes:
            size = math.prod(shape)
            out[name] = theta[:, offset:offset + size].view(theta.shape[0], *shape)
            offset += size
        return out

    def _forward(self, theta: torch.Tensor, x_t: torch.Tensor) -> tuple[
            dict[str, torch.Tensor], list[torch.Tensor], list[tuple[torch.Tensor, torch.Tensor]]]:
        """Activations [input, hidden..., logits], each [G, features, n], and per hidden layer
        the normalized pre-activation and 1/std (only with layer_norm); x_t is [d, n]."""
        p = self.unflatten(theta)
        g_count = theta.shape[0]
        acts, norms = [x_t], []
        for i in range(1, self.n_layers + 1):
            w, b = p[f"w{i}"], p[f"b{i}"].unsqueeze(-1)
            if i == 1:  # the input is shared: one GEMM [G*h, d] @ [d, n] for all configurations
                z = torch.addmm(b.reshape(-1, 1), w.reshape(-1, w.shape[-1]), x_t)
                z = z.view(g_count, w.shape[1], -1)
            else:
                z = torch.baddbmm(b, w, acts[-1])
            if i == self.n_layers:
                acts.append(z)
            elif self.layer_norm:
                # Two-pass mean and variance: torch.var_mean over dim 1 is ~10x slower on CPU.
                z = z - z.mean(1, keepdim=True)
                rstd = (z * z).mean(1, keepdim=True).add_(self.eps).rsqrt_()
                z = z.mul_(rstd)
                norms.append((z, rstd))
                acts.append(z.relu())
            else:
                acts.append(z.relu_())
        return p, acts, norms

    def logits(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Class scores [G, n, C] for inputs ``x`` [n, d] shared by all configurations."""
        return self._forward(theta, x.T)[1][-1].transpose(1, 2)

    @staticmethod
    def _norm_backward(grad: torch.Tensor, y: torch.Tensor, rstd: torch.Tensor) -> torch.Tensor:
        """Gradient through y = (z - mean) / std over features (dim 1) with no learned scale."""
        return (grad - grad.mean(1, keepdim=True) - y * (grad * y).mean(1, keepdim=True)).mul_(rstd)

    def loss_and_grad(self, theta: torch.Tensor, x_t: torch.Tensor,
                      onehot_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy per config [G] and its gradient [G, P] on one minibatch.

        x_t [d, B] and onehot_t [C, B] are the minibatch, feature-major.
        """
        p, acts, norms = self._forward(theta, x_t)
        log_probs = acts.pop().log_softmax(1)
        batch = x_t.shape[1]
        loss = (log_probs * onehot_t).sum((1, 2)).div_(-batch)
        delta = (log_probs.exp_() - onehot_t).div_(batch)  # d loss / d logits, [G, C, B]
        grad = theta.new_empty(theta.shape)  # each layer's gradient is written into its slice
        g = self.unflatten(grad)
        for i in range(self.n_layers, 0, -1):
            h_in = acts[i - 1]
            torch.sum(delta, -1, out=g[f"b{i}"])
            if i == 1:  # shared input: one GEMM [G*h, B] @ [B, d] for all configurations
                g["w1"].copy_(torch.mm(delta.reshape(-1, batch), h_in.T).view(g["w1"].shape))
                break
            torch.bmm(delta, h_in.transpose(1, 2), out=g[f"w{i}"])
            delta = _relu_backward(torch.bmm(p[f"w{i}"].transpose(1, 2), delta), h_in, 0)
            if self.layer_norm:
                delta = self._norm_backward(delta, *norms[i - 2])
        return loss, grad

    def evaluate(self, theta: torch.Tensor, x: torch.Tensor,
                 y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy [G] and accuracy [G] on the set (x [n, d], y [n])."""
        logits = self._forward(theta, x.T)[1][-1]  # [G, C, n]
        loss = torch.nn.functional.cross_entropy(
            logits, y.expand(theta.shape[0], -1), reduction="none").mean(-1)
        acc = (logits.argmax(1) == y).to(theta.dtype).mean(-1)
        return loss, acc

    def to_modules(self, theta: torch.Tensor) -> torch.nn.Sequential:
        """A torch.nn.Sequential holding configuration 0 of ``theta`` (torch.optim comparisons)."""
        p = self.unflatten(theta)
        layers = []
        for i in range(1, self.n_layers + 1):
            lin = torch.nn.Linear(self.sizes[i - 1], self.sizes[i], device=theta.device, dtype=theta.dtype)
            with torch.no_grad():
                lin.weight.copy_(p[f"w{i}"][0])
                lin.bias.copy_(p[f"b{i}"][0])
            norm = [torch.nn.LayerNorm(self.sizes[i], elementwise_affine=False, eps=self.eps)]
            hidden = [lin, *(norm if self.layer_norm else []), torch.nn.ReLU()]
            layers += hidden if i < self.n_layers else [lin]
        return torch.nn.Sequential(*layers)

    def from_modules(self, net: torch.nn.Sequential) -> torch.Tensor:
        """The inverse of ``to_modules``: a [1, P] flat tensor from an nn.Sequential."""
        parts = []
        for lin in (m for m in net if isinstance(m, torch.nn.Linear)):
            parts += [lin.weight.detach().reshape(-1), lin.bias.detach()]
        return torch.cat(parts).unsqueeze(0)
