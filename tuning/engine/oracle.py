"""The search's oracle: KerasTuner's Bayesian one, saved atomically, warm-started, never repeating.

KerasTuner's Bayesian oracle snaps the Gaussian process's optimum onto the discrete values
and hands it out even when a trial already ran it (KerasTuner issues #608 and #227): in a
small discrete space most trials would repeat one configuration. This one hands out no
configuration the search has tried, whatever that trial's status.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence

import keras_tuner as kt
import numpy as np
import scipy.optimize
import threadpoolctl
from sklearn.exceptions import ConvergenceWarning

from hypermodels import space
from tuning.engine import midtrial
from tuning.engine.budget import Budget
from tuning.engine.gpdata import GPData
from tuning.engine.gpposterior import mean_and_std
from tuning.engine.kt_internals import BayesianOracle, Display
from tuning.store.files import write_json_atomic
from tuning.trialstate import ENDED, TrialState

SIGNIFICANT_DIGITS = 6
# KerasTuner's own count of restarts when it maximizes the acquisition function.
RESTARTS = 50


def configuration_key(values: Mapping[str, space.Value]) -> tuple:
    """What makes two trials alike: every active value equal, floats to 6 significant digits."""
    return tuple(
        (name, f"{value:.{SIGNIFICANT_DIGITS}g}" if isinstance(value, float) else value)
        for name, value in sorted(values.items())
    )


class TrialLines(Display):
    """One line as a trial starts, in place of KerasTuner's banners.

    KerasTuner names a trial `Trial #1` where the CSVs say `00`, prints `Trial 1 Complete`
    for one a rule stopped early, and its own best and elapsed time beside the progress line
    (`tuning.reports.progress`) that says them already (issue 27). Here a trial has one
    name, its id, and its end is the progress line's alone.
    """

    def on_trial_begin(self, trial: kt.engine.trial.Trial) -> None:
        """Print `trial 02 starts | dropout=0.2 ...`, unless quiet."""
        if self.verbose < 1:
            return
        values = " ".join(f"{name}={shown(v)}" for name, v in trial.hyperparameters.values.items())
        print(f"trial {trial.trial_id} starts | {values}".rstrip(" |"), flush=True)

    def on_trial_end(self, trial: kt.engine.trial.Trial) -> None:
        """Nothing: the progress line says how the trial ended."""


def shown(value: space.Value) -> str:
    """A value as the progress line shows it: numbers in short form."""
    return f"{value:g}" if isinstance(value, float) else str(value)


class DurableOracle(GPData, BayesianOracle):
    """The Bayesian oracle, warm-started, never repeating a trial, saved atomically.

    KerasTuner writes oracle.json and trial.json in place; a kill in mid-write would leave a
    truncated file that no resume can read, losing the whole search.
    """

    def __init__(
        self,
        *args,
        warm_start: dict[str, space.Value] | None = None,
        budget: Budget | None = None,
        fidelity: bool = False,
        normal_scores: bool = False,
        restart_seeds: bool = False,
        rung_scores: bool = False,
        shared_rung: bool = False,
        rungs: Sequence[int] = (),
        max_epochs: int = 1,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.display = TrialLines(self)
        self.warm_start = warm_start
        self.budget = budget
        self.fidelity = fidelity  # the GP models (values, fidelity), not values alone
        self.normal_scores = normal_scores  # ... and fits normal scores, not raw ones
        self.restart_seeds = restart_seeds  # restarts drawn from (seed, trial number)
        self.rung_scores = rung_scores  # ... and each trial counts at the rungs it passed
        self.shared_rung = shared_rung  # or, as BOHB, values alone at an epoch most share
        self.rungs = tuple(rungs)  # the epochs of those rungs
        self.max_epochs = max_epochs
        # Gaussian-process proposals that repeated a tried configuration and were replaced.
        self.replaced_proposals = 0

    @kt.synchronized
    def create_trial(self, tuner_id: str) -> kt.engine.trial.Trial:
        """The next trial for `tuner_id`; once the time budget is spent, none (STOPPED).

        A search's first trial starts however little of the budget its start-up left: a
        spent budget stops it at the end of its first epoch, and the search has a result.
        """
        # A loaded machine can spend a few seconds' budget before the first trial is handed
        # out (building the space, starting the trial process); "0 trials" helps nobody.
        spent = self.budget is not None and bool(self.trials) and self.budget.over()
        if tuner_id in self.ongoing_trials or not spent:
            return super().create_trial(tuner_id)
        self.tuner_ids.discard(tuner_id)  # told to stop, as KerasTuner's own STOPPED does
        return kt.engine.trial.Trial(self.get_space(), status=TrialState.STOPPED)

    def populate_space(self, trial_id: str) -> dict:
        """Values for the next trial: the warm start, random ones, then the GP's best new point.

        The first trial of a warm start gets `warm_start`'s values (the course's
        configuration, pins kept). When the GP's best point repeats a tried configuration,
        the best untried one among its other restarts is taken, else a random untried one;
        with none left the search stops.
        """
        if self.warm_start is not None and not self.trials:
            values = space.start_values(self.hyperparameters, self.warm_start)
            return {"status": TrialState.RUNNING, "values": values}
        completed = [t for t in self.trials.values() if t.status == TrialState.COMPLETED]
        initial = self.num_initial_points or max(3 * len(self.hyperparameters.space), 3)
        if len(completed) < initial:
            return self.random_populate_space()  # draws only untried values (`is_tried`)
        proposals = self.ranked_proposals(trial_id)
        best = next(proposals)
        if not self.is_tried(best):
            return {"status": TrialState.RUNNING, "values": best}
        self.replaced_proposals += 1
        values = next((v for v in proposals if not self.is_tried(v)), None)
        values = values or self.random_values()
        return {
            "status": TrialState.STOPPED if values is None else TrialState.RUNNING,
            "values": values,
        }

    def ranked_proposals(self, trial_id: str) -> Iterator[dict]:
        """The GP's restarts' optima for trial `trial_id`, best acquisition first.

        The same fit, optimizer and ranking as KerasTuner's `populate_space`; the restarts
        start from `restart_starts`.
        """
        # One BLAS thread: the GP's matrices are a few dozen rows, and 50 restarts make some
        # 30,000 tiny predictions, which OpenBLAS's second thread made 3 to 4 times slower
        # while a trial trained on the other core (issue 26, docs/speed.md; same results).
        with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
            results = self.restart_optima(trial_id)
        # A stable sort: among equal values the first restart wins, as in KerasTuner.
        for result in sorted(results, key=lambda r: float(np.ravel(r.fun)[0])):
            yield self.vector_to_values(result.x)

    def restart_optima(self, trial_id: str) -> list[scipy.optimize.OptimizeResult]:
        """Fit the GP, then minimize its lower confidence bound from each of 50 random starts."""
        x, y, full = self.gp_data()  # `full`: what a proposal appends to its values
        with warnings.catch_warnings():
            # A length scale at its bound (few trials, a flat dimension) is the fit's business,
            # not the user's: scikit-learn's warning would print a line of its source mid-search.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.gpr.fit(np.nan_to_num(x, posinf=0, neginf=0), np.nan_to_num(y, posinf=0, neginf=0))

        def lower_confidence_bound(point: np.ndarray) -> float:
            mu, sigma = mean_and_std(self.gpr, np.append(point, full))  # gpr.predict's bits
            return mu - self.beta * sigma

        bounds = self.hp_bounds()
        return [
            scipy.optimize.minimize(lower_confidence_bound, x0=x0, bounds=bounds, method="L-BFGS-B")
            for x0 in self.restart_starts(trial_id)
        ]

    def restart_starts(self, trial_id: str) -> np.ndarray:
        """The acquisition's 50 starting points for trial `trial_id`, one per row, in the box.

        Drawn from (seed, trial number) where `restart_seeds` is set. KerasTuner draws them
        from a generator made with the oracle and never saved: with a process per trial, a
        new one each time, so every proposal started from the same 50 points; where the
        acquisition is flat the optimizer stays at its start, and the search took the same
        fixed list of points whatever its GP had learnt (issue 26). Here each trial has its
        own, the same in one process, in a process per trial and after a resume.
        """
        bounds = self.hp_bounds()
        if self.restart_seeds:
            generator = np.random.default_rng((self.seed, int(trial_id)))
        else:
            generator = self.random_state
        return generator.uniform(bounds[:, 0], bounds[:, 1], size=(RESTARTS, len(bounds)))

    def is_tried(self, values: Mapping[str, space.Value]) -> bool:
        """Whether a trial already ran `values`, by `configuration_key`.

        KerasTuner's random draws ask this too; its own test compares exact hashes, so a
        float differing in the 10th digit would count as new.
        """
        key = configuration_key(values)
        return any(key == configuration_key(t.hyperparameters.values) for t in self.trials.values())

    def get_state(self) -> dict:
        """KerasTuner's state plus the count of replaced proposals."""
        return {**super().get_state(), "replaced_proposals": self.replaced_proposals}

    def set_state(self, state: dict) -> None:
        """Restore KerasTuner's state and the count of replaced proposals."""
        super().set_state(state)
        self.replaced_proposals = state.get("replaced_proposals", 0)

    def save(self) -> None:
        """Save the oracle state (trial order, seeds, values tried) atomically."""
        write_json_atomic(self.oracle_file(), self.get_state())

    def reload(self) -> None:
        """Reload the saved search, and square it with trials a kill cut off.

        KerasTuner writes a trial's trial.json before oracle.json. Killed between the two, a
        trial can be saved as ended while oracle.json still lists it as running (KerasTuner
        would run it again), or saved as running while oracle.json does not know it yet
        (KerasTuner would never run it, and count it towards max_trials).
        """
        super().reload()
        self.retry_queue = [i for i in self.retry_queue if self.trials[i].status not in ENDED]
        for trial_id in sorted(self.trials, key=int):
            trial = self.trials[trial_id]
            if trial.status in ENDED and trial_id not in self.end_order:
                self.record_values(trial)
                self.end_order.append(trial_id)
            elif trial.status not in ENDED and trial_id not in self.retry_queue:
                self.retry_queue.append(trial_id)

    def end_trial(self, trial: kt.engine.trial.Trial) -> None:
        """End `trial` as KerasTuner does, and drop its saved mid-trial state.

        Here, where the oracle lives, every end passes: a trial's own, one a worker reports,
        one failed for a killed process or a lost worker (tuning.engine.midtrial).
        """
        super().end_trial(trial)
        midtrial.discard(self.trial_dir(trial.trial_id))

    def fail_trial(self, trial_id: str, reason: str) -> None:
        """End an interrupted trial as FAILED instead of running it again."""
        trial = self.trials[trial_id]
        if trial_id in self.retry_queue:
            self.retry_queue.remove(trial_id)
        trial.status, trial.message = TrialState.FAILED, reason
        self.end_trial(trial)

    def save_trial(self, trial: kt.engine.trial.Trial) -> None:
        """Write a trial's trial.json atomically."""
        path = self.trial_dir(trial.trial_id) / "trial.json"
        write_json_atomic(path, trial.get_state())
