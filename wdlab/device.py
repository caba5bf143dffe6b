"""Resolve the course's device policy ("auto", "cpu", "cuda") to a torch.device."""
from __future__ import annotations

import torch

POLICIES = ("auto", "cpu", "cuda")


def resolve_device(policy: str | torch.device = "auto") -> torch.device:
    """"auto" is CUDA when a GPU is visible, else CPU; "cuda" without a GPU is an error."""
    if isinstance(policy, torch.device):
        return policy
    if policy not in POLICIES and not str(policy).startswith("cuda:"):
        raise ValueError(f"device must be one of {POLICIES} (or 'cuda:N'), got {policy!r}")
    if policy == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(policy).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {policy!r} was asked for, but no CUDA GPU is available")
    return torch.device(policy)


def course_device() -> torch.device:
    """The device of the course's policy (``course_config`` ``device``, e.g. COURSE_DEVICE=cpu):
    where training and sweeps run when no device is given."""
    from course_config import CONFIG
    return resolve_device(CONFIG.device)
