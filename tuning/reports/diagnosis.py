"""What a search's results say about the search: best values on the edge of their range, failures.

A best value in the outer 10% of its range suggests that better values lie beyond it, so the
range should widen. Ranges come from the oracle's KerasTuner hyperparameters; nothing here
invents a value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import keras_tuner as kt

from tuning.engine.evaluate import best_trials
from tuning.engine.failures import failure_reason
from tuning.engine.tuner import RecordingTuner
from tuning.reports.tables import show
from tuning.trialstate import SETTLED, TrialState

EDGE = 0.1  # the outer tenth of a range, at either end
Numerical = kt.engine.hyperparameters.Float | kt.engine.hyperparameters.Int


def ordered_values(hp: kt.engine.hyperparameters.HyperParameter) -> list | None:
    """An ordered Choice's values from lowest to highest; None for any other kind."""
    if isinstance(hp, kt.engine.hyperparameters.Choice) and hp.ordered and len(hp.values) > 1:
        return sorted(hp.values)
    return None


def range_position(hp: kt.engine.hyperparameters.HyperParameter, value: object) -> float | None:
    """Where `value` lies in `hp`'s range: 0 at the lowest end, 1 at the highest.

    Float and Int measure in the space they are sampled in, so a log range in log space. An
    ordered (numeric) Choice measures by rank among its values. Categorical names, booleans
    and pinned (Fixed) names have no range: None.
    """
    ranked = ordered_values(hp)
    if ranked is not None:
        return ranked.index(value) / (len(ranked) - 1) if value in ranked else None
    if not isinstance(hp, Numerical) or hp.max_value == hp.min_value:
        return None
    low, high = hp.min_value, hp.max_value
    if hp.sampling == "log":
        return math.log(value / low) / math.log(high / low)
    if hp.sampling == "reverse_log":
        return 1.0 - math.log((high + low - value) / low) / math.log(high / low)
    return (value - low) / (high - low)


def lowest(hp: kt.engine.hyperparameters.HyperParameter) -> object:
    """The low end of a ranged hyperparameter's range."""
    ranked = ordered_values(hp)
    return ranked[0] if ranked is not None else hp.min_value


def edge_side(hp: kt.engine.hyperparameters.HyperParameter, value: object) -> str | None:
    """The end of `hp`'s range whose outer 10% holds `value`: "low", "high" or None.

    A low end of 0 is no edge: 0 means off (no dropout, no penalty), and no range of these
    widens below it.
    """
    position = range_position(hp, value)
    if position is None:
        return None
    if position <= EDGE + 1e-9:
        return None if lowest(hp) == 0 else "low"
    if position >= 1 - EDGE - 1e-9:
        return "high"
    return None


def describe_range(hp: kt.engine.hyperparameters.HyperParameter) -> str:
    """The range as a user reads it: `0.0001 to 0.01 (log scale)` or `choices 32, ..., 512`."""
    ranked = ordered_values(hp)
    if ranked is not None:
        return "choices " + ", ".join(show(v) for v in ranked)
    scale = " (log scale)" if hp.sampling == "log" else ""
    return f"range {show(hp.min_value)} to {show(hp.max_value)}{scale}"


def edge_warnings(hp: kt.HyperParameters, values: Mapping[str, object]) -> list[str]:
    """One warning per name whose value in `values` (the best trial's) is on an edge of `hp`.

    Names that are inactive in `values` (a conditional name whose condition is unmet) are
    skipped, like names without a range.
    """
    lines = []
    for declared in hp.space:
        value = values.get(declared.name)
        side = None if value is None else edge_side(declared, value)
        if side is None:
            continue
        where = "lowest" if side == "low" else "highest"
        lines.append(
            f"warning: the best trial's {declared.name} {show(value)} lies in the {where} "
            f"{EDGE:.0%} of its {describe_range(declared)}: better values may lie beyond it, "
            "so the range may need widening"
        )
    return lines


def best_value_warnings(tuner: RecordingTuner) -> list[str]:
    """Edge warnings for the best completed trial of the search; none without one."""
    best = best_trials(tuner, 1)
    if not best:
        return []
    return edge_warnings(tuner.oracle.hyperparameters, best[0].hyperparameters.values)


def failure_line(tuner: RecordingTuner) -> str:
    """The share of ended trials that failed (diverged or raised), with the first reason."""
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
    ended = [t for t in trials if t.status in SETTLED]
    failed = [t for t in ended if t.status != TrialState.COMPLETED]
    share = len(failed) / len(ended) if ended else 0.0
    line = f"failed trials: {len(failed)} of {len(ended)} ({share:.0%})"
    if failed:
        first = failed[0]
        reason = failure_reason(first, tuner.load_record(first.trial_id))
        line += f", e.g. trial {first.trial_id}: {reason}; every reason is in trials.csv"
    return line


def diagnosis(tuner: RecordingTuner) -> list[str]:
    """The lines the closing summary adds: the failed share, then any edge warnings."""
    return [failure_line(tuner), *best_value_warnings(tuner)]
