"""The tool's search against the searches a user would pick instead, on one task and clock.

Five contenders search the same space of the same network on the same data, with the same
seeds and the same wall-clock budget, one after another on this machine, each in its own
process (so imports and compiles count alike):

- `tool`: `python -m tuning tune` without its warm start (`--no-warm-start`), its budget
  given as `--time-budget`;
- `bayesian`: KerasTuner's BayesianOptimization as the course runs it: its defaults, no
  early stopping of trials (each trains to its EarlyStopping end, up to --max-epochs);
- `hyperband`: KerasTuner's Hyperband (factor 3), brackets repeated until the budget ends;
- `optuna`: Optuna's TPE sampler with its SuccessiveHalvingPruner, val_accuracy reported
  after every epoch;
- `random`: KerasTuner's RandomSearch.

Four more contenders run only when named (`--only tool-kt-gp,tool-rung-scores,...`), to
measure in real searches what a rule of the tool buys, everything else the same:
`tool-kt-gp`, this tool with its Gaussian process reading every trial as KerasTuner's does
(a trial stopped at a rung as a finished one, the raw scores), `tool-rung-scores`, this
tool counting each trial at every rung it passed as well as at its end, `tool-shared-rung`,
this tool fitting the values alone at the highest rung enough trials share, as BOHB does,
and `tool-rung1`, this tool with successive halving's first rung at epoch 1 (rungs 1, 3,
9), as Optuna's pruner looks from the first epoch. They run through the notebook's
`tuning.tune`, with `fidelity_gp=False, gp_normal_scores=False`, with
`gp_rung_scores=True`, with `gp_shared_rung=True` and with `rung_epochs=1`.

Every contender trains through the tool's own hypermodel on its fast path at the precision
`auto` picks, with the callbacks every trial of `tune` gets (ReduceLROnPlateau,
EarlyStopping with the best epoch's weights, TerminateOnNaN), on the tool's own data split:
only the search differs. No contender is warm-started. The budget counts as `tune` counts
its --time-budget, from the start of the search (after the imports and the data): once
spent no trial starts, and the running one stops at the end of its epoch, counting with the
best epoch it reached.

Each run's timeline (seconds since its process started, each trial's val_accuracy as it
ended) and its best trial's test accuracy (best epoch's weights) go to
<out>/runs/<dataset>/<contender>-seed<seed>.json, written when the run is done: a rerun
skips finished runs. The tool's trials.csv and history.csv go beside it
(`tool-seed<seed>.trials.csv`, `.history.csv`), for `python -m benchmarks.gp_replay` and
for any reading of each trial's score epoch by epoch. The course's configuration (the
tool's warm start, one trial) is trained once per dataset as the reference
(<out>/reference/). The report:
peers.md (the table for docs/speed.md), peers.csv (a row per run) and
best_val_accuracy_<dataset>.png (running best against minutes, a line per contender and
seed).

Optuna comes with the `bench` extra. Run it from the repository root with the Python that
runs `tune`, e.g.

    .venv/bin/python -m pip install -e '.[bench]'
    .venv/bin/python -m benchmarks.peers --datasets mnist,fashion-mnist --budget 15m

which takes about 5 contenders x 2 datasets x 15 min, plus start-ups, the two reference
trainings and the test evaluations: some 3 hours on 2 cores.
"""

# The package's modules, each importing only those above it:
#   __init__      the contenders, the task, the constants
#   runs          a run's files, its result and its summary line
#   tool          `tune` as a contender, read back from its folder
#   reference     the course's configuration, trained once per dataset
#   report        peers.md, peers.csv and the figures
#   setup         a peer's own process: the tool's data, hypermodel, callbacks, clock
#   kerastuner    KerasTuner's three tuners on that clock
#   optuna_search Optuna's TPE with successive halving on that clock
#   child         a peer's own process: its search, its result
#   __main__      the command line: plan the runs, run what is missing, report
# No module imports Keras, KerasTuner or Optuna at its top: the parent process never loads
# them; each run's process does, in the functions of setup, kerastuner and optuna_search.

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONTENDERS: dict[str, str] = {
    "tool": "this tool (tune, no warm start)",
    "bayesian": "KerasTuner BayesianOptimization",
    "hyperband": "KerasTuner Hyperband",
    "optuna": "Optuna TPE + successive halving",
    "random": "KerasTuner RandomSearch",
    "tool-kt-gp": "this tool, its GP reading trials as KerasTuner's",
    "tool-rung-scores": "this tool, its GP counting each trial at every rung it passed",
    "tool-shared-rung": "this tool, its GP fitted at the highest rung trials share (BOHB)",
    "tool-rung1": "this tool, its first rung at epoch 1",
}
# The searches users would pick instead, and this tool: what a run without --only compares.
DEFAULT_CONTENDERS = ("tool", "bayesian", "hyperband", "optuna", "random")
# The tool's runs, by contender: the settings their `tune` gets beyond the task's.
TOOL_RULES: dict[str, dict] = {
    "tool": {},
    "tool-kt-gp": {"fidelity_gp": False, "gp_normal_scores": False},
    "tool-rung-scores": {"gp_rung_scores": True},
    "tool-shared-rung": {"gp_shared_rung": True},
    "tool-rung1": {"rung_epochs": 1},
}
DATASETS = ("mnist", "fashion-mnist")
# The tool's default seed. Further seeds lie far apart: every trial trains with the run's
# seed plus its number (as `tune` seeds them), so no two runs share a training seed.
SEED, SEED_STEP = 23, 1000
# As many trials as a budget buys: `tune`'s own cap with a time budget (tuning.config).
MAX_TRIALS = 999


@dataclass(frozen=True)
class Task:
    """What every contender of one run is given: the data, the network, epochs and clock."""

    dataset: str
    seed: int
    budget: float
    max_epochs: int
    train_limit: int
    val_size: int | None
    hypermodel: str

    def settings(self) -> dict:
        """The task as `TuneConfig` fields: all but the budget, which each search counts."""
        return {k: v for k, v in asdict(self).items() if k != "budget"}

    def tune_options(self, data_dir: Path) -> dict:
        """The settings of `tune_args` as keywords of `tuning.tune`, the notebook's `tune`."""
        options = {**self.settings(), "data_dir": str(data_dir), "top_n": 1}
        return {**options, "quiet": True, "overwrite": True}

    def tune_args(self, data_dir: Path) -> list[str]:
        """The `tune` options that set this task (the search's own options apart)."""
        args = ["--dataset", self.dataset, "--data-dir", str(data_dir), "--seed", str(self.seed)]
        args += ["--train-limit", str(self.train_limit), "--max-epochs", str(self.max_epochs)]
        args += ["--hypermodel", self.hypermodel, "--top-n", "1", "--quiet", "--overwrite"]
        return args + ([] if self.val_size is None else ["--val-size", str(self.val_size)])


class RunFailed(Exception):
    """A run's process failed; its log says why."""
