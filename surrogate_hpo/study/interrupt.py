"""Stopping a study on SIGINT or SIGTERM: our message, state kept, exit code 130 or 143.

:func:`install` replaces the handlers of both signals. A signal raises
:class:`StudyInterrupted` at once, except inside :func:`deferred` (Ray starting, a Tune
stage running), where it is only recorded: Ray's start-up finishes and a Tune stage ends
through :func:`interrupt_stopper` with every finished trial written; the exception follows
when the section ends. A second signal inside a deferred section raises at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["interrupt_stopper", "StudyInterrupted", "check", "deferred", "install", "requested"]

_EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
_state: dict[str, Any] = {"signal": None, "deferred": 0, "count": 0}


class StudyInterrupted(RuntimeError):
    """The study was stopped by a signal; ``exit_code`` is 128 + the signal number."""

    def __init__(self, signum: int, where: str = "") -> None:
        self.signum = signum
        self.exit_code = _EXIT_CODES.get(signal.Signals(signum), 128 + int(signum))
        name = signal.Signals(signum).name
        super().__init__(f"stopped by {name}{f' during {where}' if where else ''}")


def requested() -> int | None:
    """The signal that asked the study to stop (None if none did)."""
    return _state["signal"]


def _handler(signum: int, frame: Any) -> None:
    _state["count"] += 1
    if _state["signal"] is None:
        _state["signal"] = signum
    if _state["deferred"] == 0 or _state["count"] > 1:
        raise StudyInterrupted(_state["signal"])


def install(*, reset: bool = True) -> None:
    """Route SIGINT and SIGTERM to this module (main thread only; elsewhere a no-op).

    Ray's start-up installs its own SIGTERM handler (a C++ stack dump), so the study calls
    this again with ``reset=False`` once Ray runs.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if reset:
        _state.update(signal=None, deferred=0, count=0, installed=True)
    elif not _state.get("installed"):
        return  # a library caller (not the CLI) keeps its own handlers
    for sig in _EXIT_CODES:
        signal.signal(sig, _handler)


def check(where: str = "") -> None:
    """Raise :class:`StudyInterrupted` if a signal arrived."""
    if _state["signal"] is not None:
        raise StudyInterrupted(_state["signal"], where)


@contextlib.contextmanager
def deferred(where: str) -> Iterator[None]:
    """A section a signal must not break (it is recorded and raised when the section ends)."""
    _state["deferred"] += 1
    try:
        yield
    finally:
        _state["deferred"] -= 1
    check(where)


def interrupt_stopper() -> Any:
    """A Tune ``Stopper`` that ends the whole stage once a signal arrived."""
    from ray.tune import Stopper

    class InterruptStopper(Stopper):
        def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
            return _state["signal"] is not None

        def stop_all(self) -> bool:
            return _state["signal"] is not None

    return InterruptStopper()
