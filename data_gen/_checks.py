"""Argument checks shared by the dataset generators: each names the argument and its range."""
from __future__ import annotations


def check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    """ValueError unless ``value`` is an int (not a bool) in [low, high]."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low \
            or (high is not None and value > high):
        upper = "" if high is None else f" and <= {high}"
        raise ValueError(f"{name} must be an integer >= {low}{upper}, got {value!r}")


def check_float(name: str, value: object, low: float, high: float | None = None,
                low_open: bool = False) -> None:
    """ValueError unless ``value`` is a number (not a bool) >= ``low`` (> if ``low_open``), <= ``high``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        bound = f"> {low}" if low_open else f">= {low}"
        upper = "" if high is None else f" and <= {high}"
        raise ValueError(f"{name} must be a number {bound}{upper}, got {value!r}")
