"""run.json's facts about a process: its own peak memory, not its parent's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tuning.store.runinfo import peak_rss_mib


@pytest.mark.processes
def test_a_child_reports_its_own_peak_not_its_parents():
    ballast = bytearray(600 * 2**20)  # touched, so resident in this (the parent) process
    ballast[::4096] = b"x" * len(ballast[::4096])
    assert peak_rss_mib() >= 600
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tuning.store.runinfo import peak_rss_mib; print(peak_rss_mib())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    # A bare interpreter with tuning's basics: tens of MiB, whatever the parent holds.
    assert int(child.stdout) < 300, child.stdout
    del ballast
