"""A worker: its KerasTuner environment, and the chief's search or one clear line."""

from __future__ import annotations

import pytest

from tuning.cli.main import main
from tuning.config import TuneConfig
from tuning.distributed import cluster
from tuning.distributed.worker import check_same_search, wait_for_chief
from tuning.errors import TuningError

from helpers import tune_args


@pytest.fixture
def worker_env(monkeypatch):
    monkeypatch.setenv(cluster.TUNER_ID, "hostb-0")
    monkeypatch.setenv(cluster.ORACLE_IP, "127.0.0.1")
    monkeypatch.setenv(cluster.ORACLE_PORT, "9")


def test_a_worker_needs_keras_tuner_environment(tmp_path, capsys, monkeypatch):
    for name in (cluster.TUNER_ID, cluster.ORACLE_IP, cluster.ORACLE_PORT):
        monkeypatch.delenv(name, raising=False)
    assert main(["worker", str(tmp_path)]) == 2
    assert "a worker needs KERASTUNER_TUNER_ID" in capsys.readouterr().err
    monkeypatch.setenv(cluster.ORACLE_IP, "127.0.0.1")
    assert main(["worker", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        'error: Environment variable "KERASTUNER_ORACLE_IP" was set, but '
        '"KERASTUNER_ORACLE_PORT" was not. Please specify a port.'
    ]


def test_tune_as_a_worker_refuses_the_chiefs_options(tmp_path, data_dir, capsys, worker_env):
    assert main([*tune_args(tmp_path, data_dir), "--workers", "2"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: KERASTUNER_TUNER_ID=hostb-0 makes this process a worker: --overwrite, "
        "--workers and --trials-per-device are for the chief"
    ]
    assert not list(tmp_path.iterdir())


def test_a_worker_with_other_settings_than_the_chief_is_refused(tmp_path):
    chief = TuneConfig(dataset="mnist", max_epochs=2, results_dir=tmp_path).resolve()
    check_same_search(chief, TuneConfig(dataset="mnist", max_epochs=2, results_dir=tmp_path))
    with pytest.raises(TuningError, match=r"differ from the chief's search .* \(max_epochs\)"):
        check_same_search(chief, TuneConfig(dataset="mnist", max_epochs=3))


def test_a_worker_without_a_chief_gives_up_with_one_line():
    with pytest.raises(TuningError, match=r"no chief answered at 127.0.0.1:9 within 1 s"):
        wait_for_chief("127.0.0.1:9", seconds=1)
