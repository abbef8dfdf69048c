"""What a trial's training leaves behind: its record, one row per epoch, and why it failed.

The record (record.json, beside KerasTuner's trial.json) sums one fit up for the reports:
epochs run, best epoch, final learning rate, seconds, the history of every epoch.
"""

from __future__ import annotations

import math
import time

import keras

from tuning.objective import Objective


def elapsed(start: float) -> float:
    """Seconds since `start` (a `time.monotonic()` value), rounded to centiseconds."""
    return round(time.monotonic() - start, 2)


def training_record(history: keras.callbacks.History, seconds: float, goal: Objective) -> dict:
    """Summarize one fit: epochs run, best epoch (1-based), final learning rate, seconds.

    A loss that became NaN or infinite (TerminateOnNaN then stopped the fit) gives a `reason`.
    With several executions per trial the record describes the last one.
    """
    lrs = history.history.get("learning_rate", [])
    record = {
        "epochs": len(history.epoch),
        "best_epoch": goal.best_epoch(history.history.get(goal.name, [])),
        "final_lr": float(lrs[-1]) if lrs else None,
        "seconds": round(seconds, 2),
    }
    record["history"] = epoch_rows(history, goal)
    losses = history.history.get("loss", [])
    diverged = [epoch for epoch, loss in enumerate(losses, start=1) if not math.isfinite(loss)]
    if diverged:
        record["reason"] = (
            f"loss became {losses[diverged[0] - 1]} in epoch {diverged[0]} (TerminateOnNaN)"
        )
    return record


HISTORY_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


def history_metrics(goal: Objective) -> tuple[str, ...]:
    """What history.csv keeps of every epoch: loss, accuracy, learning rate and the objective."""
    return tuple(dict.fromkeys((*HISTORY_METRICS, goal.name)))


def epoch_rows(history: keras.callbacks.History, goal: Objective) -> list[dict]:
    """One row per epoch (1-based) with the loss, accuracy, objective and learning rate."""
    return [
        {
            "epoch": epoch + 1,
            **{
                name: float(history.history[name][i])
                for name in history_metrics(goal)
                if name in history.history and i < len(history.history[name])
            },
        }
        for i, epoch in enumerate(history.epoch)
    ]


def missing_objective(goal: Objective, history: keras.callbacks.History) -> str:
    """Why a trial that logged no objective fails: the metrics it did log."""
    logged = ", ".join(name for name in history.history if name != "learning_rate") or "none"
    return (
        f"the model logs no {goal.name} (it logs: {logged}); give --objective one of these, "
        "or compile the metric"
    )
