"""run.json: the resolved configuration, data source, package versions and timings of a run."""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

RUN_FILE = "run.json"
PACKAGES = (
    "keras",
    "keras-tuner",
    "tensorflow",
    "tensorboard",
    "jax",
    "jaxlib",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
)


def now() -> str:
    """The current UTC time, ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def package_versions() -> dict[str, str | None]:
    """Installed versions of Python and the packages that shape the results."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def process_started_at() -> float:
    """When this process started, in Unix seconds (Linux's /proc; else when `tuning` loaded).

    The interpreter's start-up and every import count, which is what a trial process costs
    before it trains. A process started ahead counts from when it was told to go
    (`count_from_now`): its imports overlapped other work.
    """
    if _go_at is not None:
        return _go_at
    try:
        ticks = int(Path("/proc/self/stat").read_text().rpartition(")")[2].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return LOADED_AT


LOADED_AT = time.time()
_go_at: float | None = None


def count_from_now() -> None:
    """Count this process's start-up from now on: it was started ahead and just told to go."""
    global _go_at
    _go_at = time.time()


def normalized(config_json: dict) -> dict:
    """The configuration as it reads back from JSON (tuples become lists), for comparison."""
    return json.loads(json.dumps(config_json))


def peak_rss_mib() -> int:
    """Peak resident memory of this process's own address space, in MiB.

    Linux's VmHWM rather than getrusage's ru_maxrss: a process started by fork (or vfork)
    and exec carries its parent's peak in ru_maxrss, so every trial process of a large
    parent would look as large as the parent. Elsewhere, ru_maxrss (KiB on Linux).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
