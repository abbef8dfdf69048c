import json

import pandas as pd

from tuning import hardware
from tuning.bench.suite import COLUMNS
from tuning.cli.main import main


def test_bench_times_both_paths_alternately_and_writes_its_csv(tmp_path, data_dir, capsys):
    # The mlp: the cnn would spend most of each run validating on 10,000 images.
    args = [
        "bench",
        "--epochs",
        "1",
        "--rounds",
        "2",
        "--train-limit",
        "256",
        "--hypermodel",
        "mlp",
    ]
    assert main([*args, "--results-dir", str(tmp_path), "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    frame = pd.read_csv(tmp_path / "bench.csv")
    assert list(frame.columns) == COLUMNS
    assert list(frame.config) == ["baseline", "fast", "baseline", "fast"]
    assert list(frame["round"]) == [1, 1, 2, 2]
    assert (frame.images_per_s > 0).all() and (frame.seconds_per_epoch > 0).all()
    assert frame.val_accuracy.between(0, 1).all()
    saved = json.loads((tmp_path / "bench.json").read_text())
    runs = saved["runs"]
    assert saved["backend"] == "tensorflow" and "; Keras backend tensorflow" in out
    assert saved["hypermodel"] == "mlp"
    assert [run["path"]["input_pipeline"] for run in runs] == [False, True, False, True]
    assert 0 < runs[1]["fraction_of_peak"] < 1
    for line in ("machine: ", "speed-up fast/baseline: median", "val_accuracy fast - baseline"):
        assert line in out
    # The fast path computes in what `auto` picks here, and its peak line says which.
    compute = "bfloat16" if "bfloat16" in runs[1]["path"]["precision"] else "float32"
    assert f"of this machine's {compute} matmul throughput" in out
    assert runs[1]["path"]["precision"] == hardware.auto_precision()


def test_bench_refuses_bad_input_before_training(tmp_path, data_dir, capsys):
    args = ["bench", "--train-limit", "60000", "--results-dir", str(tmp_path)]
    assert main([*args, "--data-dir", str(data_dir)]) == 2
    assert "--train-limit must be between 1 and 50000" in capsys.readouterr().err
    assert not (tmp_path / "bench.csv").exists()


def test_bench_refuses_an_unknown_configuration(tmp_path, capsys):
    assert main(["bench", "--configs", "baseline,turbo", "--results-dir", str(tmp_path)]) == 2
    assert "unknown configuration 'turbo'" in capsys.readouterr().err
