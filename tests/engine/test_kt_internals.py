"""The installed KerasTuner has every private member tuning/kt_internals.py relies on."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import keras_tuner as kt
import pytest

from tuning.engine import kt_internals

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def owners(tmp_path_factory) -> dict[str, object]:
    """A real object of each class named in PRIVATE_MEMBERS, as KerasTuner makes them."""
    hp = kt.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    oracle = kt.oracles.BayesianOptimizationOracle(
        objective="val_accuracy", max_trials=1, hyperparameters=hp
    )
    tuner = kt.Tuner(
        oracle=oracle,
        hypermodel=lambda hp: None,
        directory=str(tmp_path_factory.mktemp("kt")),
        project_name="p",
    )
    return {
        "BayesianOptimizationOracle": oracle,
        "Tuner": tuner,
        "OracleServicer": kt_internals.OracleServicer(oracle),
    }


@pytest.mark.parametrize(("owner", "member"), kt_internals.PRIVATE_MEMBERS, ids=".".join)
def test_installed_kerastuner_has_the_member(owners, owner, member):
    where = owners[owner] if owner in owners else importlib.import_module(owner)
    assert hasattr(where, member), (
        f"KerasTuner {kt.__version__} has no {owner}.{member} "
        f"(tuning/kt_internals.py was checked against {kt_internals.CHECKED_VERSION})"
    )


def kerastuner_private_names() -> set[str]:
    """Every `_name` KerasTuner's own source defines: its private methods and attributes."""
    names = set()
    for path in Path(kt.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) or (
                isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
            ):
                name = node.name if isinstance(node, ast.FunctionDef) else node.attr
                if name.startswith("_") and not name.startswith("__"):
                    names.add(name)
    return names


def private_uses(path: Path, private: set[str]) -> list[str]:
    """`keras_tuner.src` imports, and `._name` attributes KerasTuner defines, in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keras_tuner.src"):
            found.append(f"from {node.module}")
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("keras_tuner.src")]
        elif isinstance(node, ast.Attribute) and node.attr in private:
            found.append(f".{node.attr}")
    return found


def test_no_other_module_reaches_into_kerastuner():
    private = kerastuner_private_names()
    assert {"_retry_queue", "_save_trial", "_is_worker"} <= private  # the scan sees them
    offenders = {
        str(path.relative_to(ROOT)): uses
        for path in sorted([*ROOT.glob("tuning/**/*.py"), *ROOT.glob("hypermodels/**/*.py")])
        if path.name != "kt_internals.py" and (uses := private_uses(path, private))
    }
    assert offenders == {}
