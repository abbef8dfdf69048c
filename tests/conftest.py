"""Shared fixtures: the offline datasets and one real tiny search reused by many tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import tuning

# The helpers import Keras. Import its backend first as the CLI does, with TensorFlow's C++
# start-up lines kept off stderr, or pytest's main process prints them after its summary.
tuning.import_backend_quietly()

from tuning.cli.main import main  # noqa: E402
from tuning.idx import DATA_DIR_ENV  # noqa: E402

from helpers import REPO, tune_args  # noqa: E402


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder holding mnist/ and fashion-mnist/ IDX files (CI: ../shared/datasets)."""
    folder = REPO / (os.environ.get(DATA_DIR_ENV) or REPO.parent / "shared" / "datasets")
    assert (folder / "mnist").is_dir(), f"no datasets at {folder}; set {DATA_DIR_ENV}"
    return folder.resolve()


@pytest.fixture(scope="session")
def tiny_search(tmp_path_factory, data_dir) -> Path:
    """A finished 2-trial x 2-epoch mlp search on MNIST; copy it before changing anything."""
    results = tmp_path_factory.mktemp("tiny") / "mnist"
    status = main(tune_args(results, data_dir, "--max-trials", "2", "--max-epochs", "2"))
    assert status == 0
    return results


@pytest.fixture
def search_copy(tiny_search, tmp_path) -> Path:
    """A private copy of the tiny search that a test may resume, extend or break."""
    return Path(shutil.copytree(tiny_search, tmp_path / "mnist"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the files that start processes of their own first, the light ones last.

    The two workers take whole files (`--dist loadfile`) from one queue; by default xdist
    orders it by tests per file, so the one-test chaos file (the suite's longest test) came
    last and ran alone while the other worker idled. Heavy files first lets the many light
    ones even out the end (`--no-loadscope-reorder` keeps this order).
    """
    heavy = {item.path for item in items if item.get_closest_marker("processes")}
    items.sort(key=lambda item: item.path not in heavy)  # stable: file order kept within
