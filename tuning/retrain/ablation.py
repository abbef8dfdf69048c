"""Ablation: retrain the best configuration with each regularization technique switched off.

The course compares a model with and without L1/L2; this makes that comparison for every
technique the search tunes, each retrained with the best trial's own seed and epoch budget.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from hypermodels import space
from tuning.errors import TuningError
from tuning.layout import ABLATION_CSV, ABLATION_PNG
from tuning.objective import DEFAULT
from tuning.reports.page import write_page
from tuning.retrain.best import Best, Planned, best_configuration, result_columns, train_rows
from tuning.store.files import write_bytes_atomic

# Each variant and the hyperparameters it sets to their "off" value (0, which every hypermodel
# reads as "off"), derived from the declarations in hypermodels.space.
VARIANTS: dict[str, tuple[str, ...]] = space.ABLATION_VARIANTS


def ablation_columns(names: list[str], score: str = DEFAULT) -> list[str]:
    """ablation.csv's columns for a search over `names`, ranked by `score`."""
    return ["variant", *result_columns(score), "same_as", "trial_id", "seed", "max_epochs", *names]


def ablation_rows(best: Best, epochs: int) -> list[Planned]:
    """One row per variant: the best trial's values with the variant's techniques set to 0.

    A variant whose values equal an earlier one's (its technique is already off in the best
    trial) shares that variant's training instead of repeating it, and names it in `same_as`.
    """
    rows: list[Planned] = []
    off_values = space.off_values()
    for variant, switched_off in applicable_variants(best).items():
        hp = best.hp.copy()
        hp.values.update({name: off_values[name] for name in switched_off})
        same = next((i for i, row in enumerate(rows) if row.hp.values == hp.values), None)
        key = {
            "variant": variant,
            "trial_id": best.trial_id,
            "seed": best.seed,
            "max_epochs": epochs,
            **best.values(hp),
        }
        same_as = None if same is None else rows[same].key["variant"]
        rows.append(Planned(key, hp, best.seed, variant, same, extra={"same_as": same_as}))
    return rows


def applicable_variants(best: Best) -> dict[str, tuple[str, ...]]:
    """The experiment's variants whose every name the search searched.

    A user's HyperModel may declare few of those names, or none.

    Raises:
        TuningError: the search has none of the names a variant switches off.
    """
    names = set(best.names)
    variants = best.experiment.variants
    found = {v: off for v, off in variants.items() if set(off) <= names}
    if len(found) <= 1:  # "best" alone: nothing to switch off
        switchable = sorted(set().union(*variants.values()))
        raise TuningError(
            f"{best.config.results_dir}: {best.config.hypermodel} searches none of "
            f"{', '.join(switchable)}, so ablate has nothing to switch off"
        )
    return found


def ablate(
    results_dir: Path, data_dir: Path | None = None, max_epochs: int | None = None, verbose: int = 2
) -> str:
    """Retrain the best trial of `results_dir` once per variant; write ablation.csv and .png.

    Returns:
        The results as a table, and the files written.
    """
    with best_configuration(results_dir, data_dir) as best:
        epochs = max_epochs or best.config.max_epochs
        rows = ablation_rows(best, epochs)
        for row in rows:
            if row.same_as is not None:
                switched_off = best.experiment.variants[row.label]
                off = ", ".join(f"{n} is 0" for n in switched_off if n in best.names)
                print(
                    f"{row.label}: {off} in trial {best.trial_id} already; "
                    f"the same model as {row.extra['same_as']}, not trained again"
                )
        path = results_dir / ABLATION_CSV
        columns = ablation_columns(best.names, best.score)
        frame = train_rows(best, rows, columns, path, epochs, verbose)
        chart = results_dir / ABLATION_PNG
        title = (
            f"Ablation of trial {best.trial_id} ({best.config.dataset}, "
            f"{best.config.hypermodel}): seed {best.seed}, max_epochs {epochs}"
        )
        write_bytes_atomic(chart, ablation_chart(frame, title))
        page = write_page(results_dir)
    header = (
        f"trial {best.trial_id} retrained with each technique off (seed {best.seed}, "
        f"max_epochs {epochs}):"
    )
    table = ablation_table(frame, best.score)
    return "\n".join([header, table, f"wrote {path}", f"wrote {chart}", f"wrote {page}"])


def ablation_table(frame: pd.DataFrame, score: str = DEFAULT) -> str:
    """The variants' scores, with each test accuracy's change from `best` in points."""
    table = frame[["variant", score, "test_accuracy", "test_loss", "epochs", "same_as"]]
    best = frame.loc[frame.variant == "best", "test_accuracy"].iloc[0]
    table = table.assign(vs_best=[f"{100 * (a - best):+.2f} pts" for a in frame.test_accuracy])
    return table.to_string(index=False, na_rep="", float_format="{:.4f}".format)


def ablation_chart(frame: pd.DataFrame, title: str) -> bytes:
    """A PNG bar chart of each variant's validation and test error, in percent.

    The validation bars are those of val_accuracy, where the search ranked by it; a search
    ranked by another objective shows the test error alone, since error is 1 - accuracy.
    """
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    figure = Figure(figsize=(9, 5), layout="constrained")
    axes = figure.add_subplot()
    x = np.arange(len(frame))
    width = 0.4
    shared = frame.same_as.notna().to_numpy()
    bars_of = [(-width / 2, DEFAULT, "validation", "tab:blue")] if DEFAULT in frame else []
    bars_of.append((width / 2 if bars_of else 0, "test_accuracy", "test", "tab:orange"))
    for offset, column, label, color in bars_of:
        bars = axes.bar(x + offset, 100 * (1 - frame[column]), width, label=label, color=color)
        axes.bar_label(bars, fmt="%.2f", padding=2, fontsize=8)
        for bar, is_shared in zip(bars, shared, strict=True):
            if is_shared:  # not trained: the numbers of the variant named under it
                bar.set_hatch("//")
                bar.set_alpha(0.45)
    best = 100 * (1 - frame.loc[frame.variant == "best", "test_accuracy"].iloc[0])
    axes.axhline(
        best, color="tab:orange", linestyle="--", linewidth=1, zorder=0.5, label="best's test error"
    )
    labels = [
        variant if pd.isna(same) else f"{variant}\n(= {same})"
        for variant, same in zip(frame.variant, frame.same_as, strict=True)
    ]
    axes.set_xticks(x, labels=labels)
    axes.set_xlabel("variant: the best configuration with a technique switched off (set to 0)")
    axes.set_ylabel("error (%) = 100 - accuracy; lower is better")
    axes.set_title(title)
    axes.margins(y=0.12)
    figure.legend(loc="outside lower center", ncols=3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    return buffer.getvalue()
