"""The time budget: how long a search's runs may take, summed over resumes.

It counts the wall time of the search's trials phase in every run (`tune` and each resume),
not evaluation and reports. Once it is spent the oracle hands out no new trial, and a
running trial stops at the end of its current epoch, its best score and weights kept.
run.json carries what every process of the search needs to tell: the budget (in the
configuration), the seconds earlier runs spent and when this run's search began. The
callback that stops a running trial is `tuning.engine.stopping.TimeBudgetStop`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from tuning.store import runinfo
from tuning.store.files import read_json

# "45m", "2h", "1h30m", "90s" or plain seconds ("3600").
DURATION = re.compile(r"(\d+(?:\.\d+)?)([hms])")
UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}
clock = time.time  # wall-clock seconds; shared by every process of a search on one machine


def parse_duration(text: str) -> float:
    """Seconds in `text`: `45m`, `2h`, `1h30m`, `90s` or a plain number of seconds.

    Raises:
        ValueError: `text` is none of these, or not above 0.
    """
    text = text.strip().lower()
    try:
        seconds = float(text)
    except ValueError:
        parts = DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{text!r} is not a duration such as 45m, 2h, 1h30m or 3600") from None
        seconds = sum(float(n) * UNIT_SECONDS[u] for n, u in parts)
    if not seconds > 0:
        raise ValueError(f"a time budget must be above 0, got {text!r}")
    return seconds


def show_duration(seconds: float) -> str:
    """`1h 30m`, `45m` or `50s`, as a user would write the budget back."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = zip((hours, minutes, secs), "hms", strict=True)
    return " ".join(f"{count}{unit}" for count, unit in parts if count) or "0s"


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
