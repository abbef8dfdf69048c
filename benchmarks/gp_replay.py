"""Replay a search's trials: what the Gaussian process would propose after each, read five ways.

For every trial the GP chose (each after the random start), a fresh oracle with the seed of
the search is given the trials that ended before it, as trials.csv has them, and asked for
its next trial under each reading of the scores:

- KerasTuner's: raw scores, a trial stopped early read as finished;
- fidelity: raw scores, each trial at the fidelity (epochs) it reached;
- fidelity and normal scores: the same, the scores by rank (the default of `tune`);
- rung scores: the same, each trial also at every rung it passed, with its best score by
  then, where the trials' epochs lie beside trials.csv, in its history.csv
  (`X.history.csv` beside `X.trials.csv`);
- highest shared rung: as BOHB (Falkner et al., ICML 2018) fits its model, the values
  alone, each trial's best score by the highest rung (or the last epoch) that one trial
  more than there are searched names reached, normal scores (`gp_shared_rung`,
  tuning.engine.gpdata; history.csv needed too).

A proposal is counted as a corner when two or more of its values lie at an edge of their
range (a choice's 0, its off value, not counted): the mark of a GP whose uncertainty term
outweighs what it has learnt; as a repeat, a proposal some earlier trial ran (the search takes
its next-ranked restart instead). No model is trained: this measures how each reading proposes
on one history, not which finds better models. Run it from the repository root, e.g.

    .venv/bin/python -m benchmarks.gp_replay \
        results/peers-before-normal-scores/runs/mnist/tool-seed23.trials.csv \
        --dataset mnist --max-epochs 20
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

import tuning
from tuning.config import TuneConfig
from tuning.layout import RECORD_FILE
from tuning.store.files import write_json_atomic
from tuning.trialstate import TrialState

SHARED_RUNG = "highest shared rung"
READINGS = {  # name: (fidelity, normal scores, rung scores, shared rung)
    "KerasTuner's": (False, False, False, False),
    "fidelity": (True, False, False, False),
    "fidelity + normal scores": (True, True, False, False),
    "rung scores": (True, True, True, False),
    SHARED_RUNG: (True, True, False, True),
}
NEEDS_HISTORY = ("rung scores", SHARED_RUNG)


def main(argv: list[str] | None = None) -> None:
    """Replay the trials.csv given, print each step's proposals and the corners counted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trials", type=Path, help="a search's trials.csv")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--hypermodel", default="cnn")
    parser.add_argument("--space", default="card", choices=("card", "full"))
    parser.add_argument("--max-epochs", type=int, required=True)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--initial-points", type=int, default=3)
    parser.add_argument(
        "--kerastuner-restarts",
        action="store_true",
        help="start the acquisition's restarts from KerasTuner's first draws, the same for "
        "every trial, as searches saved before the seeded restarts did",
    )
    args = parser.parse_args(argv)
    tuning.import_backend_quietly()  # before KerasTuner imports it, which logs to the console
    rows = pd.read_csv(args.trials, dtype={"trial_id": str})
    rows = rows[rows.status.isin([TrialState.COMPLETED, TrialState.STOPPED_EARLY])]
    epochs = history_beside(args.trials)
    readings = {
        name: rule
        for name, rule in READINGS.items()
        if epochs is not None or name not in NEEDS_HISTORY
    }
    if epochs is None:
        name = args.trials.name.replace("trials", "history")
        print(f"no {name} beside it: no rung scores, no shared rung")
    corners, repeats = dict.fromkeys(readings, 0), dict.fromkeys(readings, 0)
    with tempfile.TemporaryDirectory() as folder:
        for step in range(args.initial_points, len(rows)):
            ran = rows.iloc[step]
            print(f"after {step} trials (the search ran {ran.trial_id}: {ran.val_accuracy:.4f})")
            for name, (fidelity, normal, rungs, shared) in readings.items():
                config = TuneConfig(
                    args.dataset,
                    hypermodel=args.hypermodel,
                    space=args.space,
                    max_epochs=args.max_epochs,
                    seed=args.seed,
                    warm_start=False,
                    fidelity_gp=fidelity,
                    gp_normal_scores=normal,
                    gp_rung_scores=rungs,
                    gp_shared_rung=shared,
                    gp_restart_seeds=not args.kerastuner_restarts,
                    results_dir=Path(folder) / f"{step}-{name}",
                )
                ended = rows.iloc[:step]
                proposal, space, tried = propose(config.resolve(), ended, epochs, ran.trial_id)
                edges = at_edges(space, proposal)
                corners[name] += len(edges) >= 2
                repeats[name] += tried
                seen = "  (a repeat)" if tried else ""
                print(f"  {name:25s} {values_of(proposal)}  edges: {', '.join(edges) or '-'}{seen}")
    steps = len(rows) - args.initial_points
    for name, count in corners.items():
        print(
            f"{name}: {count} of {steps} proposals with 2 or more values at an edge, "
            f"{repeats[name]} repeats"
        )


def history_beside(trials: Path) -> pd.DataFrame | None:
    """The history.csv beside a trials.csv (`X.history.csv` beside `X.trials.csv`), if any."""
    path = trials.with_name(trials.name.replace("trials.csv", "history.csv"))
    return pd.read_csv(path, dtype={"trial_id": str}) if path.exists() else None


def propose(
    config: TuneConfig, ended: pd.DataFrame, epochs: pd.DataFrame | None, trial_id: str
) -> tuple[dict, list, bool]:
    """What a fresh oracle of `config` proposes for `trial_id` after the trials `ended`.

    `epochs`: their history.csv rows, if known. The values, the searched space, and whether
    one of `ended` ran those values.
    """
    import keras_tuner as kt

    from tuning.engine.search import make_tuner

    oracle = make_tuner(config).oracle
    space = oracle.searched_space()
    for row in ended.itertuples():
        hp = oracle.hyperparameters.copy()
        for declared in space:
            value = getattr(row, declared.name)
            kind = type(declared.default)
            hp.values[declared.name] = declared.default if pd.isna(value) else kind(value)
        trial = kt.engine.trial.Trial(hp, trial_id=row.trial_id, status=TrialState.COMPLETED)
        trial.score = row.val_accuracy
        oracle.trials[row.trial_id] = trial
        folder = oracle.trial_dir(row.trial_id)
        folder.mkdir(parents=True, exist_ok=True)
        stopped = row.reason if row.status == TrialState.STOPPED_EARLY else None
        record = {"epochs": int(row.epochs), "stopped_early": stopped}
        if epochs is not None:
            own = epochs[epochs.trial_id == row.trial_id].sort_values("epoch")
            record["history"] = own.drop(columns=["trial_id", "epoch"]).to_dict("records")
        write_json_atomic(folder / RECORD_FILE, record)
    proposal = next(oracle.ranked_proposals(trial_id))
    return proposal, space, oracle.is_tried(proposal)


def at_edges(space: list, values: dict) -> list[str]:
    """The names whose value lies at an edge of its range; a choice's 0 (off) is not one."""
    import keras_tuner as kt

    edges = []
    for hp in space:
        value = values[hp.name]
        if isinstance(hp, kt.engine.hyperparameters.Choice):
            ends = {hp.values[0], hp.values[-1]} - {0}
        else:
            ends = {hp.min_value, hp.max_value}
        if value in ends:
            edges.append(hp.name)
    return edges


def values_of(values: dict) -> str:
    """Values in short form, one `name=value` each."""
    return " ".join(f"{name}={value:.3g}" for name, value in values.items())


if __name__ == "__main__":
    main()
