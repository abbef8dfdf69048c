"""`tuning.tune(...)`: a search from Python, its results as DataFrames and a Keras model.

The keyword arguments are the `tune` command's options (`max_trials=10`,
`time_budget="45m"`, `pins={"dropout": 0.5}`, ...). Arrays are written once into the
results dir as an `.npz`, so trial processes, a resume and `report` read them like any other
source. A model defined in a notebook cell cannot be imported by another process: its
trials run in this one, and a resume needs the same object passed again (issue 25).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import tuning
from hypermodels import user
from tuning.config import TuneConfig
from tuning.errors import TuningError
from tuning.layout import BEST_MODEL, HISTORY_CSV, TEST_RESULTS_CSV, TRIALS_CSV
from tuning.pins import parse_pins
from tuning.settings import value_from_data
from tuning.store.files import write_atomic

ARRAYS_NAME = "arrays"  # results/arrays/, arrays.npz: the name in-memory data goes by
Arrays = tuple[np.ndarray, ...] | Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Result:
    """A search's results folder, read back: its tables, and its best model."""

    results_dir: Path
    summary: str  # what the command line prints at the end

    @property
    def trials(self) -> pd.DataFrame:
        """trials.csv: one row per trial, its status, score and values."""
        return pd.read_csv(self.results_dir / TRIALS_CSV, dtype={"trial_id": str})

    @property
    def test_results(self) -> pd.DataFrame:
        """test_results.csv: the best trials scored on the test set, best first."""
        return pd.read_csv(self.results_dir / TEST_RESULTS_CSV, dtype={"trial_id": str})

    @property
    def history(self) -> pd.DataFrame:
        """history.csv: every epoch of every trial."""
        return pd.read_csv(self.results_dir / HISTORY_CSV, dtype={"trial_id": str})

    def best_model(self):
        """The best trial's model (best_model.keras), compiled, with its best epoch's weights.

        Its `class_names` attribute holds the names of its output's classes, in order.
        """
        import keras

        from tuning.reports.best_model import class_names

        path = self.results_dir / BEST_MODEL
        if not path.exists():
            raise TuningError(f"{self.results_dir} has no {BEST_MODEL}: no trial finished")
        model = keras.saving.load_model(path)
        model.class_names = class_names(path)
        return model

    def __repr__(self) -> str:
        return f"Result({str(self.results_dir)!r})"


def tune(
    dataset: str | Path | Arrays,
    *,
    model: Callable | str | None = None,
    hypermodel: object = "cnn",
    pins: Mapping[str, object] | None = None,
    **options,
) -> Result:
    """Run or resume a search, as `python -m tuning tune` does; return its results.

    `dataset`: a built-in name, an `.npz` file or image folder, or arrays as
    `(x_train, y_train, x_test, y_test)` or a dict that may add `x_val` and `y_val`.
    `model`: a function `(input_shape, num_classes) -> keras.Model`, or `FILE.py:NAME`.
    `hypermodel`: `cnn`, `mlp`, or a KerasTuner HyperModel (class, instance or `build(hp)`).
    `pins`: `--set` as a dict. Any other keyword is a `tune` option, named as in Python.

    Raises:
        TuningError: bad input, with the command line's one-line message.
        KeyboardInterrupt: interrupted (in Jupyter too); finished trials are kept, and the same
            call resumes the search.
    """
    options = {**checked_options(options), **as_specs(model, hypermodel)}
    if not isinstance(dataset, str | Path):
        results_dir = Path(options.get("results_dir") or Path("results") / ARRAYS_NAME)
        options["results_dir"] = results_dir
        dataset = write_arrays(dataset, results_dir / f"{ARRAYS_NAME}.npz")
    config = TuneConfig(dataset=str(dataset), **options)
    config.check_network()
    if user.in_this_process_only(config.user_spec):
        print(
            f"note: {config.user_spec} exists only in this process "
            "(defined in a notebook or script): its trials run in this process"
        )
        config = dataclasses.replace(config, in_process=True)
    config = dataclasses.replace(config, pins=typed_pins(config, pins or {}))
    tuning.import_backend_quietly()
    from tuning.commands.tune import tune as run

    summary = run(config)
    return Result(config.resolve().results_dir, summary)


def checked_options(options: Mapping[str, object]) -> dict:
    """The keywords as `tune`'s options, each checked and converted as its command-line text.

    None leaves unset what is unset by default (`time_budget=None`). A rule that no option
    sets (`fidelity_gp`, ...) must be True or False where its default is: `"no"` would read
    as true.

    Raises:
        TuningError: a keyword is no option, or its value is one the command line refuses.
    """
    fields = {f.name: f for f in dataclasses.fields(TuneConfig)}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise TuningError(f"tune() got unknown options: {', '.join(unknown)}")
    checked = {}
    for name, value in options.items():
        option, default = fields[name].metadata["option"], fields[name].default
        label = f"tune() option {name}"
        if value is None and default is None:  # unset, as when the option is left out
            checked[name] = None
        elif option is not None:
            checked[name] = value_from_data(label, value, option)
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise TuningError(f"{label} must be True or False, got {value!r}")
        else:
            checked[name] = value
    return checked


def as_specs(model: Callable | str | None, hypermodel: object) -> dict[str, str | None]:
    """The `model` and `hypermodel` settings for objects: the names they are imported by."""
    specs = {}
    if model is not None:
        specs["model"] = model if isinstance(model, str) else user.register(model)
    if isinstance(hypermodel, str):
        specs["hypermodel"] = hypermodel
    else:
        specs["hypermodel"] = user.register(hypermodel)
    return specs


def typed_pins(config: TuneConfig, pins: Mapping[str, object]) -> dict:
    """`pins` checked as `--set` would check them; a user's HyperModel's are checked later."""
    if config.user_hypermodel:
        return dict(pins)
    texts = [f"{name}={value}" for name, value in pins.items()]
    return parse_pins(texts, space=config.space, hypermodel=config.hypermodel)


def write_arrays(arrays: Arrays, path: Path) -> Path:
    """Arrays as an `.npz` in the results dir, the layout `--dataset FILE.npz` reads.

    Written once: the same arrays again (a resume) leave the file as it is.
    """
    if not isinstance(arrays, Mapping):
        if not isinstance(arrays, Sequence):
            raise TuningError(
                "dataset= takes a built-in name, a path, (x_train, y_train, x_test, y_test) "
                f"or a dict of arrays; got {type(arrays).__name__}"
            )
        if len(arrays) != 4:
            raise TuningError(
                "dataset= takes (x_train, y_train, x_test, y_test), or a dict of those and "
                f"x_val, y_val; got a sequence of {len(arrays)}"
            )
        arrays = dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays, strict=True))
    arrays = {key: np.asarray(value) for key, value in arrays.items()}
    if path.exists():
        with np.load(path, allow_pickle=False) as saved:
            same = set(saved.files) == set(arrays) and all(
                np.array_equal(saved[key], value) for key, value in arrays.items()
            )
        if same:
            return path
    write_atomic(path, lambda f: np.savez(f, **arrays))
    return path
