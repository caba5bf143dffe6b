"""Progress of long sweeps: tqdm (a widget in notebooks, text in a terminal), a caller's own
indicator, or nothing.

``report_to(callback)`` sends the progress of every sweep started inside the block to
``callback(done, total)`` (e.g. a widget's progress bar), whatever ``progress=`` those sweeps
were given: code that calls ``sweep`` for you (``landscape.paper_landscape``) needs no argument
for it. Updates may come from several worker threads; they are serialised here.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

Reporter = Callable[[int, int], object]  # (steps done, steps in total) -> ignored
_reporter: ContextVar[Reporter | None] = ContextVar("wdlab_progress_reporter", default=None)


class Bar(Protocol):
    """What a progress bar offers: count ``n`` more units done; finish."""

    def update(self, n: int = 1) -> object: ...

    def close(self) -> object: ...


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class _Reported:
    """A thread-safe bar that forwards (done, total) to a reporter."""

    def __init__(self, total: int, reporter: Reporter) -> None:
        self.total, self.done, self._reporter = total, 0, reporter
        self._lock = threading.Lock()
        reporter(0, total)

    def update(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            self._reporter(self.done, self.total)

    def close(self) -> None:
        pass


class _Locked:
    """A tqdm bar whose updates may come from several threads."""

    def __init__(self, bar: Bar) -> None:
        self._bar, self._lock = bar, threading.Lock()

    def update(self, n: int = 1) -> None:
        with self._lock:
            self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


@contextmanager
def report_to(callback: Reporter) -> Iterator[None]:
    """Inside the block, every progress bar reports to ``callback(done, total)``."""
    if not callable(callback):
        raise ValueError(f"callback must be a function (done, total) -> None, got {callback!r}")
    token = _reporter.set(callback)
    try:
        yield
    finally:
        _reporter.reset(token)


def progress_bar(total: int, enabled: bool, unit: str) -> Bar:
    """A bar counting ``total`` ``unit``s: to the active ``report_to`` callback if there is one,
    else tqdm when ``enabled``, else an object that does nothing. Safe to update from threads."""
    reporter = _reporter.get()
    if reporter is not None:
        return _Reported(total, reporter)
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm
    return _Locked(tqdm(total=total, unit=unit, leave=False))
