"""The time budget: how long a search's runs may take, summed over resumes.

It counts the wall time of the search's trials phase in every run (`tune` and each resume),
not evaluation and reports. Once it is spent the oracle hands out no new trial (but a new
search's first), and a running trial stops at the end of its current epoch, its best score
and weights kept.
run.json carries what every process of the search needs to tell: the budget (in the
configuration), the seconds earlier runs spent and when this run's search began. The
callback that stops a running trial is `tuning.engine.stopping.TimeBudgetStop`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tuning.store import runinfo
from tuning.store.files import read_json, write_json_atomic

clock = time.time  # wall-clock seconds; shared by every process of a search on one machine
# How often run.json's count of the search's seconds is brought up to date while trials run:
# a kill, even a SIGKILL or a reboot, then loses at most this much of it (issue 27).
COUNT_SECONDS = 30.0
_writing = threading.Lock()  # one read-and-rewrite of run.json at a time in this process


@dataclass(frozen=True)
class Budget:
    """A search's time budget as one run sees it."""

    seconds: float  # the whole budget
    spent_before: float  # by earlier runs of the same search
    started: float  # when this run's search began, `clock()` seconds

    def spent(self) -> float:
        """Seconds spent so far, this run's included."""
        return self.spent_before + clock() - self.started

    def over(self) -> bool:
        """Whether the budget is spent."""
        return self.spent() >= self.seconds

    def left(self) -> float:
        """Seconds left of the budget; 0 once it is spent."""
        return max(self.seconds - self.spent(), 0.0)


def run_fields(saved: dict | None) -> dict:
    """run.json's budget fields for a run that starts its search now, after `saved`'s runs."""
    before = (saved or {}).get("search_seconds", 0.0)
    return {"search_seconds_before": before, "search_started": clock(), "search_seconds": before}


def spent_now(run: dict) -> float:
    """The search's seconds over all runs, this one's up to now, from its run.json."""
    return round(run["search_seconds_before"] + clock() - run["search_started"], 1)


def search_budget(time_budget: float | None, results_dir: Path) -> Budget | None:
    """The budget of the search in `results_dir` from its run.json; None without one."""
    run = read_json(results_dir / runinfo.RUN_FILE) if time_budget else None
    if not run or "search_started" not in run:
        return None
    return Budget(time_budget, run["search_seconds_before"], run["search_started"])


def record_spent(results_dir: Path) -> None:
    """Bring run.json's search seconds up to now, so a killed run still counts its trials."""
    with _writing:
        run = read_json(results_dir / runinfo.RUN_FILE)
        if run and "search_started" in run:
            write_json_atomic(
                results_dir / runinfo.RUN_FILE, {**run, "search_seconds": spent_now(run)}
            )


@contextlib.contextmanager
def counting(results_dir: Path, every: float = COUNT_SECONDS) -> Iterator[None]:
    """Keep run.json's search seconds up to date every `every` seconds for the block's length.

    Before, it was written as each trial ended: a SIGKILL or a reboot in a 20-minute trial
    left its minutes out of the budget, which a resume then gave again.
    """
    done = threading.Event()

    def count() -> None:
        while not done.wait(every):
            record_spent(results_dir)

    thread = threading.Thread(target=count, name="search-seconds", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
