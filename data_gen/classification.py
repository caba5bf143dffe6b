"""Multi-class classification: the workload the notebooks train on.

The difficulty knob is a handful of named settings (or a preset name):
- ``separation``: distance between class clusters (sklearn's class_sep); smaller is harder;
- ``label_noise``: fraction of labels replaced at random (sklearn's flip_y);
- ``nuisance_dims``: extra pure-noise features the model must learn to ignore;
- ``scale_spread``: features rescaled by factors log-spaced from 1 to this value; a badly
  conditioned input is where adaptive methods and plain SGD part ways.
Data are drawn with numpy on the CPU and only then moved, so a seed gives the same tensors on
every device.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from wdlab.device import resolve_device

from ._checks import check_float, check_int

PRESETS = {
    "easy": dict(separation=2.0, label_noise=0.0, nuisance_dims=0),
    "medium": dict(separation=1.0, label_noise=0.05, nuisance_dims=4),
    "hard": dict(separation=0.6, label_noise=0.15, nuisance_dims=10),
}


@dataclass
class Split:
    """Train / validation / test tensors; features [n, d] float, labels [n] int64."""
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def n_features(self) -> int:
        """The number of input features d."""
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        """The number of classes: the largest label in any split, plus one."""
        return int(torch.cat([self.y_train, self.y_val, self.y_test]).max()) + 1


def make_classification(n_train: int = 2000, n_val: int = 1000, n_test: int = 1000,
                        n_informative: int = 20, n_classes: int = 4, difficulty: str | None = None,
                        separation: float = 1.0, label_noise: float = 0.05, nuisance_dims: int = 0,
                        scale_spread: float = 1.0, seed: int = 0, device: torch.device | str = "cpu",
                        dtype: torch.dtype = torch.float32) -> Split:
    """Gaussian class clusters (sklearn) split into train/val/test tensors on ``device``.

    ``difficulty`` ("easy", "medium", "hard") sets separation, label_noise and nuisance_dims
    together; explicit arguments are used when it is None.
    """
    if difficulty is not None:
        if difficulty not in PRESETS:
            raise ValueError(f"difficulty must be one of {sorted(PRESETS)} or None, got {difficulty!r}")
        separation, label_noise, nuisance_dims = PRESETS[difficulty].values()
    for name, value in [("n_train", n_train), ("n_val", n_val), ("n_test", n_test)]:
        check_int(name, value, 1)
    check_int("n_informative", n_informative, 2)
    check_int("n_classes", n_classes, 2, 2 ** n_informative)
    check_int("nuisance_dims", nuisance_dims, 0)
    check_int("seed", seed, 0)
    check_float("separation", separation, 0.0, low_open=True)
    check_float("label_noise", label_noise, 0.0, 1.0)
    check_float("scale_spread", scale_spread, 1.0)
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")

    # Imported here: scikit-learn costs ~1 s to import, and graders import data_gen often.
    from sklearn.datasets import make_classification as sk_make_classification

    n = n_train + n_val + n_test
    x, y = sk_make_classification(
        n_samples=n, n_features=n_informative + nuisance_dims, n_informative=n_informative,
        n_redundant=0, n_repeated=0, n_classes=n_classes, n_clusters_per_class=1,
        class_sep=separation, flip_y=label_noise, random_state=seed)
    x = x * np.logspace(0.0, np.log10(scale_spread), x.shape[1])
    dev = resolve_device(device)
    xs = torch.from_numpy(x).to(dtype=dtype, device=dev)
    ys = torch.from_numpy(y).to(dtype=torch.int64, device=dev)
    a, b = n_train, n_train + n_val
    return Split(xs[:a], ys[:a], xs[a:b], ys[a:b], xs[b:], ys[b:])
