"""A 2-D picture of Adam + L2 against AdamW: where each comes to rest on an anisotropic problem.

``NoisyQuadratic`` is f(theta) = 1/2 sum_i h_i (theta_i - c_i)^2 with very different curvatures
h_i. Each step sees a noisy target c + sigma * xi (xi standard normal), so the gradient
h * (theta - c - sigma * xi) is noisy in proportion to the curvature, like a minibatch gradient
of a least-squares problem whose features have different scales. The large-curvature coordinate
therefore also has the large gradients.

Where the iterates come to rest (the mean of the second half of a long run):

* Adam + L2: at rest E[g + l2 theta] = 0, so the mean is the minimizer of f + (l2/2)||theta||^2,
  h_i c_i / (h_i + l2): the large-gradient coordinate is barely regularized (``l2_rest_point``).
* AdamW: Adam's step m_hat / sqrt(v_hat) does not change when a coordinate's gradients are
  scaled, and the decay does not look at the gradient, so both coordinates move alike (up to
  eps): they come to rest at the same fraction of their targets.

``run`` trains any rule with the course signature (a student's own) on the problem; ``draw``
plots one trajectory of each rule over the loss's level sets, with the point where the rule's
runs come to rest.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.axes import Axes

UpdateRule = Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]


@dataclass(frozen=True)
class NoisyQuadratic:
    """f(theta) = 1/2 sum_i h_i (theta_i - c_i)^2, gradients with noise sigma * h_i * xi."""
    curvature: tuple[float, float] = (10.0, 0.1)
    target: tuple[float, float] = (1.0, 1.0)
    noise: float = 1.0

    def __post_init__(self) -> None:
        if len(self.curvature) != 2 or len(self.target) != 2 or min(self.curvature) <= 0:
            raise ValueError(f"curvature must be two positive numbers and target two numbers, got "
                             f"{self.curvature} and {self.target}")
        if self.noise < 0:
            raise ValueError(f"noise must be >= 0, got {self.noise}")

    def loss(self, theta: torch.Tensor) -> torch.Tensor:
        """f at ``theta`` [..., 2] (no noise)."""
        h, c = self._tensors(theta)
        return 0.5 * (h * (theta - c) ** 2).sum(-1)

    def grad(self, theta: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        """The gradient seen at one step: h * (theta - c - noise * xi)."""
        h, c = self._tensors(theta)
        return h * (theta - c - self.noise * xi)

    def l2_rest_point(self, l2: float) -> torch.Tensor:
        """The minimizer of f + (l2/2)||theta||^2: h_i c_i / (h_i + l2)."""
        h, c = self._tensors(torch.zeros(2, dtype=torch.float64))
        return h * c / (h + l2)

    def _tensors(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.tensor(self.curvature, dtype=like.dtype, device=like.device),
                torch.tensor(self.target, dtype=like.dtype, device=like.device))


def run(rule: UpdateRule, problem: NoisyQuadratic, start: tuple[float, float], steps: int,
        runs: int = 16, state_keys: tuple[str, ...] = ("m", "v"), seed: int = 0,
        **hparams: float) -> torch.Tensor:
    """Paths [steps + 1, runs, 2] of ``rule`` from ``start`` in float64, ``runs`` independent noise
    streams at once (the rule sees theta shaped [runs, 2]). The same ``seed`` gives every rule the
    same noise, so paths differ only by the rule."""
    if not isinstance(steps, int) or steps < 1 or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"steps and runs must be positive integers, got {steps!r} and {runs!r}")
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(steps, runs, 2, generator=gen, dtype=torch.float64)
    theta = torch.tensor(start, dtype=torch.float64).expand(runs, 2).clone()
    state = {key: torch.zeros_like(theta) for key in state_keys}
    path = [theta]
    for t in range(1, steps + 1):
        theta, state = rule(theta, problem.grad(theta, noise[t - 1]), state, t, **hparams)
        path.append(theta)
    return torch.stack(path)


def rest_point(path: torch.Tensor) -> torch.Tensor:
    """Where paths [steps + 1, runs, 2] come to rest: the mean over the second half and the runs."""
    return path[len(path) // 2:].reshape(-1, path.shape[-1]).mean(0)


def draw(ax: Axes, problem: NoisyQuadratic, paths: Mapping[str, torch.Tensor],
         l2_range: tuple[float, float] = (1e-3, 1e3)) -> None:
    """Level sets of f, each path with the point where it comes to rest, and the two families of
    rest points: L2's (h c / (h + l2) over ``l2_range``) and uniform shrinkage (s c, 0 <= s <= 1)."""
    c = np.array(problem.target)
    points = [p[:, 0].numpy() for p in paths.values()] + [np.zeros((1, 2)), c[None]]
    low, high = np.min([p.min(0) for p in points], 0), np.max([p.max(0) for p in points], 0)
    pad = 0.15 * (high - low).max()
    xs, ys = np.linspace(low[0] - pad, high[0] + pad, 200), np.linspace(low[1] - pad, high[1] + pad, 200)
    grid = torch.tensor(np.stack(np.meshgrid(xs, ys), -1))
    ax.contour(xs, ys, problem.loss(grid).numpy(), levels=np.geomspace(1e-3, 50, 14), colors="0.8",
               linewidths=0.7)
    l2s = np.geomspace(*l2_range, 200)
    ridge = np.stack([problem.l2_rest_point(float(v)).numpy() for v in l2s])
    ax.plot(ridge[:, 0], ridge[:, 1], ":", color="C1", lw=1.5, label="rest points of L2, all $\\lambda'$")
    ax.plot([0, c[0]], [0, c[1]], ":", color="C2", lw=1.5, label="uniform shrinkage $s\\,c$")
    for (label, path), color in zip(paths.items(), ["C0", "C1", "C2", "C3"]):
        rest = rest_point(path).numpy()
        ax.plot(path[:, 0, 0], path[:, 0, 1], "-", color=color, lw=0.6, alpha=0.5)
        ax.plot(*rest, "o", color=color, ms=9, markeredgecolor="k", label=f"{label}: rests at "
                f"({rest[0]:.2f}, {rest[1]:.2f})")
    ax.plot(*c, "k*", ms=14, label="minimum of $f$")
    ax.plot(*path[0, 0].numpy(), "ks", ms=6, label="start")
    ax.set(xlabel=f"$\\theta_1$ (curvature {problem.curvature[0]:g})",
           ylabel=f"$\\theta_2$ (curvature {problem.curvature[1]:g})")
    ax.set_aspect("equal")
