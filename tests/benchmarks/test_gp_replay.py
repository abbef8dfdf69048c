import re

import pytest

from benchmarks.gp_replay import NEEDS_HISTORY, READINGS, main

# Five trials of the card space, as trials.csv has them: three random, one stopped at the
# rung of epoch 3, one that diverged.
HEADER = "trial_id,status,val_accuracy,augment_factor,dropout,l1,l2,learning_rate,batch_size"
TRIALS = f"""{HEADER},epochs,reason
0,COMPLETED,0.98,0.03,0.3,0,0,0.0007,128,20,
1,COMPLETED,0.97,0.2,0.4,1e-06,0.0001,0.001,32,20,
2,STOPPED_EARLY,0.92,0.03,0.2,0.0001,0.0001,7e-05,128,3,stopped at the rung of epoch 3
3,STOPPED_EARLY,0.96,0.002,0.6,0,0,0.01,512,3,stopped at the rung of epoch 3
4,STOPPED_EARLY,0.1,0.3,0.6,0,0,0.0004,512,3,stopped at the rung of epoch 3
"""


def history_of(trials: str) -> str:
    """A history.csv for `trials`: each trial's val_accuracy rising to its score."""
    lines = ["trial_id,epoch,loss,val_accuracy"]
    for row in trials.splitlines()[1:]:
        trial_id, _, score, *_, epochs, _ = row.split(",")
        for epoch in range(1, int(epochs) + 1):
            lines.append(f"{trial_id},{epoch},1.0,{float(score) * epoch / int(epochs)}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("with_history", [True, False])
def test_each_reading_proposes_after_each_trial_the_gp_chose(tmp_path, capsys, with_history):
    path = tmp_path / "trials.csv"
    path.write_text(TRIALS)
    if with_history:
        (tmp_path / "history.csv").write_text(history_of(TRIALS))
    main([str(path), "--dataset", "mnist", "--max-epochs", "20", "--initial-points", "3"])
    out = capsys.readouterr().out
    assert out.count("after ") == 2  # after trials 3 and 4
    # The rung scores and the shared rung need each trial's epochs, which only history.csv has.
    assert ("no history.csv beside it: no rung scores" in out) != with_history
    for name in READINGS:
        proposals = re.findall(rf"^  {re.escape(name)} +augment_factor=(\S+) .*$", out, re.M)
        assert len(proposals) == (0 if name in NEEDS_HISTORY and not with_history else 2)
        assert all(0.002 <= float(factor) <= 0.3 for factor in proposals)
        summary = rf"^{re.escape(name)}: \d of 2 proposals .*, \d repeats$"
        assert bool(re.search(summary, out, re.M)) == bool(proposals)
