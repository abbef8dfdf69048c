"""Shared fixtures: the offline datasets and one real tiny search reused by many tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tuning.cli.main import main
from tuning.data import DATA_DIR_ENV

from helpers import REPO, tune_args


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
