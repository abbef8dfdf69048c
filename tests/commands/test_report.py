"""`report`: the reports rebuilt from a saved search, and refused on a broken one."""

from __future__ import annotations

from tuning.cli.main import main


def test_unreadable_run_json_is_one_line(search_copy, capsys):
    (search_copy / "run.json").unlink()
    (search_copy / "run.json").mkdir()
    assert main(["report", str(search_copy)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_report_rebuilds_the_same_csvs(search_copy, capsys):
    before = {
        name: (search_copy / name).read_bytes()
        for name in ("trials.csv", "test_results.csv", "history.csv")
    }
    for name in before:
        (search_copy / name).unlink()
    assert main(["report", str(search_copy)]) == 0
    for name, content in before.items():
        assert (search_copy / name).read_bytes() == content
    assert "best trial" in capsys.readouterr().out
