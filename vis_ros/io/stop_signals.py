"""SIGTERM treated as Ctrl-C is: the same clean-up, a different word and exit code.

`timeout`, systemd and Kubernetes stop a command with SIGTERM, whose default
action ends the process at once: no `finally` runs, so process-bag left its
hidden `.NAME.partial` staging folder behind, where Ctrl-C (SIGINT, raised
as KeyboardInterrupt) cleaned up. Raised as Terminated, a KeyboardInterrupt,
SIGTERM takes the same path.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt."""


def interruption(signum: int) -> KeyboardInterrupt:
    """Return the exception a stop signal becomes."""
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """Return the shell's code for a command stopped by this signal (128 + its number)."""
    return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated (main thread only: elsewhere nothing is installed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
