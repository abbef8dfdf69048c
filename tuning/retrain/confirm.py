"""Confirm: retrain the best configuration with other seeds, to tell a gain from seed noise.

The Deep Learning Tuning Playbook's advice before adopting a configuration: a search picks
its best trial partly for luck, and only the spread over several training seeds shows how
much of a difference between two configurations is real.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tuning.layout import CONFIRM_CSV, CONFIRM_SUMMARY_CSV
from tuning.objective import DEFAULT
from tuning.reports.page import write_page
from tuning.retrain.best import (
    Best,
    Planned,
    best_configuration,
    result_columns,
    search_metrics,
    train_rows,
)
from tuning.store.files import write_csv_atomic

# Seed k (1, 2, ...) is the best trial's own seed + k * SEED_STEP: never the trial's own, never
# another trial's of a search below 1000 trials, and the same on every rerun.
SEED_STEP = 1000


def confirm_seeds(trial_seed: int, count: int) -> list[int]:
    """The `count` training seeds confirm uses for a trial seeded with `trial_seed`."""
    return [trial_seed + SEED_STEP * k for k in range(1, count + 1)]


def confirm_columns(names: list[str], score: str = DEFAULT) -> list[str]:
    """confirm.csv's columns for a search over `names`, ranked by `score`."""
    return ["seed", *result_columns(score), "trial_id", "max_epochs", *names]


def confirm_rows(best: Best, seeds: int, epochs: int) -> list[Planned]:
    """One row per seed, each the best trial's values unchanged."""
    rows = []
    for k, seed in enumerate(confirm_seeds(best.seed, seeds), start=1):
        hp = best.hp.copy()
        key = {
            "seed": seed,
            "trial_id": best.trial_id,
            "max_epochs": epochs,
            **best.values(hp),
        }
        rows.append(Planned(key, hp, seed, label=f"run {k}/{seeds}"))
    return rows


def confirm(
    results_dir: Path,
    seeds: int = 3,
    data_dir: Path | None = None,
    max_epochs: int | None = None,
    verbose: int = 2,
) -> str:
    """Retrain the best trial of `results_dir` with `seeds` other seeds; write both CSVs.

    Returns:
        Each seed's scores, the mean and standard deviation, and the files written.
    """
    with best_configuration(results_dir, data_dir) as best:
        epochs = max_epochs or best.config.max_epochs
        rows = confirm_rows(best, seeds, epochs)
        path = results_dir / CONFIRM_CSV
        columns = confirm_columns(best.names, best.score)
        frame = train_rows(best, rows, columns, path, epochs, verbose)
        summary = summary_frame(frame, best.search)
        summary_path = results_dir / CONFIRM_SUMMARY_CSV
        write_csv_atomic(summary, summary_path)
        page = write_page(results_dir)
        header = (
            f"trial {best.trial_id} retrained with {seeds} other seeds, max_epochs "
            f"{epochs} (the search's run: seed {best.seed}, max_epochs {best.config.max_epochs}):"
        )
    columns = ["seed", *search_metrics(best.score), "epochs"]
    table = frame[columns].to_string(index=False, float_format="{:.4f}".format)
    lines = [header, table, *(spread_line(row) for row in summary.itertuples())]
    return "\n".join([*lines, f"wrote {path}", f"wrote {summary_path}", f"wrote {page}"])


def summary_frame(frame: pd.DataFrame, search: dict[str, float | None]) -> pd.DataFrame:
    """Per metric: runs, mean, sample standard deviation, min and max, and the search's value."""
    names = list(search)
    stats = frame[names].agg(["mean", "std", "min", "max"]).T
    stats.insert(0, "runs", len(frame))
    stats["search"] = [search[metric] for metric in names]
    return stats.rename_axis("metric").reset_index()


def spread_line(row) -> str:
    """One metric's mean and standard deviation, beside the search's own value."""
    std = "n/a (one seed)" if pd.isna(row.std) else f"{row.std:.4f}"
    search = "" if pd.isna(row.search) else f"; the search's own run: {row.search:.4f}"
    return f"{row.metric}: mean {row.mean:.4f}, std {std} over {row.runs} seeds{search}"
