"""Ctrl-C and SIGTERM that a search cannot lose.

Python raises a signal's exception in the main thread wherever that thread happens to be.
Inside a finalizer (TensorFlow's objects have many, run as garbage is collected) the
exception is printed as ignored and the code goes on: a SIGTERM sent to an in-process search
once let it train both its trials to the end and exit 0 (CI, issue 26). So the handlers
here also note the signal, and every trial raises a noted one again after its next batch
(`tuning.engine.callbacks.PendingInterrupt`), as does the command line before it reports
success.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM, as sent by `kill`, systemd or a batch scheduler: stop as for Ctrl-C."""


_pending: type[KeyboardInterrupt] | None = None  # the interrupt noted, until handled


def on_signal(signum: int, frame: object) -> None:
    """The SIGINT and SIGTERM handler: note the interrupt, then raise it here."""
    global _pending
    _pending = Terminated if signum == signal.SIGTERM else KeyboardInterrupt
    raise _pending


@contextmanager
def noted() -> Iterator[None]:
    """Handle SIGINT and SIGTERM with `on_signal` inside; the previous handlers after."""
    global _pending
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, on_signal) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _pending = None


def raise_pending() -> None:
    """Raise the interrupt noted, if any: one raised where it was lost, as in a finalizer."""
    if _pending is not None:
        raise _pending
