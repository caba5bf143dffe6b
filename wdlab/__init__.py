"""The course's training, sweep and plotting toolkit (ships to students)."""
from .device import resolve_device

__all__ = ["resolve_device"]
