"""Roles in a distributed search, and the worker processes a chief starts on its own machine.

KerasTuner's environment variables say what a process is: KERASTUNER_TUNER_ID (a name with
"chief" in it makes the chief), KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT (where the
chief serves). Without them, `tune --workers N` makes `tune` the chief on a free loopback port,
and it starts N workers here, each `python -m tuning worker RESULTS_DIR` with those variables.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from tuning.config import TuneConfig
from tuning.engine import devices, kt_internals
from tuning.errors import TuningError

TUNER_ID = "KERASTUNER_TUNER_ID"
ORACLE_IP = "KERASTUNER_ORACLE_IP"
ORACLE_PORT = "KERASTUNER_ORACLE_PORT"
LOOPBACK = "127.0.0.1"
ANY_ADDRESS = ("0.0.0.0", "::", "[::]")
WORKER_LOGS = "workers"  # <results_dir>/workers/<tuner id>.log
END_SECONDS = 60  # for workers to exit once told the search is over
STOP_SECONDS = 10  # for a SIGTERMed worker to end its trial process and exit
# Workers a search starts again after one died in a trial; more deaths stop it: something
# kills them all (the machine short of memory, say), and starting more would not help.
MAX_RESTARTS = 5


def role() -> str | None:
    """`chief` or `worker` as KerasTuner's environment variables say, else None.

    Raises:
        TuningError: the variables are set only in part.
    """
    try:
        if not kt_internals.has_chief_oracle():
            return None
    except RuntimeError as e:  # KerasTuner's own message names the missing variable
        raise TuningError(str(e)) from None
    return "chief" if kt_internals.is_chief_oracle() else "worker"


def is_chief(config: TuneConfig) -> bool:
    """Whether `tune` serves the search to workers instead of running its trials itself."""
    return config.workers is not None or role() == "chief" or per_device(config) > 1


def per_device(config: TuneConfig, parameters: Callable[[], int] = lambda: 0) -> int:
    """Trials at once on each device: --trials-per-device, else what the GPUs' memory holds.

    `parameters` counts the network's parameters, asked only where the memory decides.
    """
    if config.trials_per_device is not None:
        return config.trials_per_device
    gpus = devices.gpu_ids()
    if not gpus:
        return 1
    memory = devices.gpu_memory_bytes()
    return devices.trials_per_device(memory, parameters(), os.cpu_count() or 1, len(gpus))


def local_workers(config: TuneConfig, per: int) -> int:
    """The workers a chief starts here: `per` for each of --workers' devices, else each GPU.

    None asked for (no --workers, one trial per device): 0, for a chief whose workers are
    all started by hand.
    """
    if config.workers is not None:
        return config.workers * per
    if per == 1:
        return 0
    return per * max(len(devices.gpu_ids()), 1)


def chief_address() -> str:
    """Where the chief listens: the environment's address, else a free loopback port."""
    if role() == "chief":
        return kt_internals.chief_address()
    return f"{LOOPBACK}:0"


def is_loopback(address: str) -> bool:
    """Whether only processes on this machine can reach `address` (HOST:PORT)."""
    host = address.rpartition(":")[0]
    return host.startswith("127.") or host in ("localhost", "[::1]")


def describe_status(status: int) -> str:
    """A process's return code as words: `exit status 2` or `signal SIGKILL`."""
    return f"signal {signal.Signals(-status).name}" if status < 0 else f"exit status {status}"


class LocalWorkers:
    """The worker processes a chief starts on its own machine, watched while it serves.

    Each runs in its own session with its own log, pinned to one GPU where there are GPUs, and
    is killed by the kernel if the chief dies (`worker --parent`).
    """

    def __init__(self, config: TuneConfig, port: int, per: int = 1):
        self.config = config
        self.port = port
        self.per = per  # trials at once on each device
        self.processes: dict[str, subprocess.Popen] = {}
        self.gpus: list[str] = []
        self.restarts = 0  # workers started again after one died in a trial

    def log_path(self, tuner_id: str):
        """Where a worker's output goes, appended to across resumes."""
        return self.config.results_dir / WORKER_LOGS / f"{tuner_id}.log"

    def start(self) -> None:
        """Start `config.workers` workers that ask the chief on this machine for trials."""
        count = local_workers(self.config, self.per)
        if not count:
            return
        self.gpus = devices.gpu_ids()
        for index in range(count):
            self.start_one(index)
        print(f"chief: started {count} workers, logs in {self.log_path('').parent}", flush=True)

    def start_one(self, index: int) -> None:
        """Start worker `index` (`worker{index}`), pinned to its device, logging to its file."""
        tuner_id = f"worker{index}"
        host = os.environ.get(ORACLE_IP, LOOPBACK) if role() == "chief" else LOOPBACK
        host = LOOPBACK if host in ANY_ADDRESS else host
        env = {**os.environ, TUNER_ID: tuner_id, ORACLE_IP: host, ORACLE_PORT: str(self.port)}
        env.update(devices.worker_gpus(index, self.gpus, self.config.distribution, self.per))
        command = [sys.executable, "-m", "tuning", "worker", str(self.config.results_dir)]
        log = self.log_path(tuner_id)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as out:
            self.processes[tuner_id] = subprocess.Popen(
                [*command, "--parent", str(os.getpid())],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the chief, which stops them
            )

    def check(
        self,
        search_over: Callable[[], bool],
        loopback: bool,
        bury: Callable[[str, str], bool] = lambda tuner_id, how: False,
    ) -> None:
        """Replace a worker that died in a trial; raise if one died otherwise, or all ended.

        A dead worker costs only the epochs since its trial's last save: `bury` hands the
        trial to the next worker (issue 27), and a new worker of the same name takes its
        place, up to `MAX_RESTARTS` times a search; so does one killed by a signal before it
        had a trial. One that exited with an error without a trial (at its start, say) would
        only fail again: the search stops, as it does when every worker ended on loopback
        while trials are still due.

        Raises:
            TuningError: naming the worker, how it ended and the last line of its log.
        """
        for tuner_id, process in list(self.processes.items()):
            status = process.poll()
            if status not in (None, 0):
                how = f"{describe_status(status)} ({self.last_line(tuner_id)})"
                again = self.restarts < MAX_RESTARTS and not search_over()
                # `bury` first: the dead worker's trial goes back to the queue either way.
                had_trial = again and bury(tuner_id, describe_status(status))
                if again and (had_trial or status < 0):  # killed, not failing as it starts
                    self.restarts += 1
                    print(
                        f"chief: {tuner_id} ended with {how}; a new {tuner_id} takes its place "
                        f"(restart {self.restarts} of at most {MAX_RESTARTS})",
                        flush=True,
                    )
                    self.start_one(int(tuner_id.removeprefix("worker")))
                    continue
                too_many = f", after {self.restarts} restarts" if self.restarts else ""
                raise TuningError(
                    f"{tuner_id} ended with {how}{too_many}; "
                    "the other workers were stopped; finished trials are saved, run the same "
                    "command to resume"
                )
        ended = self.processes and all(p.poll() is not None for p in self.processes.values())
        # On loopback nobody else can serve the rest, and the chief would wait for good.
        if ended and loopback and not search_over():
            raise TuningError(
                "every worker ended but the search is not over; run the same command to resume"
            )

    def last_line(self, tuner_id: str) -> str:
        """The last line of a worker's log, for the error that says it failed."""
        path = self.log_path(tuner_id)
        try:
            lines = [line for line in path.read_text(errors="replace").splitlines() if line]
        except OSError:
            lines = []
        last = lines[-1].strip()[:200] if lines else "nothing"
        return f"{path} ends: {last}"

    def wait(self) -> None:
        """Give the workers, told that the search is over, time to exit."""
        deadline = time.monotonic() + END_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass  # stop() ends it

    def stop(self) -> None:
        """End every worker still running: SIGTERM (it ends its trial process), then SIGKILL."""
        running = [p for p in self.processes.values() if p.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
