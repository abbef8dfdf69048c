"""A Ctrl-C or SIGTERM lost in a finalizer is raised again after the trial's next batch."""

from __future__ import annotations

import signal
import sys

import pytest

from tuning import interrupts
from tuning.engine.callbacks import PendingInterrupt


class SignalsFromItsFinalizer:
    """Sends `signum` to this process as it is collected: the handler's exception is lost."""

    def __init__(self, signum: int):
        self.signum = signum

    def __del__(self):
        # The handler runs inside this call; Python reports its exception as ignored, goes on.
        signal.raise_signal(self.signum)


@pytest.mark.parametrize(
    ("signum", "raised"),
    [(signal.SIGTERM, interrupts.Terminated), (signal.SIGINT, KeyboardInterrupt)],
)
def test_an_interrupt_lost_in_a_finalizer_is_raised_after_the_next_batch(
    signum, raised, monkeypatch
):
    lost = []  # what Python reports as "Exception ignored in ..." and goes on
    monkeypatch.setattr(sys, "unraisablehook", lost.append)
    with interrupts.noted():
        SignalsFromItsFinalizer(signum)  # collected at once, in this frame
        assert [type(report.exc_value) for report in lost] == [raised]
        with pytest.raises(raised):
            PendingInterrupt().on_train_batch_end(0)
    interrupts.raise_pending()  # forgotten with the handlers: nothing is raised now
    assert signal.getsignal(signum) is not interrupts.on_signal
