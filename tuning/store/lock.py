"""One search per results dir: an advisory lock that a killed holder cannot leave stuck."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from tuning.errors import TuningError
from tuning.store import runinfo
from tuning.store.files import remove_temp_files

LOCK_FILE = ".lock"


@contextlib.contextmanager
def results_lock(results_dir: Path) -> Iterator[None]:
    """Hold the results dir's lock for the duration of the block.

    The lock is `flock` on `<results_dir>/.lock`: the kernel drops it when its holder dies,
    however it dies, so a lock left by a killed process is stale by construction and is taken
    over. The file names its holder, for the error that a second search gets, and is emptied
    on a clean exit; a non-empty file found on entry tells of a holder that was killed.

    Raises:
        TuningError: another live process holds the lock.
    """
    path = results_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise TuningError(f"cannot create lock file {path}: {e.strerror}") from None
    with os.fdopen(fd, "r+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TuningError(
                f"{results_dir} is in use by {describe(read_holder(f))}; "
                "wait for it to end or stop it, or use another --results-dir"
            ) from None
        stale = read_holder(f)
        if stale:
            print(f"note: took over the lock of {describe(stale)}, which is no longer running")
            # Only a holder writes here, and it is gone: its half-written files are garbage.
            remove_temp_files(results_dir)
        try:
            write_holder(f, holder())
        except OSError as e:
            raise TuningError(f"cannot write lock file {path}: {e.strerror}") from None
        try:
            yield
        finally:
            write_holder(f, None)


def holder() -> dict:
    """Who this process is, as written into the lock file."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": runinfo.now(),
        "command": " ".join(sys.argv),
    }


def describe(info: dict) -> str:
    """A holder as `process PID on HOST (started ..., command ...)`."""
    if not info:
        return "another process"
    return (
        f"process {info.get('pid')} on {info.get('host')} "
        f"(started {info.get('started_at')}: {info.get('command')})"
    )


def read_holder(f) -> dict:
    """The holder recorded in an open lock file; empty when there is none or it is unreadable."""
    f.seek(0)
    try:
        return json.loads(f.read() or "{}")
    except ValueError:
        return {"pid": "unknown"}


def write_holder(f, info: dict | None) -> None:
    """Record (or, with None, clear) the holder in the open lock file, flushed to disk."""
    f.seek(0)
    f.truncate()
    if info:
        f.write(json.dumps(info))
    f.flush()
    os.fsync(f.fileno())
