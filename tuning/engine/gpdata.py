"""What the search's Gaussian process is fitted to: the trials, read by the search's rules.

KerasTuner fits each completed trial's final score over its values. A trial that successive
halving stopped at epoch 3 then reads as a finished one, and configurations that start
slowly look bad (issue 26). The readings here, each a versioned rule of the search
(`tuning.config.RULE_VERSIONS`): each trial at the fidelity (epochs) it reached, its scores
by rank, each trial also at every rung it passed, or, as BOHB, every trial at the highest
epoch that enough of them share.
"""

from __future__ import annotations

import keras_tuner as kt
import numpy as np
import scipy.stats

from tuning.layout import RECORD_FILE
from tuning.objective import Objective
from tuning.store.files import read_json
from tuning.trialstate import TrialState


def normal_scores(scores: list[float]) -> np.ndarray:
    """Scores (lower is better) as the standard normal quantiles of their ranks.

    A Gaussian copula (Salinas et al., ICML 2020): the order is kept and the scale is gone.
    KerasTuner's GP fits raw scores, so one diverged trial at 0.10 among trials at 0.95 to
    0.99 stretches its normalized scale until the differences that matter are noise beside
    the acquisition's uncertainty term, and it proposes corners of the space (issue 26:
    12 of 15 proposals in a replayed MNIST search had 2 or more values at a range's edge,
    1 of 15 with normal scores). A score that is not a number ranks last.
    """
    finite = np.where(np.isfinite(scores), scores, np.inf)
    return scipy.stats.norm.ppf(scipy.stats.rankdata(finite) / (len(finite) + 1))


class GPData:
    """The training data of the oracle's GP; mixed into `tuning.engine.oracle.DurableOracle`.

    Its flags, set by the oracle: `fidelity`, `normal_scores`, `rung_scores`,
    `shared_rung`, with `rungs` and `max_epochs`.
    """

    @property
    def goal(self) -> Objective:
        """The search's objective as the rules read it (its best, oriented scores)."""
        return Objective(self.objective.name, self.objective.direction)

    def gp_data(self) -> tuple[np.ndarray, np.ndarray, list[float]]:
        """The GP's inputs and scores, and what a proposal appends to its values (fidelity 1)."""
        if self.shared_rung:
            # Where no trial reached any rung (a short budget cut them all), KerasTuner's
            # reading: the same inputs, the values alone.
            data = self.shared_rung_data()
            return (*(self.vectorize_trials() if data is None else data), [])
        if self.fidelity:
            return (*self.fidelity_data(), [1.0])
        return (*self.vectorize_trials(), [])

    def ended_trials(self) -> list[kt.engine.trial.Trial]:
        """The completed trials with a score, in trial order; failed and running ones left out."""
        ongoing = set(self.ongoing_trials.values())
        ended = [t for t in self.trials.values() if t not in ongoing]
        return [t for t in ended if t.status == TrialState.COMPLETED and t.score is not None]

    def fit_scores(self, scores: list[float]) -> list[float]:
        """Scores as the GP fits them: lower is better, and normal scores if the rule says so."""
        sign = -1.0 if self.objective.direction == "max" else 1.0
        scores = [sign * score for score in scores]
        return list(normal_scores(scores)) if self.normal_scores else scores

    def with_running(self, rows: list, scores: list, full: list[float]) -> tuple:
        """`rows` and `scores` with a pessimistic guess for each running trial, as arrays.

        As KerasTuner's `_vectorize_trials` does: the GP's mean plus one standard deviation
        at the trial's values (`full` appended), so that another worker is not sent there.
        """
        ongoing = set(self.ongoing_trials.values())
        for trial in [t for t in self.trials.values() if t in ongoing]:  # in trial order
            row = [*self.trial_vector(trial), *full]
            mean, std = self.gpr.predict(np.array([row]), return_std=True)
            rows.append(row)
            scores.append(float(np.ravel(mean)[0] + np.ravel(std)[0]))
        return np.array(rows), np.array(scores)

    def fidelity_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The GP's training data over (values, fidelity): KerasTuner's, with one more column.

        KerasTuner fits a trial that successive halving stopped at epoch 3 as if its epoch-3
        score were final, and so reads slow starters (low learning rates, strong
        regularization, small batches) as bad ones: the short-horizon bias of Wu et al.,
        ICLR 2018 (issue 26). Here each trial counts at the fidelity it reached, its epochs
        over --max-epochs; a trial that ran to its own end (EarlyStopping, the epoch limit)
        at 1, as BOHB and Syne Tune's MOBSTER model epochs. With `rung_scores` it counts at
        each rung it passed as well (`fidelity_scores`).
        """
        rows, scores = [], []
        for trial in self.ended_trials():
            vector = self.trial_vector(trial)
            for fidelity, score in self.fidelity_scores(trial):
                rows.append([*vector, fidelity])
                scores.append(score)
        return self.with_running(rows, self.fit_scores(scores), [1.0])

    def fidelity_scores(self, trial: kt.engine.trial.Trial) -> list[tuple[float, float]]:
        """A completed trial's (fidelity, score) pairs: at each rung it passed, then at its end.

        At its end: its score, at 1 unless a rule or the budget stopped it, else at its
        epochs over --max-epochs. With `rung_scores`, first its best score by each rung it
        ran past, from its record's history, as MOBSTER (Klein et al., 2020) fits every
        rung's result. Without them only the trials that pass the rungs reach full
        fidelity, so the GP reads fidelity itself as a sign of a good score, and where a
        trial was stopped at epoch 3 its uncertainty at full fidelity stays wide: the
        acquisition led back there six times running in one search (issue 26,
        docs/search.md). The rungs' scores say how the trials that ran on looked early; in
        real searches that did no better, so it is off by default (docs/search.md).
        """
        curve, stopped, epochs = self.trial_curve(trial)
        at_end = (min(epochs / self.max_epochs, 1.0) if stopped else 1.0, trial.score)
        if not self.rung_scores:
            return [at_end]
        best = self.goal.best
        passed = [
            (rung / self.max_epochs, best(curve[:rung])) for rung in self.rungs if rung < len(curve)
        ]
        return [*passed, at_end]

    def shared_rung_data(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The GP's training data as BOHB fits its model: the values alone, scores at one epoch.

        That epoch is the highest rung, or --max-epochs, that at least one trial more than
        there are searched names reached (BOHB's N_min = d + 1, Falkner et al., ICML 2018),
        else the one most trials reached. Each such trial counts with its best score by
        then, one that ran to its own end before it (EarlyStopping) with its score, one a
        rule or the budget stopped before it not at all. Nothing is read at a fidelity the
        model must extrapolate to, so a trial stopped at epoch 3 cannot leave a wide
        uncertainty at full fidelity behind it, which led one search back to the learning
        rate's edge 13 times running (issue 26, docs/search.md). None where no trial has a
        score at any of those epochs.
        """
        best = self.goal.best
        curves = [(trial, *self.trial_curve(trial)) for trial in self.ended_trials()]
        reached = {
            epoch: {
                trial.trial_id: best(curve[:epoch]) if curve else trial.score
                for trial, curve, stopped, epochs in curves
                if epochs >= epoch or not stopped
            }
            for epoch in sorted({*self.rungs, self.max_epochs}, reverse=True)
        }
        needed = len(self.searched_space()) + 1
        most = max(reached, key=lambda epoch: len(reached[epoch]))  # the highest of equals
        epoch = next((e for e in reached if len(reached[e]) >= needed), most)
        if not reached[epoch]:
            return None
        rows = [self.trial_vector(self.trials[trial_id]) for trial_id in reached[epoch]]
        return self.with_running(rows, self.fit_scores(list(reached[epoch].values())), [])

    def trial_curve(self, trial: kt.engine.trial.Trial) -> tuple[list[float], bool, int]:
        """A trial's objective by epoch, whether a rule or the budget stopped it, its epochs."""
        record = read_json(self.trial_dir(trial.trial_id) / RECORD_FILE) or {}
        name = self.objective.name
        curve = [row[name] for row in record.get("history", []) if row.get(name) is not None]
        return curve, bool(record.get("stopped_early")), record.get("epochs", self.max_epochs)

    def trial_vector(self, trial: kt.engine.trial.Trial) -> list[float]:
        """A trial's searched values in the GP's unit box; a name it lacks at its default."""
        values, vector = trial.hyperparameters, []
        for declared in self.searched_space():
            active = values.is_active(declared) and declared.name in values.values
            value = values.values[declared.name] if active else declared.default
            vector.append(declared.value_to_prob(value))
        return vector
