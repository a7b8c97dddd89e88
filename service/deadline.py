"""A CPU deadline for one message: the pure stages cannot be preempted, so a timer signal does it.

Input caps already bound the work; this is the backstop that turns a pathological message into a
``deadline_exceeded`` dead letter instead of a stalled partition. Signals reach only the main
thread, so elsewhere (tests running a loop in a thread) the deadline is not armed.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_REPEAT_S = 0.02


class DeadlineExceeded(BaseException):
    """Raised into the running stage; a BaseException so broad ``except Exception`` lets it by."""


def _expire(signum: int, frame: FrameType | None) -> None:
    raise DeadlineExceeded


@contextlib.contextmanager
def cpu_deadline(seconds: float) -> Iterator[None]:
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _expire)
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
