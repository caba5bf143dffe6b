"""A progress bar for long sweeps: tqdm (a widget in notebooks, text in a terminal) or nothing."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tqdm.auto import tqdm


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, enabled: bool, unit: str) -> _NoBar | tqdm:
    """A bar counting ``total`` ``unit``s when ``enabled``, else an object that does nothing."""
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm
    return tqdm(total=total, unit=unit, leave=False)
