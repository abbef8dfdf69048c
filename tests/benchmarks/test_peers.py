import contextlib
import dataclasses
import io
import json
import subprocess
import sys

import optuna
import pytest

from benchmarks.peers import CONTENDERS, SEED
from benchmarks.peers.__main__ import chosen_contenders, main, parse_args
from benchmarks.peers.kerastuner import kerastuner_tuner
from benchmarks.peers.optuna_search import fixed_values, suggest
from benchmarks.peers.reference import reference_file, reference_key
from benchmarks.peers.report import table_lines
from benchmarks.peers.runs import task_of
from benchmarks.peers.setup import make_setup
from benchmarks.peers.tool import tune_command
from hypermodels import space

from helpers import JAX, REPO

# Trained end to end: the tool, the tool with KerasTuner's reading of trials, and Optuna.
# KerasTuner's three tuners share one code path, built below without training.
RUN = ["tool", "tool-kt-gp", "optuna"]
# The mlp on 300 images for 1 epoch a trial, validated on 1,000. A 3 s budget buys each a
# trial or more: every contender's first trial starts however long its start-up took.
TINY = ["--datasets", "mnist", "--hypermodel", "mlp", "--train-limit", "300", "--val-size"]
TINY += ["1000", "--max-epochs", "1", "--budget", "3s"]
# Under JAX: the benchmark's code is the same on every backend, and JAX starts in a third of
# TensorFlow's seconds in each of the runs' three processes (tune's, its trial's, Optuna's).
# The in-process checks below build KerasTuner's tuners under the session's TensorFlow.
# (The runs' environment: helpers.JAX.)
# The reference's made-up score: training it would be a fourth process.
REFERENCE = 0.5


def arguments(out, data_dir, contenders):
    return [*TINY, "--out", str(out), "--data-dir", str(data_dir), "--only", ",".join(contenders)]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, data_dir):
    """A finished tiny benchmark of RUN's contenders, the reference's cache laid beforehand.

    Run as users run it, from the repository root: a process for each contender (`--only`),
    all at once into the same folder, so that the test waits for the longest run, not for
    their sum. Each writes the report of what had finished by its end; a run of all
    (in-process: it only skips) then writes the report of all.
    """
    out = tmp_path_factory.mktemp("peers")
    key = reference_key(task_of(parse_args(TINY), "mnist", SEED))
    cache = {"task": key, "val_accuracy": REFERENCE, "test_accuracy": REFERENCE, "epochs": 1}
    reference_file(out, "mnist").parent.mkdir(parents=True)
    reference_file(out, "mnist").write_text(json.dumps(cache))
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.peers", *arguments(out, data_dir, [contender])],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
            env=JAX,
        )
        for contender in RUN
    ]
    outputs = [run.communicate(timeout=170)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * len(RUN), "\n".join(outputs)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(arguments(out, data_dir, RUN)) == 0
    return out


@pytest.mark.processes
@pytest.mark.parametrize("contender", RUN)
def test_each_contender_writes_a_timeline_and_a_test_accuracy(finished, contender):
    result = json.loads((finished / "runs" / "mnist" / f"{contender}-seed23.json").read_text())
    assert result["contender"] == contender
    assert result["task"]["dataset"] == "mnist" and result["task"]["budget"] == 3.0
    timeline = result["timeline"]
    assert timeline and result["trials"] >= len(timeline)
    assert all(0 < seconds <= result["seconds"] for seconds, _ in timeline)
    assert [s for s, _ in timeline] == sorted(s for s, _ in timeline)
    assert all(0 <= score <= 1 for _, score in timeline)
    assert result["best_val_accuracy"] == max(score for _, score in timeline)
    assert 0 <= result["test_accuracy"] <= 1
    assert result["training"]["input_pipeline"] is True  # the tool's fast path, for all
    assert not (finished / "work" / "mnist" / f"{contender}-seed23").exists()  # checkpoints


@pytest.mark.processes
@pytest.mark.parametrize(("contender", "reads_fidelity"), [("tool", True), ("tool-kt-gp", False)])
def test_the_tools_trials_are_kept_beside_its_result_with_its_rules(
    finished, contender, reads_fidelity
):
    runs = finished / "runs" / "mnist"
    result = json.loads((runs / f"{contender}-seed23.json").read_text())
    rows = (runs / f"{contender}-seed23.trials.csv").read_text().splitlines()
    assert rows[0].startswith("trial_id,status,val_accuracy,")
    assert len(rows) - 1 == result["trials"]
    epochs = (runs / f"{contender}-seed23.history.csv").read_text().splitlines()
    assert epochs[0].startswith("trial_id,epoch,")
    assert {e.split(",")[0] for e in epochs[1:]} == {r.split(",")[0] for r in rows[1:]}
    # As its search saved them: the variant's Gaussian process read trials as KerasTuner's.
    expected = {"fidelity_gp": reads_fidelity, "gp_normal_scores": reads_fidelity}
    expected["gp_rung_scores"] = False  # neither counts a trial at its rungs
    expected["gp_shared_rung"] = False  # nor fits them at one shared rung
    expected["gp_restart_seeds"] = True  # both start each proposal from its own points
    expected["rung_epochs"] = 3  # and both stop trials first at epoch 3, the default
    assert result["rules"] == expected


def test_the_tools_variants_run_through_the_notebook_with_their_rules(data_dir, tmp_path):
    task = task_of(parse_args(TINY), "mnist", SEED)
    assert tune_command(task, data_dir, tmp_path, "tool")[1:4] == ["-m", "tuning", "tune"]
    options = json.loads(tune_command(task, data_dir, tmp_path, "tool-rung-scores")[-1])
    assert options["gp_rung_scores"] is True and options["warm_start"] is False
    assert "fidelity_gp" not in options  # the default reading otherwise
    options = json.loads(tune_command(task, data_dir, tmp_path, "tool-shared-rung")[-1])
    assert options["gp_shared_rung"] is True and "gp_rung_scores" not in options
    options = json.loads(tune_command(task, data_dir, tmp_path, "tool-rung1")[-1])
    assert options["rung_epochs"] == 1 and "gp_shared_rung" not in options


def test_without_only_the_five_contenders_of_the_comparison_run():
    assert chosen_contenders(None) == ["tool", "bayesian", "hyperband", "optuna", "random"]
    assert chosen_contenders(["tool-kt-gp"]) == ["tool-kt-gp"]


@pytest.mark.processes
def test_the_report_has_every_contender_and_the_reference(finished):
    table = (finished / "peers.md").read_text()
    assert "3s of search each, 1 seed (23); on " in table
    for contender in RUN:
        assert f"| mnist | {CONTENDERS[contender]} | " in table
    assert f"| {REFERENCE:.4f} |" in table  # the cached reference, not a measured one
    rows = (finished / "peers.csv").read_text().splitlines()
    assert rows[0].startswith("dataset,contender,seed,trials,best_val_accuracy")
    assert sorted(row.split(",")[1] for row in rows[1:]) == sorted(RUN)
    assert (finished / "best_val_accuracy_mnist.png").stat().st_size > 0
    assert not (finished / "work").exists()  # every run's tuner files deleted once it was done


# The mean ± standard deviation of 0.9 and 0.8.
POOLED = "0.8500 ± 0.0707"


def test_a_row_pooling_fewer_runs_than_seeds_names_the_seeds_it_pools():
    def run(seed, score):
        task = {"seed": seed}
        return {"task": task, "trials": 4, "best_val_accuracy": score, "test_accuracy": score,
                "timeline": [[90.0, score]]}  # fmt: skip

    results = {"tool": [run(23, 0.9), run(1023, 0.8)], "optuna": [run(1023, 0.7)]}
    reference = {"val_accuracy": 0.85, "test_accuracy": 0.84}
    tool, optuna = table_lines("mnist", results, reference, [23, 1023])[1:]
    assert tool == f"| mnist | {CONTENDERS['tool']} | 4 | {POOLED} | 1.5 (1/2) | {POOLED} |"
    name = f"{CONTENDERS['optuna']} (seed 1023 only)"
    assert optuna == f"| mnist | {name} | 4 | 0.7000 | not reached (0/1) | 0.7000 |"


@pytest.mark.processes
def test_a_rerun_skips_the_finished_runs(finished, data_dir, capsys):
    saved = sorted(path for path in finished.rglob("*") if path.is_file())
    before = {path: path.read_bytes() for path in saved}
    assert main(arguments(finished, data_dir, RUN)) == 0
    out = capsys.readouterr().out
    assert "run mnist" not in out
    for contender in RUN:
        assert f"skip mnist {contender} seed 23: done" in out
    assert sorted(path for path in finished.rglob("*") if path.is_file()) == saved
    assert {path: path.read_bytes() for path in saved} == before  # the report's too


def test_optuna_suggests_within_the_declared_space():
    declared = space.search_space()
    ranges = {hp.name: hp for hp in declared.space}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        values = suggest(study.ask(), declared)
        assert set(values) == set(space.NAMES)
        for name in ("l1", "l2", "batch_size"):
            assert values[name] in ranges[name].values
        for name in ("augment_factor", "dropout", "learning_rate"):
            assert ranges[name].min_value <= values[name] <= ranges[name].max_value
        assert values["dropout"] * 10 == pytest.approx(round(values["dropout"] * 10))  # step 0.1
        hp = fixed_values(declared, values)
        assert space.learning_rate(hp) == values["learning_rate"]  # the build reads them


@pytest.fixture(scope="module")
def setup(tmp_path_factory, data_dir):
    """A peer's setup of the tiny task: the tool's data, hypermodel and space, loaded once."""
    task = dataclasses.asdict(task_of(parse_args(TINY), "mnist", SEED))
    work = tmp_path_factory.mktemp("kerastuner")
    return make_setup({"task": task, "data_dir": str(data_dir), "work": str(work), "launched": 0})


@pytest.mark.parametrize("contender", ["bayesian", "random", "hyperband"])
def test_kerastuner_contenders_search_the_tools_space(setup, contender):
    import keras_tuner as kt

    work = setup.work / contender
    tuner = kerastuner_tuner(contender, dataclasses.replace(setup, work=work))
    oracles = {
        "bayesian": kt.oracles.BayesianOptimizationOracle,
        "random": kt.oracles.RandomSearchOracle,
        "hyperband": kt.oracles.HyperbandOracle,
    }
    assert type(tuner.oracle) is oracles[contender]
    assert [hp.name for hp in tuner.oracle.hyperparameters.space][:6] == list(space.NAMES)
    assert tuner.hypermodel.path.input_pipeline  # the tool's fast path
    assert tuner.project_dir.startswith(str(work))
    if contender == "bayesian":  # as the course runs it: KerasTuner's own initial points
        assert tuner.oracle.num_initial_points is None


def test_an_unknown_contender_is_refused_before_anything_runs(tmp_path, data_dir):
    with pytest.raises(SystemExit, match="unknown contender grid"):
        main(arguments(tmp_path, data_dir, ["tool", "grid"]))
    assert not list(tmp_path.iterdir())
