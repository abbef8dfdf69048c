"""The results dir's lock: one search or report at a time, a dead holder's lock taken over."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tuning.cli.main import main
from tuning.store.lock import LOCK_FILE, results_lock

from helpers import (
    snapshot,
    tune_args,
)


@pytest.mark.processes
def test_second_search_on_a_busy_results_dir_is_refused(search_copy, data_dir, capsys):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from tuning.store.lock import results_lock\n"
            "with results_lock(Path(sys.argv[1])):\n    print('locked', flush=True)\n"
            "    time.sleep(120)",
            str(search_copy),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(search_copy)
        assert main(tune_args(search_copy, data_dir, "--max-trials", "3")) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"in use by process {holder.pid} on " in err[0]
        assert main(["report", str(search_copy)]) == 2
        assert snapshot(search_copy) == before
    finally:
        holder.kill()
        holder.wait()
    assert main(["report", str(search_copy)]) == 0  # the dead holder's lock is stale
    assert f"took over the lock of process {holder.pid}" in capsys.readouterr().out
    assert (search_copy / LOCK_FILE).read_text() == ""  # released on a clean exit


def test_lock_is_per_open_file_so_it_also_guards_this_process(search_copy):
    with results_lock(search_copy):
        with pytest.raises(Exception, match=f"in use by process {os.getpid()}"):
            with results_lock(search_copy):
                pass
