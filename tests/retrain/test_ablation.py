"""`ablate`: every technique switched off in turn, retrained for real on the tiny search."""

from __future__ import annotations

import base64
import shutil

import matplotlib.image
import pandas as pd
import pytest

from tuning.cli.main import main
from tuning.retrain.ablation import VARIANTS, ablation_rows
from tuning.retrain.best import best_configuration

from helpers import read_csv

TECHNIQUES = ["augment_factor", "dropout", "l1", "l2"]
OTHERS = ["learning_rate", "batch_size"]


@pytest.fixture(scope="module")
def ablated(tiny_search, tmp_path_factory, data_dir):
    """A copy of the tiny search, ablated with 1 epoch per variant, and what ablate printed."""
    results = shutil.copytree(tiny_search, tmp_path_factory.mktemp("ablated") / "mnist")
    args = ["ablate", str(results), "--data-dir", str(data_dir), "--max-epochs", "1"]
    assert main(args) == 0
    return results, args


def test_ablation_csv_has_every_variant_with_scores(ablated):
    results, _ = ablated
    frame = read_csv(results / "ablation.csv")
    assert list(frame.columns[:5]) == [
        "variant",
        "val_accuracy",
        "test_loss",
        "test_accuracy",
        "epochs",
    ]
    assert list(frame.variant) == list(VARIANTS)
    assert frame.test_accuracy.between(0, 1).all() and frame.val_accuracy.between(0, 1).all()
    assert (frame.test_loss > 0).all() and (frame.epochs == 1).all()
    assert (frame.max_epochs == 1).all()
    best_id = read_csv(results / "test_results.csv").trial_id.iloc[0]
    assert (frame.trial_id == best_id).all() and (frame.seed == 23 + int(best_id)).all()


def test_each_variant_switches_off_its_techniques_and_keeps_the_rest(ablated):
    results, _ = ablated
    frame = read_csv(results / "ablation.csv").set_index("variant")
    best_values = read_csv(results / "test_results.csv").iloc[0]
    for variant, switched_off in VARIANTS.items():
        row = frame.loc[variant]
        for name in TECHNIQUES + OTHERS:
            expected = 0 if name in switched_off else best_values[name]
            assert row[name] == pytest.approx(expected), (variant, name)
        if isinstance(row.same_as, str):  # already off in best: that variant's scores, untrained
            shared = frame.loc[row.same_as]
            assert row[TECHNIQUES].tolist() == shared[TECHNIQUES].tolist()
            assert row.test_accuracy == shared.test_accuracy


def test_ablation_chart_is_a_png(ablated):
    results, _ = ablated
    path = results / "ablation.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(path).shape
    assert width > 600 and height > 400


def test_ablate_rebuilds_the_page_with_its_table_and_chart(ablated):
    results, _ = ablated
    page = (results / "report.html").read_text()
    assert "<h2>Ablation</h2>" in page and "no_dropout" in page
    chart = base64.b64encode((results / "ablation.png").read_bytes()).decode()
    assert f"data:image/png;base64,{chart}" in page


def test_rerun_keeps_finished_rows_and_trains_only_a_missing_one(ablated, tmp_path, capsys):
    results, args = ablated
    copy = shutil.copytree(results, tmp_path / "mnist")
    args = [args[0], str(copy), *args[2:]]
    before = (copy / "ablation.csv").read_text()
    capsys.readouterr()
    assert main(args) == 0
    assert "training" not in capsys.readouterr().out
    assert (copy / "ablation.csv").read_text() == before

    # As after a kill in mid-ablation: a trained variant is missing.
    frame = read_csv(copy / "ablation.csv")
    missing = frame[frame.same_as.isna() & (frame.variant != "best")].variant.iloc[-1]
    lines = before.splitlines(keepends=True)
    (copy / "ablation.csv").write_text("".join(x for x in lines if not x.startswith(f"{missing},")))
    assert main(args) == 0
    trained = [line for line in capsys.readouterr().out.splitlines() if ": training" in line]
    assert trained == [f"{missing}: training (seed {frame.seed.iloc[0]}, max_epochs 1)"]
    after = read_csv(copy / "ablation.csv")
    assert list(after.variant) == list(VARIANTS)
    kept = after.variant != missing
    pd.testing.assert_frame_equal(after[kept], frame[frame.variant != missing])


def test_a_technique_already_off_in_best_shares_best_training(search_copy):
    with best_configuration(search_copy) as best:
        best.hp.values.update(dropout=0.0, l1=0.0, l2=0.0)
        rows = ablation_rows(best, epochs=1)
    same_as = {row.label: row.extra["same_as"] for row in rows}
    assert same_as == {
        "best": None,
        "no_augmentation": None,
        "no_dropout": "best",
        "no_l1": "best",
        "no_l2": "best",
        "all_off": "no_augmentation",
    }


def test_ablate_help_documents_its_options(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["ablate", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for word in ("RESULTS_DIR", "--data-dir", "--max-epochs", "ablation.csv", "ablation.png"):
        assert word in text


def test_reports_alone_keep_every_finished_variant(ablated, tmp_path, capsys):
    results, args = ablated
    copy = shutil.copytree(results, tmp_path / "mnist")
    shutil.rmtree(copy / "tuner")
    written = (copy / "ablation.csv").read_bytes()
    assert main([args[0], str(copy), *args[2:]]) == 0
    out = capsys.readouterr().out
    assert "has no tuner/ state" in out and "training" not in out
    assert out.count("kept from ablation.csv") == len(VARIANTS)
    assert (copy / "ablation.csv").read_bytes() == written
