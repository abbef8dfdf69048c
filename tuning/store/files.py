"""Atomic file writes, so an interrupted run never leaves a half-written report behind."""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from tuning.errors import TuningError

if TYPE_CHECKING:  # only type hints here: the frames come from the callers, which load it
    import pandas as pd


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8) atomically; see `write_bytes_atomic`."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` atomically; see `write_atomic`."""
    write_atomic(path, lambda f: f.write(data))


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Have `write` fill a temporary file beside `path`, flush it to disk, rename it over.

    Raises:
        TuningError: the write failed (a full disk, say); `path` keeps its old content.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise TuningError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        # mkstemp makes the file private (0600); a report should get the usual umask mode.
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise TuningError(f"cannot write {path}: {e.strerror or e}") from None
        raise


def remove_temp_files(folder: Path) -> list[Path]:
    """Delete the temporary files a killed writer left under `folder`; call it under the lock."""
    leftovers = [p for p in folder.rglob(".*.tmp") if p.is_file()]
    for path in leftovers:
        path.unlink()
    return leftovers


def write_json_atomic(path: Path, data: dict) -> None:
    """Write `data` as indented JSON, atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` as CSV without its index, atomically."""
    write_text_atomic(path, csv_text(frame))


def csv_text(frame: pd.DataFrame) -> str:
    """`frame` as the CSV text this tool writes.

    Floats keep 10 significant digits: enough for every score, and KerasTuner's stepped values
    read 0.3 rather than 0.30000000000000004.
    """
    return frame.to_csv(index=False, float_format="%.10g")


def read_text_csv(source: Path | io.StringIO) -> list[dict[str, str]]:
    """The rows of a CSV as cell texts; none when the file does not exist or is unreadable."""
    import pandas as pd  # here: the store's other readers and writers need no pandas

    try:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    except (FileNotFoundError, pd.errors.EmptyDataError, pd.errors.ParserError):
        return []
    return frame.to_dict("records")


def read_json(path: Path) -> dict | None:
    """Read a JSON file, or None when it does not exist."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def current_umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
