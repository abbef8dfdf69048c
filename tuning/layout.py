"""The files a results folder holds, by name: one place for each module that writes or reads."""

from __future__ import annotations

TUNER_DIR = "tuner"  # KerasTuner's state: the oracle and one folder per trial
ORACLE_FILE = "oracle.json"  # KerasTuner's name for the oracle's state, in TUNER_DIR
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
REPORT_PAGE = "report.html"
