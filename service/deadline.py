"""A CPU deadline for one message: the pure stages cannot be preempted, so a timer signal does it.

Input caps already bound the work; this is the backstop that turns a pathological message into a
``deadline_exceeded`` dead letter instead of a stalled partition. Signals reach only the main
thread, so elsewhere (tests running a loop in a thread) the deadline is not armed.
"""

from __future__ import annotations

import _signal  # signal.signal's C function, without the enum conversion of its result
import functools
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

_REPEAT_S = 0.02


class DeadlineExceeded(BaseException):
    """Raised into the running stage; a BaseException so broad ``except Exception`` lets it by."""


def _expire(signum: int, frame: FrameType | None) -> None:
    raise DeadlineExceeded


def _drop_deadline(report: Callable[[sys.UnraisableHookArgs], object],
                   unraisable: sys.UnraisableHookArgs) -> None:
    """An unraisable-exception hook: a deadline raise that landed in a finalizer or callback
    is expected (the timer fires again until the stage sees one), so it is not reported;
    anything else goes on to ``report``, the hook in place before."""
    if not isinstance(unraisable.exc_value, DeadlineExceeded):
        report(unraisable)


class CpuDeadline:
    """Raise ``DeadlineExceeded`` into the block once it has run ``seconds`` (0: no deadline).

    A class, not a ``contextlib`` generator: the service enters one per message, and the
    generator's machinery and ``signal.signal``'s conversion of the handler it returns to an
    enum (through a ``ValueError`` when that handler is a function) cost ~20 us a message."""

    __slots__ = ("_previous", "_report", "_seconds")

    def __init__(self, seconds: float) -> None:
        armed = seconds > 0 and threading.current_thread() is threading.main_thread()
        self._seconds = seconds if armed else 0.0
        self._previous: object = None
        self._report = sys.unraisablehook

    def __enter__(self) -> None:
        if not self._seconds:
            return
        self._previous = _signal.signal(signal.SIGALRM, _expire)
        sys.unraisablehook = functools.partial(_drop_deadline, self._report)
        # Re-fire every _REPEAT_S after expiry: a raise that lands in a GC or weakref callback
        # is swallowed by the interpreter, so one signal alone could be lost.
        signal.setitimer(signal.ITIMER_REAL, self._seconds, _REPEAT_S)

    def __exit__(self, *exc_info: object) -> None:
        if not self._seconds:
            return
        while True:
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                break
            except DeadlineExceeded:  # fired again on the way out: the work is over anyway
                continue
        _signal.signal(signal.SIGALRM, self._previous)
        sys.unraisablehook = self._report
