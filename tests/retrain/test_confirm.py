"""`confirm`: the best configuration retrained with other seeds, for real on the tiny search."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from tuning.cli.main import main
from tuning.retrain.confirm import confirm_seeds


@pytest.fixture(scope="module")
def confirmed(tiny_search, tmp_path_factory, data_dir):
    """A copy of the tiny search confirmed with 2 seeds of 1 epoch, and what confirm printed."""
    results = shutil.copytree(tiny_search, tmp_path_factory.mktemp("confirmed") / "mnist")
    args = ["confirm", str(results), "--data-dir", str(data_dir), "--max-epochs", "1"]
    assert main([*args, "--seeds", "2"]) == 0
    return results, args


def test_confirm_csv_has_one_row_per_seed(confirmed):
    results, _ = confirmed
    frame = pd.read_csv(results / "confirm.csv", dtype={"trial_id": str})
    best_id = pd.read_csv(results / "test_results.csv", dtype={"trial_id": str}).trial_id[0]
    trial_seed = 23 + int(best_id)
    assert list(frame.seed) == confirm_seeds(trial_seed, 2)
    assert frame.seed.is_unique and trial_seed not in set(frame.seed)
    assert (frame.trial_id == best_id).all() and (frame.max_epochs == 1).all()
    assert frame.test_accuracy.between(0, 1).all() and (frame.epochs == 1).all()
    # Two seeds train two different models.
    assert frame.val_accuracy.iloc[0] != frame.val_accuracy.iloc[1]


def test_confirm_rebuilds_the_page_with_its_tables(confirmed):
    results, _ = confirmed
    page = (results / "report.html").read_text()
    assert "<h2>Confirmed with other seeds</h2>" in page
    seeds = pd.read_csv(results / "confirm.csv").seed
    assert all(f"<td>{seed}</td>" in page for seed in seeds)


def test_summary_is_the_mean_and_std_of_the_rows(confirmed):
    results, _ = confirmed
    frame = pd.read_csv(results / "confirm.csv")
    summary = pd.read_csv(results / "confirm_summary.csv").set_index("metric")
    tested = pd.read_csv(results / "test_results.csv")
    for metric in ("val_accuracy", "test_accuracy", "test_loss"):
        assert summary.loc[metric, "runs"] == 2
        assert summary.loc[metric, "mean"] == pytest.approx(frame[metric].mean())
        assert summary.loc[metric, "std"] == pytest.approx(frame[metric].std())
        assert summary.loc[metric, "min"] == pytest.approx(frame[metric].min())
    assert summary.loc["test_accuracy", "search"] == pytest.approx(tested.test_accuracy[0])
    assert summary.loc["val_accuracy", "search"] == pytest.approx(tested.val_accuracy[0])


def test_fewer_seeds_on_a_rerun_keeps_the_first_without_training(confirmed, tmp_path, capsys):
    results, args = confirmed
    copy = shutil.copytree(results, tmp_path / "mnist")
    first = pd.read_csv(copy / "confirm.csv").iloc[:1]
    assert main([args[0], str(copy), *args[2:], "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    assert "training" not in out and "dropped 1 row(s) of other settings" in out
    assert "test_accuracy: mean" in out and "std n/a (one seed)" in out
    # Seconds that happen to be whole read back as int64 from one row: compare values only.
    pd.testing.assert_frame_equal(pd.read_csv(copy / "confirm.csv"), first, check_dtype=False)


def test_zero_seeds_is_refused(search_copy, capsys):
    assert main(["confirm", str(search_copy), "--seeds", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: argument --seeds: must be 1 or more, got 0"
    assert not (search_copy / "confirm.csv").exists()


def test_confirm_help_documents_its_options(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["confirm", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for word in ("RESULTS_DIR", "--seeds", "--data-dir", "--max-epochs", "confirm.csv"):
        assert word in text


def test_reports_alone_keep_the_finished_rows(confirmed, tmp_path, capsys):
    # Published and copied results leave tuner/ out: the best trial's values come from
    # test_results.csv, and they are the state's values, so every finished row is kept.
    results, args = confirmed
    copy = shutil.copytree(results, tmp_path / "mnist")
    shutil.rmtree(copy / "tuner")
    written = {name: (copy / name).read_bytes() for name in ("confirm.csv", "confirm_summary.csv")}
    assert main([args[0], str(copy), *args[2:], "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "has no tuner/ state" in out and "training" not in out
    assert out.count("kept from confirm.csv") == 2
    assert {name: (copy / name).read_bytes() for name in written} == written
