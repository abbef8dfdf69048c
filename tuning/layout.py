"""The files a results folder holds, by name: one place for each module that writes or reads."""

from __future__ import annotations

import os
from pathlib import Path

TUNER_DIR = "tuner"  # KerasTuner's state: the oracle and one folder per trial
ORACLE_FILE = "oracle.json"  # KerasTuner's name for the oracle's state, in TUNER_DIR
RECORD_FILE = "record.json"  # how a trial trained, beside KerasTuner's trial.json
DATA_DIR = "data"  # the search's data, checked and split once (tuning.store.prepared)
TRIALS_CSV = "trials.csv"
TEST_RESULTS_CSV = "test_results.csv"
HISTORY_CSV = "history.csv"
LEARNING_CURVES_PNG = "learning_curves.png"
HYPERPARAMETERS_PNG = "hyperparameters.png"
BEST_SO_FAR_PNG = "best_so_far.png"
ABLATION_CSV = "ablation.csv"
ABLATION_PNG = "ablation.png"
CONFIRM_CSV = "confirm.csv"
CONFIRM_SUMMARY_CSV = "confirm_summary.csv"
# What `confirm` and `ablate` write: of one search's best, so gone once --overwrite starts another
RETRAINED = (CONFIRM_CSV, CONFIRM_SUMMARY_CSV, ABLATION_CSV, ABLATION_PNG)
REPORT_PAGE = "report.html"
BEST_MODEL = "best_model.keras"  # the best trial's model (tuning.reports.best_model)


def portable_path(path: Path | str) -> str:
    """`path` as a results file records it: relative to the folder the command runs in.

    A results folder is published and moved between machines, so it holds no absolute path.
    """
    path = Path(path)
    return str(path) if not path.is_absolute() else os.path.relpath(path, Path.cwd())
