"""What ends a trial early: the median-stopping rule, successive halving, the time budget.

The two rules read the objective's curves of trials that already ended and decide, epoch
by epoch, whether the running trial can still win; `TrialStopping` applies one inside
`fit`, and `TimeBudgetStop` ends it once the search's time budget is spent. The curves are
oriented scores (`tuning.objective`): higher is better, whichever way the objective points.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import keras
import numpy as np

from tuning.config import RUNG_MIN_RESULTS
from tuning.engine import budget as budgets
from tuning.engine.budget import Budget
from tuning.objective import VAL_ACCURACY, Objective
from tuning.settings import show_duration

# Fewer finished trials than this make too noisy a median to stop anyone on.
MIN_REFERENCE_TRIALS = 3


def rung_epochs(first: int, eta: int, up_to: int) -> list[int]:
    """Successive halving's rungs up to epoch `up_to`: `first`, `first * eta`, ... epochs."""
    rungs, rung = [], first
    while rung <= up_to:
        rungs.append(rung)
        rung *= eta
    return rungs


@dataclass(frozen=True)
class MedianRule:
    """Stop a trial whose best score by epoch k trails the reference trials' median.

    The rule applies at every epoch k after `grace_epochs`. A reference trial that ended
    before epoch k (EarlyStopping) counts with its best score: it had stopped improving.
    This is the median-stopping rule of Google Vizier (Golovin et al., 2017) on best-so-far
    curves.
    """

    reference: tuple[tuple[float, ...], ...]  # oriented scores per epoch of each finished trial
    grace_epochs: int
    goal: Objective = VAL_ACCURACY  # what the scores are, for the reason a trial stopped

    def median_at(self, epoch: int) -> float | None:
        """The reference trials' median best-so-far score at 1-based `epoch`."""
        if len(self.reference) < MIN_REFERENCE_TRIALS:
            return None
        return statistics.median(max(curve[:epoch]) for curve in self.reference if curve)

    def stop_epoch(self, curve: Sequence[float]) -> tuple[int, float, float] | None:
        """The first epoch at which `curve` trails the median: (epoch, its best, the median)."""
        best = -float("inf")
        for epoch, value in enumerate(curve, start=1):
            best = max(best, value)
            median = self.median_at(epoch) if epoch > self.grace_epochs else None
            if median is not None and best < median:
                return epoch, best, median
        return None

    def describe(self, curve: Sequence[float]) -> str | None:
        """Why `curve` was stopped early (for trials.csv), or None if the rule let it run."""
        stop = self.stop_epoch(curve)
        if stop is None:
            return None
        epoch, best, median = stop
        sign, goal = self.goal.sign, self.goal
        return (
            f"stopped early after epoch {epoch}: best {goal.name} {sign * best:.4f} "
            f"{goal.trails} the median {sign * median:.4f} of {len(self.reference)} finished trials"
        )


@dataclass(frozen=True)
class AshaRule:
    """Asynchronous successive halving: at each rung, keep only the top 1/eta of the trials.

    Rungs fall at `rung_epochs`, `rung_epochs * eta`, `rung_epochs * eta**2`, ... epochs. At a
    rung, a trial whose best score so far lies below the (1 - 1/eta) quantile of the
    reference trials' best at that epoch is stopped; a trial that reached the rung first
    goes on until `min_results` ended trials reached it. The reference is every ended trial
    that reached the rung, those stopped there or later included (Li et al., 2020; the
    cutoff as in Ray Tune's ASHAScheduler).
    """

    reference: tuple[tuple[float, ...], ...]  # oriented scores per epoch of each ended trial
    rung_epochs: int
    eta: int
    goal: Objective = VAL_ACCURACY  # what the scores are, for the reason a trial stopped
    min_results: int = RUNG_MIN_RESULTS  # results at a rung before it stops anyone

    def rungs(self, epochs: int) -> list[int]:
        """The rung epochs up to `epochs`."""
        return rung_epochs(self.rung_epochs, self.eta, epochs)

    def cutoff_at(self, epoch: int) -> tuple[float, int] | None:
        """The (1 - 1/eta) quantile of the reference's best at `epoch`, and how many reached it."""
        reached = [max(curve[:epoch]) for curve in self.reference if len(curve) >= epoch]
        if len(reached) < max(self.min_results, 1):
            return None
        return float(np.percentile(reached, 100 * (1 - 1 / self.eta))), len(reached)

    def stop_epoch(self, curve: Sequence[float]) -> tuple[int, float, float, int] | None:
        """The first rung at which `curve` falls below the cutoff: (epoch, best, cutoff, n)."""
        for rung in self.rungs(len(curve)):
            cutoff = self.cutoff_at(rung)
            best = max(curve[:rung])
            if cutoff is not None and best < cutoff[0]:
                return rung, best, *cutoff
        return None

    def describe(self, curve: Sequence[float]) -> str | None:
        """Why `curve` was stopped early (for trials.csv), or None if the rule let it run."""
        stop = self.stop_epoch(curve)
        if stop is None:
            return None
        epoch, best, cutoff, count = stop
        sign, goal = self.goal.sign, self.goal
        return (
            f"stopped at the rung of epoch {epoch}: best {goal.name} {sign * best:.4f} "
            f"{goal.trails} the top 1/{self.eta} cutoff {sign * cutoff:.4f} of {count} trials "
            "that reached it"
        )


class Rule(Protocol):
    """What `TrialStopping` needs of a rule."""

    def stop_epoch(self, curve: Sequence[float]) -> tuple | None:
        """The epoch (first item) at which `curve` is to stop, or None."""

    def describe(self, curve: Sequence[float]) -> str | None:
        """Why `curve` was stopped, or None."""


@dataclass(frozen=True)
class StopPolicy:
    """Which rule ends trials early (`asha`, `median` or `off`) and its settings."""

    rule: str = "median"
    grace_epochs: int = 10  # the median rule's
    rung_epochs: int = 3  # ASHA's first rung
    eta: int = 3  # ASHA keeps the top 1/eta at each rung
    rung_min_results: int = RUNG_MIN_RESULTS  # ASHA's: others' results a rung needs to stop

    def make(
        self, ended: Sequence[tuple[tuple[float, ...], bool]], goal: Objective = VAL_ACCURACY
    ) -> Rule | None:
        """The rule over the ended trials, given as (oriented curve, stopped early).

        The median rule's reference is the trials that ran to their end; ASHA's is every
        trial, since one stopped at a later rung did reach the earlier ones.
        """
        if self.rule == "median":
            finished = tuple(curve for curve, stopped in ended if not stopped)
            return MedianRule(finished, self.grace_epochs, goal)
        if self.rule == "asha":
            curves = tuple(curve for curve, _ in ended)
            return AshaRule(curves, self.rung_epochs, self.eta, goal, self.rung_min_results)
        return None


NO_STOPPING = StopPolicy("off")


class TrialStopping(keras.callbacks.Callback):
    """Apply a stopping rule (`MedianRule`, `AshaRule`) at the end of every epoch of `fit`."""

    def __init__(self, rule: Rule, goal: Objective = VAL_ACCURACY):
        super().__init__()
        self.rule = rule
        self.goal = goal
        self.curve: list[float] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Start a new curve: a callback may serve several executions."""
        self.curve = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Stop training once the curve so far trails the median."""
        value = (logs or {}).get(self.goal.name)
        if value is None:
            return
        self.curve.append(self.goal.sign * float(value))
        stop = self.rule.stop_epoch(self.curve)
        if stop is not None and stop[0] == len(self.curve):
            self.model.stop_training = True

    def carried_state(self) -> dict:
        """The curve so far, for a trial resumed mid-way (tuning.engine.midtrial)."""
        return {"curve": self.curve}

    def carry_on(self, state: dict) -> None:
        """Go on from a saved curve."""
        self.curve = list(state["curve"])


# No trial trains longer than a fifth of a time budget, so that any budget buys several
# trials: on MNIST the warm start alone took 10 minutes of 2 cores, a whole 10-minute budget,
# and `make tune-fashion TIME=5m` trained one trial (issue 26). Where --max-trials is below
# this, a trial may take its equal share: 2 trials, half each.
TRIAL_SHARES = 5


class TimeBudgetStop(keras.callbacks.Callback):
    """End `fit` at the end of the epoch in which the budget ran out, or the trial's share."""

    def __init__(self, budget: Budget, trials: int = TRIAL_SHARES):
        super().__init__()
        self.budget = budget
        self.shares = max(min(trials, TRIAL_SHARES), 1)  # a trial's share: 1 / shares
        self.stopped_epoch: int | None = None
        self.spent = False  # the whole budget spent, not the trial's share
        self.began = 0.0

    def __deepcopy__(self, memo: dict) -> TimeBudgetStop:
        # KerasTuner deep-copies a trial's callbacks before each execution; the tuner keeps
        # this one to read back whether it stopped the fit, so the copy is the callback itself.
        return self

    @property
    def share(self) -> float:
        """The seconds one trial may train."""
        return self.budget.seconds / self.shares

    def seconds_left(self) -> float:
        """Seconds this trial may still train: what is left of its share and of the budget."""
        return min(self.share - (budgets.clock() - self.began), self.budget.left())

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Forget an earlier execution's stop; the trial's share counts from here."""
        self.stopped_epoch, self.spent = None, False
        self.began = budgets.clock()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Stop training once the budget is spent, or the trial has used its share."""
        self.spent = self.budget.over()
        if self.spent or budgets.clock() - self.began >= self.share:
            self.model.stop_training = True
            self.stopped_epoch = epoch + 1

    def carried_state(self) -> dict:
        """The share used so far, for a trial resumed mid-way (tuning.engine.midtrial)."""
        return {"trained": budgets.clock() - self.began}

    def carry_on(self, state: dict) -> None:
        """Count the trial's share from where the saved run had used it."""
        self.began = budgets.clock() - state["trained"]

    def describe(self) -> str | None:
        """Why the trial stopped (for trials.csv), or None if the budget let it run."""
        if self.stopped_epoch is None:
            return None
        if self.spent:
            why = f"{show_duration(self.budget.seconds)} spent"
        else:
            why = f"a trial's share, 1/{self.shares} of {show_duration(self.budget.seconds)}, used"
        return f"time budget: {why}, stopped after epoch {self.stopped_epoch}"
