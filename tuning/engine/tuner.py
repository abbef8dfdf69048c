"""The tuner: seeds, trains and records each trial the oracle hands it, and stops on failures."""

from __future__ import annotations

import time
import traceback
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import keras
import keras_tuner as kt

from tuning.engine import auth, kt_internals, midtrial, tensorboard
from tuning.engine.budget import Budget
from tuning.engine.callbacks import FirstBatchClock, PendingInterrupt, TrainedModel
from tuning.engine.epochs import PROGRESS_FILE, EpochProgress, Outlook
from tuning.engine.evaluate import EVALUATION_FILE, TestSet, may_rank, score_model
from tuning.engine.failures import trial_ended
from tuning.engine.record import missing_objective, training_record
from tuning.engine.stopping import (
    NO_STOPPING,
    TRIAL_SHARES,
    Rule,
    StopPolicy,
    TimeBudgetStop,
    TrialStopping,
)
from tuning.hardware import resolved
from tuning.layout import RECORD_FILE
from tuning.objective import VAL_ACCURACY, Objective
from tuning.store import runinfo
from tuning.store.files import read_json, write_json_atomic
from tuning.trialstate import TrialState

kt_internals.quiet_trial_tracebacks()  # run_trial prints a traceback where something raised

TUNER_FILE = "tuner0.json"


class TrialBudgetSpent(Exception):
    """The process has run the trials it was started for (see tuning.engine.isolation)."""


class RecordingTuner(kt_internals.Tuner):
    """A tuner that seeds each trial, records how its training went and stops on failures."""

    def __init__(
        self,
        *args,
        training_seed: int,
        max_failures: int,
        stopping: StopPolicy = NO_STOPPING,
        budget: Budget | None = None,
        after_trial: Callable[[RecordingTuner], None] | None = None,
        trials_budget: int | None = None,
        test: TestSet | None = None,
        top_n: int = 0,
        goal: Objective = VAL_ACCURACY,
        save_every: float = 30.0,
        **kwargs,
    ):
        self.goal = goal
        self.save_every = save_every
        self.resume: midtrial.TrialResume | None = None  # the running trial's
        self.trials_budget = trials_budget
        self.test = test
        self.top_n = top_n
        self.trials_ended = 0
        self.training_seed = training_seed
        self.max_failures = max_failures
        self.stopping = stopping
        self.budget = budget
        self.after_trial = after_trial
        super().__init__(*args, **kwargs)
        if self.is_worker():  # KerasTuner's client calls the chief with no token: ours does
            self.oracle.stub = auth.stub(kt_internals.chief_address())

    def run_trial(self, trial: kt.engine.trial.Trial, *args, **kwargs) -> list:
        """Train the trial's model(s) and save epochs, best epoch, final lr and seconds.

        Raises:
            kt.errors.FailedTrialError: the loss diverged or training raised; KerasTuner then
                records the trial as FAILED and the search goes on.
        """
        # Seeding per trial, not once per process, makes a resumed search train each
        # remaining trial exactly as an uninterrupted one would.
        keras.utils.set_random_seed(self.training_seed + int(trial.trial_id))
        tensorboard.clear_trial_logs(kwargs.get("callbacks", []), trial.trial_id)
        # A process's first trial pays for its start-up; a later one, only for its own.
        since = runinfo.process_started_at() if self.trials_ended == 0 else time.time()
        rule = self.stopping_rule()
        budget = self.budget
        budget_stop = budget and TimeBudgetStop(budget, self.oracle.max_trials or TRIAL_SHARES)
        first_batch, trained = FirstBatchClock(), TrainedModel()
        trial_dir = Path(self.get_trial_dir(trial.trial_id))
        progress = EpochProgress(
            trial_dir / PROGRESS_FILE,
            self.outlook(trial.trial_id),
            budget_stop.seconds_left if budget_stop else None,
        )
        added = (
            rule and TrialStopping(rule, self.goal),
            budget_stop,
            first_batch,
            progress,
            trained,
            PendingInterrupt(),
        )
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), *(c for c in added if c)]
        training = resolved(self.hypermodel.path)  # what this process trains with
        values = trial.hyperparameters.values
        self.resume = resume = midtrial.TrialResume(
            trial_dir, trial.trial_id, values, self.save_every
        )
        try:
            histories = super().run_trial(trial, *args, **kwargs)
        except midtrial.TrialTakenOver as e:  # the trial's files are the newer run's now
            raise kt.errors.FailedTrialError(str(e)) from e
        except Exception as e:  # out of memory, a layer refusing a value: fail this trial only
            traceback.print_exc()  # the whole story for the log; trials.csv gets one line
            reason = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e) else ''}"
            failed = {"seconds": round(resume.seconds(), 2), "reason": reason}
            self.save_record(trial.trial_id, {**failed, "training": training})
            raise kt.errors.FailedTrialError(reason) from e
        record = training_record(histories[-1], resume.seconds(), self.goal)
        if resume.resumed_epochs:
            record["resumed_after_epoch"] = resume.resumed_epochs
        curve = histories[-1].history.get(self.goal.name, [])
        if not curve and not record.get("reason"):
            record["reason"] = missing_objective(self.goal, histories[-1])
        # The budget's stop first: it cut the curve short, whatever the median rule says.
        oriented = self.goal.oriented(curve)
        reasons = (budget_stop and budget_stop.describe(), rule and rule.describe(oriented))
        record["stopped_early"] = next((r for r in reasons if r), None)
        record["training"] = training
        record["startup_seconds"] = first_batch.seconds_since(since)
        # Peak resident memory of this process so far: with a process per trial (the
        # default), the trial's own peak, which shows whether memory grows across trials.
        record["peak_rss_mib"] = runinfo.peak_rss_mib()
        self.save_record(trial.trial_id, record)
        if record.get("reason"):
            raise kt.errors.FailedTrialError(record["reason"])
        if curve and trained.trained is not None:
            self.score_on_test(trial.trial_id, trained.trained, self.goal.best(curve))
        trained.trained = None  # no model outlives its trial
        return histories

    def build_and_fit(self, trial: kt.engine.trial.Trial, *args, **kwargs):  # noqa: ANN201
        """One execution of the trial, picked up where a saved state left it (midtrial)."""
        return self.resume.fit(partial(super().build_and_fit, trial, *args), kwargs)

    def score_on_test(self, trial_id: str, model: keras.Model, score: float) -> None:
        """Score a trial that may rank among the `top_n` best on test, with the model it has.

        The search's end then finds the figures cached (`tuning.engine.evaluate`) instead of
        rebuilding the model. Not with several executions per trial (which model?), nor in a
        distributed worker, whose oracle cannot list the other trials' scores.
        """
        if self.test is None or self.executions_per_trial != 1 or self.is_worker():
            return
        checkpoint = self.checkpoint_path(trial_id)
        if not checkpoint.exists() or not may_rank(self, score, self.top_n, self.goal):
            return
        with warnings.catch_warnings():
            # The checkpoint carries Adam's state too; the best epoch's weights are the point.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(checkpoint)
        score_model(
            model, checkpoint, self.test, Path(self.get_trial_dir(trial_id)) / EVALUATION_FILE
        )

    def outlook(self, trial_id: str) -> Outlook:
        """The trials after `trial_id` and their likely length, for its time-left lines.

        A worker of a distributed search cannot tell: its oracle client lists no trials.
        """
        if self.is_worker():
            return Outlook(trial_id, None, None, self.budget)
        ended = self.oracle.end_order
        seconds = [s for i in ended if (s := self.load_record(i).get("seconds")) is not None]
        after = max(self.oracle.max_trials - len(ended) - 1, 0)  # the budget may end it sooner
        mean = sum(seconds) / len(seconds) if seconds else None
        return Outlook(trial_id, after, mean, self.budget)

    def stopping_rule(self) -> Rule | None:
        """The early-stopping rule over the trials that ended so far, if one is on.

        Read from the trial files, which a worker of a distributed search shares with the
        chief, though its oracle client cannot list the trials.
        """
        if self.stopping.rule == "off":
            return None
        ended = []
        for path in sorted(Path(self.project_dir).glob("trial_*/trial.json")):
            state = read_json(path) or {}
            record = read_json(path.with_name(RECORD_FILE)) or {}
            rows = record.get("history", [])
            curve = self.goal.oriented(row[self.goal.name] for row in rows if self.goal.name in row)
            if state.get("status") == TrialState.COMPLETED and curve:
                ended.append((curve, bool(record.get("stopped_early"))))
        return self.stopping.make(ended, self.goal)

    def on_trial_begin(self, trial: kt.engine.trial.Trial) -> None:
        """Save the tuner state before training, so a kill in trial 0 still resumes.

        KerasTuner reloads a search only if tuner0.json exists, and writes it first when a
        trial ends: killed while ending trial 0, a search would otherwise start from scratch.
        """
        super().on_trial_begin(trial)
        self.save()
        if self.is_worker():  # the chief shows the trial; a worker's log says who ran it
            print(f"{self.tuner_id} runs trial {trial.trial_id}", flush=True)

    def tuner_file(self) -> Path:
        """One name for every process: KerasTuner names it after KERASTUNER_TUNER_ID.

        KerasTuner reloads a search only if the file exists: a distributed chief would
        silently restart a search begun without one.
        """
        return Path(self.project_dir) / TUNER_FILE

    def save(self) -> None:
        """Save the oracle and the tuner state, each file replaced atomically."""
        if not self.is_worker():
            self.oracle.save()
        write_json_atomic(self.tuner_file(), self.get_state())

    def on_trial_end(self, trial: kt.engine.trial.Trial) -> None:
        """Save the oracle, free the trial's graphs, then `trial_ended`: hook, failures.

        A worker of a distributed search only reports the trial: its oracle is the chief's,
        over gRPC, and the chief writes the reports and counts the failures of all workers.
        """
        super().on_trial_end(trial)
        # Without it (it also collects garbage), every trial's graphs and weights stay
        # reachable: memory grows with each trial (KerasTuner issues #395, #873).
        keras.backend.clear_session()
        if self.is_worker():
            trial_ended(self, trial, after_trial=None, max_failures=None)
        else:
            trial_ended(self, trial, self.after_trial, self.max_failures)
        self.trials_ended += 1
        if self.trials_budget is not None and self.trials_ended >= self.trials_budget:
            raise TrialBudgetSpent

    def record_path(self, trial_id: str) -> Path:
        """Where a trial's training record lives, beside KerasTuner's trial.json."""
        return Path(self.get_trial_dir(trial_id)) / RECORD_FILE

    def save_record(self, trial_id: str, record: dict) -> None:
        """Write a trial's training record atomically."""
        write_json_atomic(self.record_path(trial_id), record)

    def load_record(self, trial_id: str) -> dict:
        """A trial's training record, or an empty one if the trial never finished training."""
        return read_json(self.record_path(trial_id)) or {}
