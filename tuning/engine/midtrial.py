"""A running trial's last saved epoch, so that a kill loses at most one epoch or `--save-every`.

KerasTuner saves nothing of a running trial (its issue #702): a kill, Ctrl-C or reboot
lost every epoch of it, up to 18 minutes of 2 cores (issue 27). Now, after an epoch, at
most every `--save-every` seconds, a trial writes `<trial dir>/resume/`:

- `epoch-N.weights.h5`: the model's and the optimizer's variables, the learning rate
  included (Keras's own weights file);
- `state.json`: the epochs done and their history, each callback's counters
  (ReduceLROnPlateau, EarlyStopping, the best-epoch checkpoint, the stopping rules), the
  positions of the model's random generators (dropout's), the seconds trained, and the
  histories of the executions that finished.

A trial that runs again (on resume, or on another worker) picks up from there: `fit` starts
at `initial_epoch`, the input pipeline serves what that epoch would have served
(hypermodels.training), and the history goes on with no gap and no epoch twice. The
folder goes when the trial ends: one state per running trial, never more.

The newest run of a trial holds it (`holder`, a token each run writes as it starts). A
distributed worker the chief took for lost may still be training when another worker
resumes its trial, or after the trial ended: it notices within `HOLD_CHECK_SECONDS` and
stops, writing nothing more, so it neither overwrites the newer run's state nor brings
back the folder of an ended trial.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from tuning.engine import kt_internals
from tuning.store.files import read_json, write_json_atomic, write_text_atomic

FORMAT = 1  # state.json's layout; a state of another format is not read
STATE_DIR = "resume"
STATE_FILE = "state.json"
HOLDER_FILE = "holder"
HOLD_CHECK_SECONDS = 10.0  # how often a run checks that it still holds its trial

# What Keras's and KerasTuner's callbacks keep between epochs; ours say it themselves
# (`carried_state` and `carry_on`). EarlyStopping's best weights are not carried: the
# model's final weights serve nothing, since scores and the best model are read from the
# best epoch's checkpoint.
CARRIED = (
    (keras.callbacks.ReduceLROnPlateau, ("wait", "cooldown_counter", "best")),
    (keras.callbacks.EarlyStopping, ("wait", "stopped_epoch", "best", "best_epoch")),
    (kt_internals.SaveBestEpoch, ("best_value",)),
)


def plain(value: object) -> object:
    """A callback's counter as JSON keeps it: numpy numbers as Python's."""
    return value.item() if isinstance(value, np.generic) else value


def callback_state(callback: keras.callbacks.Callback) -> dict | None:
    """What `callback` keeps between epochs, or None if it keeps nothing a resume needs."""
    if hasattr(callback, "carried_state"):
        return callback.carried_state()
    for kind, names in CARRIED:
        if isinstance(callback, kind):
            return {name: plain(getattr(callback, name)) for name in names}
    return None


def carry_on(callback: keras.callbacks.Callback, state: dict) -> None:
    """Give `callback` back what `callback_state` took from it."""
    if hasattr(callback, "carry_on"):
        callback.carry_on(state)
    else:
        for name, value in state.items():
            setattr(callback, name, value)


def callback_key(index: int, callback: keras.callbacks.Callback) -> str:
    """A callback's name in state.json: its place in fit's list and its class."""
    return f"{index}:{type(callback).__name__}"


def random_variables(model: keras.Model) -> list:
    """The model's variables that are not weights: its random generators' positions."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


class TrialTakenOver(Exception):
    """Another run of the trial holds it now, or the trial ended: this run must stop."""

    def __init__(self, trial_id: str):
        super().__init__(
            f"trial {trial_id} stopped here: another run holds it now, or it ended (this "
            "worker was taken for lost); this run writes nothing more"
        )


def load_state(folder: Path, trial_id: str, values: dict) -> dict | None:
    """The trial's saved state, if one was saved for these very values in this format."""
    state = read_json(folder / STATE_FILE)
    if not state or state.get("format") != FORMAT or state.get("trial_id") != trial_id:
        return None
    if state.get("values") != json.loads(json.dumps(values)):
        return None  # another trial's, or values changed: start afresh
    weights = state.get("weights")
    if weights is not None and not (folder / weights).exists():
        return None
    return state


def discard(trial_dir: Path) -> None:
    """Remove a trial's saved state, once the trial has ended."""
    shutil.rmtree(trial_dir / STATE_DIR, ignore_errors=True)


def saved_epochs(trial_dir: Path) -> int:
    """Epochs of its running execution that a trial saved (0 if none), for messages."""
    return len((read_json(trial_dir / STATE_DIR / STATE_FILE) or {}).get("epoch", []))


class TrialResume:
    """A trial's executions: those that finished are not trained again, a cut one goes on.

    `fit` is called once per execution (KerasTuner's `build_and_fit`), in order.
    """

    def __init__(self, trial_dir: Path, trial_id: str, values: dict, every: float):
        self.folder = trial_dir / STATE_DIR
        self.trial_id = trial_id
        self.values = values
        self.every = every
        self.saved = load_state(self.folder, trial_id, values)
        self.finished: list[dict] = list(self.saved["finished"]) if self.saved else []
        self.before = self.saved["seconds"] if self.saved else 0.0  # trained before this run
        self.started = time.monotonic()
        self.execution = 0
        self.token = uuid.uuid4().hex
        write_text_atomic(self.folder / HOLDER_FILE, self.token)  # an older run stops

    def holds(self) -> bool:
        """Whether this run still holds the trial: no newer run took it, and it did not end."""
        try:
            return (self.folder / HOLDER_FILE).read_text() == self.token
        except FileNotFoundError:
            return False

    def check_hold(self) -> None:
        """Raise `TrialTakenOver` if this run no longer holds its trial."""
        if not self.holds():
            raise TrialTakenOver(self.trial_id)

    @property
    def resumed_epochs(self) -> int:
        """Epochs of the cut execution this run picked up (0: it starts afresh)."""
        return len(self.saved["epoch"]) if self.saved else 0

    def seconds(self) -> float:
        """The trial's training seconds so far: before this run (up to its save) and in it."""
        return self.before + time.monotonic() - self.started

    def fit(self, fit: Callable[..., keras.callbacks.History], kwargs: dict):  # noqa: ANN201
        """Run one execution through `fit(**kwargs)`, or hand back its saved history."""
        execution, self.execution = self.execution, self.execution + 1
        if execution < len(self.finished):  # trained to its end before the interruption
            return as_history(self.finished[execution])
        cut = self.saved if self.saved and self.saved["execution"] == execution else None
        saver = EpochSaver(self, execution, kwargs.get("callbacks", []), cut)
        if cut and cut["epoch"]:
            kwargs = {**kwargs, "initial_epoch": len(cut["epoch"])}
        history = fit(**{**kwargs, "callbacks": [*kwargs.get("callbacks", []), saver]})
        history.history, history.epoch = saver.history, saver.epochs
        self.finished.append({"epoch": saver.epochs, "history": saver.history})
        self.check_hold()
        self.write({"execution": execution + 1, "epoch": [], "history": {}, "weights": None})
        return history

    def write(self, state: dict) -> None:
        """Save state.json atomically, with what every state holds."""
        fixed = {"format": FORMAT, "trial_id": self.trial_id, "values": self.values}
        state = {**fixed, **state, "finished": self.finished, "seconds": self.seconds()}
        write_json_atomic(self.folder / STATE_FILE, state)


def as_history(saved: dict) -> keras.callbacks.History:
    """A finished execution's history, as fit returned it."""
    history = keras.callbacks.History()
    history.history, history.epoch = saved["history"], saved["epoch"]
    return history


class EpochSaver(keras.callbacks.Callback):
    """Saves the execution's state after an epoch, at most every `every` seconds.

    It works at the next epoch's beginning: by then every callback, wherever it is in fit's
    list, has ended the epoch before (and written its logs, such as the learning rate), and
    begun training (which resets their counters, put back here after).
    """

    def __init__(self, resume: TrialResume, execution: int, callbacks: list, cut: dict | None):
        super().__init__()
        self.resume = resume
        self.execution = execution
        self.callbacks = list(callbacks)
        self.cut = cut
        self.epochs: list[int] = list(cut["epoch"]) if cut else []
        saved = cut["history"] if cut else {}
        self.history: dict[str, list] = {name: list(values) for name, values in saved.items()}
        self.ended: tuple[int, dict] | None = None  # the last epoch, until its logs are whole
        self.last_save = self.last_check = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Put back the cut run's state before its first epoch; else save the last epoch."""
        if self.cut is not None:
            if epoch == len(self.epochs):
                self.carry_on(self.cut)
            else:
                self.start_afresh(epoch)
            self.cut = None
        elif self.note_ended() and time.monotonic() - self.last_save >= self.resume.every:
            self.save(len(self.epochs))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Every `HOLD_CHECK_SECONDS`, stop if another run took the trial, mid-epoch."""
        if time.monotonic() - self.last_check >= HOLD_CHECK_SECONDS:
            self.last_check = time.monotonic()
            self.resume.check_hold()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Keep the epoch's logs, which the callbacks after this one may still add to."""
        self.ended = (epoch, logs if logs is not None else {})

    def on_train_end(self, logs: dict | None = None) -> None:
        """Note the last epoch: the execution's history is whole."""
        self.note_ended()

    def note_ended(self) -> bool:
        """Add the last ended epoch to the history; whether there was one."""
        if self.ended is None:
            return False
        epoch, logs = self.ended
        self.epochs.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))
        self.ended = None
        return True

    def carry_on(self, cut: dict) -> None:
        """Put back the model's, the optimizer's and the callbacks' state of the cut run."""
        if not cut["weights"]:
            return
        model = self.model
        if not model.optimizer.built:  # built at the first step otherwise: too late to load
            model.optimizer.build(model.trainable_variables)
        model.load_weights(self.resume.folder / cut["weights"])
        for variable, value in zip(random_variables(model), cut["random"], strict=True):
            variable.assign(np.asarray(value, dtype=variable.dtype))
        for index, callback in enumerate(self.callbacks):
            if (state := cut["callbacks"].get(callback_key(index, callback))) is not None:
                carry_on(callback, state)
        print(
            f"trial {self.resume.trial_id} resumes after epoch {len(self.epochs)}, "
            "from its saved state",
            flush=True,
        )

    def start_afresh(self, epoch: int) -> None:
        """A fit that began at `epoch`, not where the cut run stopped: train it all again.

        A user HyperModel's own `fit` may not pass `initial_epoch` on to `model.fit`; the
        saved state would then continue under the wrong epoch numbers, so it is left unused.
        """
        self.epochs, self.history = [], {}
        print(
            f"trial {self.resume.trial_id} trains again from epoch {epoch + 1}: its fit began "
            f"there, not after the saved epoch {len(self.cut['epoch'])} (pass fit's "
            "initial_epoch on to model.fit to resume)",
            flush=True,
        )

    def save(self, epochs: int) -> None:
        """Write the weights, then state.json naming them, then drop the older weights."""
        self.resume.check_hold()
        name = f"epoch-{epochs}.weights.h5"
        path = self.resume.folder / name
        self.model.save_weights(path)
        with open(path, "rb") as f:  # on disk before state.json names it: a reboot keeps both
            os.fsync(f.fileno())
        self.resume.write(
            {
                "execution": self.execution,
                "epoch": self.epochs,
                "history": self.history,
                "weights": name,
                "callbacks": self.callback_states(),
                "random": [np.asarray(v).tolist() for v in random_variables(self.model)],
            }
        )
        for old in self.resume.folder.glob("epoch-*.weights.h5"):
            if old.name != name:
                old.unlink(missing_ok=True)
        self.last_save = time.monotonic()

    def callback_states(self) -> dict:
        """Each callback's counters, by its place and class."""
        return {
            callback_key(index, callback): state
            for index, callback in enumerate(self.callbacks)
            if (state := callback_state(callback)) is not None
        }
