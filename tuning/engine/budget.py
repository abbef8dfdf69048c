"""The time budget: how long a search's runs may take, summed over resumes.

It counts the wall time of the search's trials phase in every run (`tune` and each resume),
not evaluation and reports. Once it is spent the oracle hands out no new trial, and a
running trial stops at the end of its current epoch, its best score and weights kept.
run.json carries what every process of the search needs to tell: the budget (in the
configuration), the seconds earlier runs spent and when this run's search began. The
callback that stops a running trial is `tuning.engine.stopping.TimeBudgetStop`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tuning.store import runinfo
from tuning.store.files import read_json

clock = time.time  # wall-clock seconds; shared by every process of a search on one machine


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
