from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from tuning.cli.main import main
from tuning.store import files
from tuning.store.files import write_text_atomic
from tuning.store.lock import LOCK_FILE

from helpers import (
    snapshot,
)


def test_atomic_writes_get_the_umask_mode_not_a_private_one(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "trials.csv"
        write_text_atomic(path, "a,b\n")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.umask(0o077)
        write_text_atomic(path, "a,b\n1,2\n")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)
    assert path.read_text() == "a,b\n1,2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["trials.csv"]  # no temp file left


def test_disk_full_while_writing_reports_keeps_the_old_ones(search_copy, monkeypatch, capsys):
    before = snapshot(search_copy)

    real_fsync = os.fsync

    def no_space_for_reports(fd):
        if Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(".test_results.csv."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", no_space_for_reports)
    assert main(["report", str(search_copy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0], err
    monkeypatch.undo()
    after = snapshot(search_copy)
    after.pop(LOCK_FILE), before.pop(LOCK_FILE, None)
    assert after == before  # no half-written report, no temp file left behind
