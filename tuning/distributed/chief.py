"""The chief of a distributed search: the search's oracle, served over gRPC to the workers.

This is KerasTuner's own chief/worker mode (keras_tuner/src/distribute): a worker's tuner asks
the chief's oracle for a trial, trains it and reports back, until the oracle answers STOPPED.
The chief trains nothing. It holds the results dir's lock, serves the saved search's oracle
(a DurableOracle, so its state is saved atomically and a resume reloads it), rewrites
trials.csv after each trial a worker ends, and returns once every trial has ended and every
worker has been told that the search is over; `tune` then evaluates and writes the reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent import futures
from functools import partial

import grpc
from keras_tuner import synchronized
from keras_tuner.engine.trial import Trial

from tuning.config import TuneConfig
from tuning.distributed import cluster
from tuning.engine import auth, devices, kt_internals
from tuning.engine.failures import trial_ended
from tuning.engine.oracle import DurableOracle
from tuning.engine.search import make_tuner
from tuning.engine.tuner import RecordingTuner
from tuning.errors import SearchStopped, TuningError
from tuning.settings import show_duration
from tuning.trialstate import ENDED, TrialState

POLL_SECONDS = 0.5  # how often the chief looks at the search and at its local workers
GRACE_SECONDS = 5  # for the last answers in flight when the chief stops serving
MAX_LOST_WORKERS = 3  # a trial that lost this many workers fails: it may be what kills them


class ChiefOracle(DurableOracle):
    """The Bayesian oracle as the chief serves it: a hook after each trial, and a stop.

    `on_trial_end` runs in the gRPC thread, under the oracle's lock, so it reads a state that
    no worker changes meanwhile. When it raises TuningError (too many failures, a full disk),
    every worker is answered STOPPED instead of a new trial, and `stopped` says why.
    """

    on_trial_end: Callable[[Trial], None] | None = None
    stopped: TuningError | None = None
    lost_workers: dict[str, int]  # by trial id: workers lost while running it
    requeued_at = 0.0  # when a lease last lapsed (monotonic seconds)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lost_workers = {}

    @synchronized
    def create_trial(self, tuner_id: str) -> Trial:
        """The next trial for `tuner_id`, or STOPPED once the search was stopped."""
        if self.stopped is None or tuner_id in self.ongoing_trials:
            return super().create_trial(tuner_id)
        self.tuner_ids.discard(tuner_id)  # told to stop, as KerasTuner's own STOPPED does
        return Trial(self.get_space(), status=TrialState.STOPPED)

    @synchronized
    def requeue_worker_trial(
        self, tuner_id: str, why: str, save_record: Callable[[str, dict], None]
    ) -> str | None:
        """Hand the trial of a lost worker to the next that asks; its id, or None if none.

        The next worker goes on from the trial's last saved epoch (tuning.engine.midtrial).
        A trial that lost `MAX_LOST_WORKERS` workers fails instead: it may be what kills them
        (out of memory, say). Its record then says why, so trials.csv does.
        """
        trial = self.ongoing_trials.get(tuner_id)
        if trial is None:
            return None
        self.lost_workers[trial.trial_id] = lost = self.lost_workers.get(trial.trial_id, 0) + 1
        if lost >= MAX_LOST_WORKERS:
            reason = f"{why}, the {ordinal(lost)} worker lost in this trial"
            save_record(trial.trial_id, {"reason": reason})
            self.fail_trial(trial.trial_id, reason)
            print(f"chief: trial {trial.trial_id} failed: {reason}", flush=True)
            return trial.trial_id
        del self.ongoing_trials[tuner_id]
        self.retry_queue.append(trial.trial_id)
        self.save()
        print(
            f"chief: trial {trial.trial_id} goes back to the queue ({why}); the next worker "
            "resumes it from its last saved epoch",
            flush=True,
        )
        return trial.trial_id

    @synchronized
    def expire(
        self,
        seen: dict[str, float],
        lease: float,
        local: set[str],
        save_record: Callable[[str, dict], None],
    ) -> None:
        """Requeue the trials of remote workers not heard from for `lease` seconds.

        `seen`: when each worker last called (monotonic seconds). Such a worker is taken for
        dead; if it comes back, it asks for a new trial like any other. Local workers are
        watched as processes. Requeued trials that no worker took within a lease fail, so
        that a search whose remote workers never come back still ends.
        """
        now = time.monotonic()
        for tuner_id in list(self.ongoing_trials):
            last = seen.setdefault(tuner_id, now)  # not heard from yet: the lease starts now
            if tuner_id in local or now - last < lease:
                continue
            silent = f"its worker {tuner_id} was not heard from for {show_duration(lease)}"
            self.requeue_worker_trial(tuner_id, silent, save_record)
            self.tuner_ids.discard(tuner_id)
            self.requeued_at = now
        if not self.retry_queue or local or now - self.requeued_at < lease:
            return
        if any(now - last < lease for last in seen.values()):
            return  # a worker is about: it will ask
        for trial_id in list(self.retry_queue):
            reason = f"no worker took it back within {show_duration(lease)}"
            save_record(trial_id, {"reason": reason})
            self.fail_trial(trial_id, reason)

    @synchronized
    def spent(self) -> bool:
        """Whether nobody works and no trial is left to hand out, as after a lost last worker.

        KerasTuner ends a search once it answered a worker STOPPED; a search whose last
        worker was lost has nobody left to answer.
        """
        if not kt_internals.nobody_working(self) or self.retry_queue:
            return False
        budget_over = self.budget is not None and self.budget.over()
        return budget_over or (bool(self.max_trials) and len(self.trials) >= self.max_trials)

    @synchronized
    def end_trial(self, trial: Trial) -> None:
        """End a trial a worker reports, then run `on_trial_end` on the saved trial.

        A worker whose lease lapsed may still report its trial, which another worker runs
        now or which has ended: the report is dropped, so a trial ends once.
        """
        if self.late(trial.trial_id, "report"):
            return
        super().end_trial(trial)
        if self.on_trial_end is not None:
            try:
                self.on_trial_end(self.trials[trial.trial_id])
            except TuningError as e:
                self.stopped = self.stopped or e

    @synchronized
    def update_trial(self, trial_id: str, *args, **kwargs) -> Trial:  # noqa: D102
        if self.late(trial_id, "result"):
            return self.trials[trial_id]
        return super().update_trial(trial_id, *args, **kwargs)

    def late(self, trial_id: str, what: str) -> bool:
        """Whether a call about `trial_id` comes from a worker that no longer holds it.

        A worker that reports a trial nobody holds, still queued, gets it back: it kept
        training while its chief was restarted, which queued every running trial.
        """
        running = self.ongoing_trials.items()
        holder = next((tuner for tuner, trial in running if trial.trial_id == trial_id), None)
        worker = auth.caller()
        if worker is not None and holder is None and trial_id in self.retry_queue:
            self.retry_queue.remove(trial_id)
            self.ongoing_trials[worker] = self.trials[trial_id]
            return False
        if holder is None and self.trials[trial_id].status in ENDED:
            now = "it has ended"
        elif worker is not None and holder is not None and holder != worker:
            now = f"{holder} runs it now"
        else:
            return False
        print(f"chief: dropped a late {what} of trial {trial_id} from {worker}: {now}", flush=True)
        return True


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th..."""
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n if n < 20 else n % 10, 'th') }"


def run_chief(
    config: TuneConfig, verbose: int, after_trial: Callable[[RecordingTuner], None]
) -> tuple[RecordingTuner, SearchStopped | None]:
    """Serve the search to its workers, starting `config.workers` local ones, until it is over.

    Returns:
        The tuner with the final state, and why the search stopped early, if it did.

    Raises:
        TuningError: a local worker failed (the others are stopped), the address cannot be
            served, or the after-trial hook failed; finished trials are saved.
    """
    devices.hide_gpus()
    tuner = make_tuner(config, oracle_class=ChiefOracle)
    oracle = tuner.oracle
    oracle.verbose = verbose
    oracle.on_trial_end = partial(after_worker_trial, tuner, config, after_trial)
    tuner.save()  # before serving: a worker reads run.json and the tuner state once answered
    address = cluster.chief_address()
    server, servicer, port, check = start_server(oracle, address)
    per = cluster.per_device(config, partial(parameters, tuner))
    workers = cluster.LocalWorkers(config, port, per)
    print(f"chief: serving the search on {address.rpartition(':')[0]}:{port}", flush=True)

    def search_over() -> bool:
        return kt_internals.workers_told_to_stop(servicer, oracle) or oracle.spent()

    def bury(tuner_id: str, how: str) -> bool:
        """Requeue the dead worker's trial; whether it had one, and so may be started again."""
        reason = f"its worker {tuner_id} ended with {how}"
        return oracle.requeue_worker_trial(tuner_id, reason, tuner.save_record) is not None

    try:
        workers.start()
        while not search_over():
            workers.check(search_over, cluster.is_loopback(address), bury)
            local = set(workers.processes)
            oracle.expire(check.seen, config.worker_timeout, local, tuner.save_record)
            time.sleep(POLL_SECONDS)
        workers.wait()
    finally:
        workers.stop()
        server.stop(GRACE_SECONDS).wait()
    if oracle.stopped is not None and not isinstance(oracle.stopped, SearchStopped):
        raise oracle.stopped
    return tuner, oracle.stopped


def parameters(tuner: RecordingTuner) -> int:
    """The parameters of the network at the search space's defaults: its size on a device."""
    import keras

    try:
        return tuner.hypermodel.build(tuner.oracle.get_space()).count_params()
    finally:
        keras.backend.clear_session()


def after_worker_trial(
    tuner: RecordingTuner,
    config: TuneConfig,
    after_trial: Callable[[RecordingTuner], None],
    trial: Trial,
) -> None:
    """What `tune` does after each trial, done by the chief for the workers' trials.

    Raises:
        SearchStopped: the last `config.max_failures` trials all failed.
    """
    trial_ended(tuner, trial, after_trial, config.max_failures)


def start_server(
    oracle: ChiefOracle, address: str
) -> tuple[grpc.Server, kt_internals.OracleServicer, int, auth.TokenCheck]:
    """Serve `oracle` on `address` (HOST:PORT; port 0 picks a free one) in gRPC's threads.

    KerasTuner's own `start_server` blocks for good and reads the address from the
    environment; this one returns, so the chief can watch its workers meanwhile.

    Returns:
        The running server, its servicer (which notes when a worker was told to stop), the
        port it listens on, and the token check (which notes when each worker called).

    Raises:
        TuningError: the address cannot be listened on.
    """
    token = auth.chief_token(own_workers_only=cluster.role() is None)
    # One thread, as in KerasTuner: the oracle's calls are serialized anyway.
    check = auth.TokenCheck(token)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1), interceptors=[check])
    servicer = kt_internals.OracleServicer(oracle)
    kt_internals.service_grpc().add_OracleServicer_to_server(servicer, server)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError:
        port = 0
    if not port:
        raise TuningError(f"the chief cannot listen on {address}: in use or not this machine's")
    server.start()
    return server, servicer, port, check
