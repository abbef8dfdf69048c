"""Load once: a search's data, checked and split, saved as `.npy` files in its results dir.

`tune` reads and checks the source once and writes the arrays here; every other process of
the search (each trial, a worker, `report`, `ablate`, `confirm`) memory-maps them instead of
reading, decoding and checking the source again (issue 24: a CIFAR-10-sized set must add
under 1 s to a trial's start). Data given as arrays from Python has no other copy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tuning.config import TuneConfig
from tuning.data import hold_out, load_dataset
from tuning.errors import DataError
from tuning.experiment import Experiment
from tuning.layout import DATA_DIR
from tuning.sources import Dataset
from tuning.store.files import read_json, write_atomic, write_json_atomic

MANIFEST = "data.json"
ARRAYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def prepared_key(config: TuneConfig, experiment: Experiment) -> dict:
    """What prepared arrays must match to serve a search: the data, and how it was split."""
    digest = experiment.source.get("digest")
    return {"digest": digest, "val_size": config.val_size, "seed": config.seed}


def write_prepared(results_dir: Path, dataset: Dataset, key: dict) -> None:
    """Save a held-out dataset's arrays under `results_dir/data/`, unless already there.

    The manifest goes last, so arrays without a manifest that matches are never read: a kill
    mid-write leaves only files the next write replaces.
    """
    folder = results_dir / DATA_DIR
    if read_prepared(results_dir, key) is not None:
        return
    (folder / MANIFEST).unlink(missing_ok=True)
    for name in ARRAYS:
        array = getattr(dataset, name)
        write_atomic(folder / f"{name}.npy", lambda f, a=array: np.save(f, a))
    manifest = {
        **key,
        "name": dataset.name,
        "class_names": list(dataset.class_names),
        "source": dataset.source,
    }
    write_json_atomic(folder / MANIFEST, manifest)


def read_prepared(results_dir: Path, key: dict | None = None) -> Dataset | None:
    """The prepared dataset of `results_dir`, memory-mapped; None if absent or for another key."""
    folder = results_dir / DATA_DIR
    manifest = read_json(folder / MANIFEST)
    if manifest is None or (key is not None and any(manifest.get(k) != v for k, v in key.items())):
        return None
    try:
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
    except (OSError, ValueError):
        return None
    return Dataset(
        manifest["name"],
        arrays["x_train"],
        arrays["y_train"],
        arrays["x_test"],
        arrays["y_test"],
        tuple(manifest["class_names"]),
        manifest["source"],
        arrays["x_val"],
        arrays["y_val"],
    )


def search_data(config: TuneConfig, experiment: Experiment) -> Dataset:
    """The held-out data of a saved search: its prepared arrays, else the source read again.

    A search saved before data was prepared (or whose `data/` was deleted) reads its source,
    which must still hold the data it was searched on where run.json has its digest.

    Raises:
        DataError: the source cannot be read, or holds other data than the search's.
    """
    digest = experiment.source.get("digest")  # none in searches saved before it existed
    prepared = read_prepared(
        config.results_dir, prepared_key(config, experiment) if digest else None
    )
    if prepared is not None:
        return prepared
    dataset = load_dataset(config.dataset, config.data_dir, config.image_size)
    if digest and dataset.source["digest"] != digest:
        raise DataError(
            f"{config.results_dir} was searched on other data than {config.dataset} holds now "
            f"(digest {digest[:12]}, now {dataset.source['digest'][:12]}), and its own copy "
            f"under {DATA_DIR}/ is gone: restore the data it was searched on"
        )
    return hold_out(dataset, config.val_size, config.seed)
