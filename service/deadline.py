"""A CPU deadline for one message: the pure stages cannot be preempted, so a timer signal does it.

Input caps already bound the work; this is the backstop that turns a pathological message into a
``deadline_exceeded`` dead letter instead of a stalled partition. Signals reach only the main
thread, so elsewhere (tests running a loop in a thread) the deadline is not armed.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator
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


@contextlib.contextmanager
def cpu_deadline(seconds: float) -> Iterator[None]:
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _expire)
    report = sys.unraisablehook
    sys.unraisablehook = functools.partial(_drop_deadline, report)
    # Re-fire every _REPEAT_S after expiry: a raise that lands in a GC or weakref callback is
    # swallowed by the interpreter, so one signal alone could be lost.
    signal.setitimer(signal.ITIMER_REAL, seconds, _REPEAT_S)
    try:
        yield
    finally:
        while True:
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                break
            except DeadlineExceeded:  # fired again on the way out: the work is over anyway
                continue
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = report
