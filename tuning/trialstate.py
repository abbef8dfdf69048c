"""A trial's state, spelled once: KerasTuner's statuses, plus STOPPED_EARLY of trials.csv.

KerasTuner keeps a trial that a stopping rule or the time budget cut short as COMPLETED,
with the best score it reached; trials.csv and the reports call it STOPPED_EARLY, so a
reader can tell it from a trial that ran to its own end. The engine, the tables, the plots
and the page all read the sets below rather than spelling statuses out (issue 24).
"""

from __future__ import annotations

from enum import StrEnum


class TrialState(StrEnum):
    """Every state a trial can be in; equal to KerasTuner's strings where they share one."""

    IDLE = "IDLE"  # declared by the oracle, not yet handed out
    RUNNING = "RUNNING"  # training now, in a search that runs
    # trials.csv's word for a trial RUNNING in the saved state of a search that no longer
    # runs (interrupted or killed): it runs again on resume (issue 27).
    INTERRUPTED = "INTERRUPTED"
    COMPLETED = "COMPLETED"  # ran to its end (EarlyStopping or --max-epochs)
    STOPPED_EARLY = "STOPPED_EARLY"  # cut short by a stopping rule or the time budget
    FAILED = "FAILED"  # raised, diverged, or its process was killed
    INVALID = "INVALID"  # the model could not be built from its values
    STOPPED = "STOPPED"  # KerasTuner's: what a chief hands a worker when the search is over

    @property
    def ended(self) -> bool:
        """Whether the oracle will not run the trial again."""
        return self in ENDED

    @property
    def scored(self) -> bool:
        """Whether the trial has a score to rank it by."""
        return self in SCORED


# What KerasTuner's oracle records as over: a trial in one of these never runs again.
ENDED = frozenset({TrialState.COMPLETED, TrialState.FAILED})
# Over in any way, for the share of failures: INVALID trials too.
SETTLED = ENDED | {TrialState.INVALID}
# Trials with a score, as trials.csv spells them.
SCORED = frozenset({TrialState.COMPLETED, TrialState.STOPPED_EARLY})
# Trials that produced nothing to rank.
UNSCORED = frozenset({TrialState.FAILED, TrialState.INVALID})
