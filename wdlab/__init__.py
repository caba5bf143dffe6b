"""The course's training, sweep and plotting toolkit (ships to students).

train / train_torch: one MLP trained with a course update rule or a torch.optim optimizer;
sweep: a whole hyperparameter grid trained in one stacked computation;
plots: heatmaps of a sweep over log-spaced (lr, wd) and the coupling slope.
"""
from . import plots
from .device import resolve_device
from .model import MLP
from .sweep import SweepResult, sweep
from .train import History, train, train_torch

__all__ = ["History", "MLP", "SweepResult", "plots", "resolve_device", "sweep", "train", "train_torch"]
