"""tuning.trialstate: one spelling of every trial status, shared with KerasTuner's."""

from __future__ import annotations

import json

import keras_tuner as kt

from tuning.trialstate import ENDED, SCORED, SETTLED, UNSCORED, TrialState


def test_states_equal_keras_tuner_s_strings_where_they_share_one():
    for name in ("IDLE", "RUNNING", "COMPLETED", "FAILED", "INVALID", "STOPPED"):
        assert TrialState[name] == getattr(kt.engine.trial.TrialStatus, name) == name


def test_a_state_saves_as_its_plain_name():
    assert json.dumps({"status": TrialState.STOPPED_EARLY}) == '{"status": "STOPPED_EARLY"}'


def test_the_sets_say_which_states_are_over_and_which_scored():
    assert ENDED == {"COMPLETED", "FAILED"}
    assert SETTLED == ENDED | {"INVALID"}
    assert SCORED == {"COMPLETED", "STOPPED_EARLY"}
    assert SCORED.isdisjoint(UNSCORED)
    assert TrialState.COMPLETED.ended and TrialState.COMPLETED.scored
    assert TrialState.STOPPED_EARLY.scored and not TrialState.RUNNING.ended
