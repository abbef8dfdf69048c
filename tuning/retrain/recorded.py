"""A finished search's best trial read back from its reports, where its tuner/ state is gone.

Published and copied results keep run.json and the CSVs and leave the tuner/ state out
(.gitignore: hundreds of megabytes of checkpoints). test_results.csv names the best trial
first, with its scores and values; the values are written with 10 significant digits, more
than the float32 a model trains in holds, so a retraining from them is the trial's training.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras_tuner as kt

from tuning.config import TuneConfig
from tuning.engine import search, usercode
from tuning.errors import TuningError
from tuning.layout import TEST_RESULTS_CSV
from tuning.reports.tables import evaluated_columns
from tuning.store.files import read_text_csv


def search_metrics(score: str) -> list[str]:
    """The figures a search records of its best trial: the objective and the test scores."""
    return [score, "test_accuracy", "test_loss"]


@dataclass
class Found:
    """A search's best trial as its tuner/ state or its reports hold it."""

    trial_id: str
    hp: kt.HyperParameters  # the declared space, with the trial's active values
    names: list[str]  # the search space's names: the CSVs' value columns
    search: dict[str, float | None]  # its `search_metrics` in the search; None: not scored


def recorded_best(config: TuneConfig, score: str) -> Found:
    """The best trial of test_results.csv, its values typed by the search's declared space.

    Raises:
        TuningError: the file names no trial, or a value the search's code no longer declares.
    """
    path = config.results_dir / TEST_RESULTS_CSV
    rows = read_text_csv(path)
    if not rows:
        raise TuningError(f"{config.results_dir} has no completed trial to retrain")
    row = rows[0]  # the best trial; the columns after test_results.csv's own are the values
    names = list(row)[len(evaluated_columns([], score)) :]
    recorded = {name: row[name] for name in names if row[name] != ""}  # "": a name not active
    hp = declared(config, recorded)
    kinds = {h.name: h for h in hp.space}
    unknown = [name for name in recorded if name not in kinds]
    if unknown:
        raise TuningError(
            f"{path}: the search's code no longer declares {', '.join(unknown)}; restore "
            "that code, or run the search again"
        )
    try:  # only the active values, as KerasTuner keeps a trial's
        hp.values = {
            name: usercode.typed_value(kinds[name], text) for name, text in recorded.items()
        }
    except ValueError as e:
        raise TuningError(f"{path}: {e} in the search's code now; restore that code") from None
    search_scores = {m: None if row[m] == "" else float(row[m]) for m in search_metrics(score)}
    return Found(row["trial_id"], hp, names, search_scores)


def declared(config: TuneConfig, recorded: dict[str, str]) -> kt.HyperParameters:
    """The search's declared names and ranges, pins included, as its oracle held them.

    A user's HyperModel is built with the recorded values (typed by their looks), so that the
    names it declares only under them are declared too.
    """
    hp = search.declared_space(config)  # a built-in network's every name; a user's pins
    if config.user_hypermodel:
        looks = {name: by_looks(text) for name, text in recorded.items()}
        built = usercode.declared_space(config.user_spec, looks)
        hp.merge([h for h in built.space if h.name not in hp.values])
    return hp


def by_looks(text: str) -> object:
    """A cell's text as the int, float, bool or text it looks like."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)
