"""What a results dir already holds, and whether a run may resume it.

A search's results dir is its store: run.json (the settings it ran with), KerasTuner's state
under tuner/ and one folder per trial. `tune` resumes a search only with the settings it was
saved with; `report`, `ablate`, `confirm` and a worker read the saved settings back.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from tuning.config import (
    SAVED_BEFORE,
    TuneConfig,
    differing_keys,
    saved_rules,
    search_settings,
    stop_rule,
)
from tuning.errors import TuningError
from tuning.layout import ORACLE_FILE, TEST_RESULTS_CSV, TUNER_DIR
from tuning.store import runinfo
from tuning.store.files import read_json


def saved_trial_states(results_dir: Path) -> list[tuple[Path, dict]]:
    """Each saved trial's trial.json path and state, in trial order, as last written."""
    paths = sorted((results_dir / TUNER_DIR).glob("trial_*/trial.json"), key=trial_number)
    return [(path, read_json(path) or {}) for path in paths]


def trial_number(path: Path) -> int:
    """The trial id of a `trial_<id>/` file's folder, as a number."""
    return int(path.parent.name.removeprefix("trial_"))


def resolve_for_resume(
    config: TuneConfig, digest: str | None = None, code: dict | None = None
) -> tuple[TuneConfig, dict | None]:
    """Resolve `config` against the search saved in its results dir, if it is to be resumed.

    Returns:
        The resolved configuration and the saved run.json (None when starting afresh).

    Raises:
        TuningError: the saved search has other settings, ran on data other than the data
            of `digest`, or with another version of the user's code in `code`.
    """
    saved = None if config.overwrite else saved_run(config.resolve().results_dir)
    if saved is None:
        return config.resolve(), None
    if config.initial_points is None:
        # The oracle keeps its saved number anyway; adopt it rather than refuse the resume.
        config = dataclasses.replace(config, initial_points=saved["config"]["initial_points"])
    config = dataclasses.replace(config, **saved_rules(saved["config"])).resolve()
    check_resumable(saved, config)
    check_same_data(saved, config, digest)
    check_same_code(saved, config, code or {})
    return config, saved


def saved_config(results_dir: Path, saved: dict | None) -> TuneConfig:
    """The configuration in `saved`, the run.json of `results_dir`, set to resume.

    Raises:
        TuningError: `results_dir` holds no search.
    """
    if saved is None:
        if (results_dir / runinfo.RUN_FILE).exists():
            # Published or copied results keep the reports and leave out the state (.gitignore).
            raise TuningError(
                f"{results_dir} holds a search's reports but not its {TUNER_DIR}/ state, which "
                "published and copied results leave out; run the search there again to use it"
            )
        raise TuningError(f"{results_dir} holds no search (no {TUNER_DIR}/ state and run.json)")
    fields = {f.name for f in dataclasses.fields(TuneConfig)}
    # A setting older searches lack takes the value it had in effect: SAVED_BEFORE's.
    values = {**SAVED_BEFORE, **saved["config"]}
    values["early_trial_stop"] = stop_rule(values["early_trial_stop"])
    config = TuneConfig(**{k: v for k, v in values.items() if k in fields})
    return dataclasses.replace(config, results_dir=results_dir, overwrite=False)


def has_state(results_dir: Path) -> bool:
    """Whether `results_dir` holds a search's tuner/ state (its oracle's file)."""
    return (results_dir / TUNER_DIR / ORACLE_FILE).exists()


def saved_run(results_dir: Path) -> dict | None:
    """The run.json of an earlier search in `results_dir`, or None when there is none.

    Raises:
        TuningError: tuner state exists without a readable run.json to check a resume against.
    """
    if not has_state(results_dir):
        return None
    try:
        saved = read_json(results_dir / runinfo.RUN_FILE)
    except (OSError, ValueError) as e:
        raise TuningError(f"cannot read {results_dir / runinfo.RUN_FILE}: {e}") from None
    if saved is None or "config" not in saved:
        raise TuningError(
            f"{results_dir} has tuner state but no run.json to check it against; "
            "pass --overwrite to start afresh"
        )
    return saved


def recorded_run(results_dir: Path) -> dict | None:
    """The run.json of reports without tuner/ state, whose test_results.csv names the best trial.

    None where there is tuner/ state, or no such reports: what published and copied results
    keep is enough to retrain the best trial (ablate, confirm), not to resume or report.
    """
    if has_state(results_dir) or not (results_dir / TEST_RESULTS_CSV).exists():
        return None
    run = read_json(results_dir / runinfo.RUN_FILE)
    return run if run and "config" in run else None


def check_resumable(saved: dict, config: TuneConfig) -> None:
    """Refuse to resume a search whose settings differ from the saved ones.

    KerasTuner would silently keep its saved oracle (its issue #803) and mix trials that
    cannot be compared.
    """
    current = runinfo.normalized(config.to_json())
    keys = differing_keys(saved["config"], current)
    # The same space and network declared otherwise: this version's code changed the ranges.
    if "search_space" in keys and not {"space", "hypermodel"} & set(keys):
        names = changed_ranges(saved["config"]["search_space"], current["search_space"])
        raise TuningError(
            f"{config.results_dir} was searched over other ranges of {', '.join(names)} "
            "(this version's search space changed); it cannot be resumed, but `report` still "
            "reads it: start a new search with another --results-dir, or --overwrite"
        )
    if keys:
        before, after = search_settings(saved["config"]), search_settings(current)
        changes = "; ".join(f"{k}: {short(before[k])} -> {short(after[k])}" for k in keys)
        raise TuningError(
            f"{config.results_dir} holds a search with other settings ({changes}); "
            "resume with the same settings, or use another --results-dir, or --overwrite"
        )


def check_same_data(saved: dict, config: TuneConfig, digest: str | None) -> None:
    """Refuse to resume a search on data other than it was searched on.

    Searches saved before data had a digest in run.json are resumed as before, unchecked.
    """
    before = saved.get("data_source", {}).get("digest")
    if before is None or digest is None or before == digest:
        return
    raise TuningError(
        f"{config.results_dir} holds a search on other data than {config.dataset} holds now "
        f"(digest {before[:12]}, now {digest[:12]}); resume on the same data, or use another "
        "--results-dir, or --overwrite"
    )


def check_same_code(saved: dict, config: TuneConfig, code: dict) -> None:
    """Refuse to resume a search whose model's or HyperModel's file changed since it ran."""
    before = saved.get("experiment", {}).get("code", {})
    if not (before.get("sha256") and code.get("sha256")) or before["sha256"] == code["sha256"]:
        return
    raise TuningError(
        f"{config.results_dir} was searched with another version of {before['file']} "
        f"(sha256 {before['sha256'][:12]}, now {code['sha256'][:12]}); its trials would not "
        "compare: restore the file, or use another --results-dir, or --overwrite"
    )


def changed_ranges(before: dict, after: dict) -> list[str]:
    """The names whose declaration differs between two saved search spaces, in order."""
    old = {h["config"]["name"]: h for h in before.get("space", [])}
    new = {h["config"]["name"]: h for h in after.get("space", [])}
    return [name for name in {**old, **new} if old.get(name) != new.get(name)]


def short(value: object, limit: int = 60) -> str:
    """A value for a one-line error; long ones (the declared space) just read `(changed)`."""
    text = str(value)
    return text if len(text) <= limit else "(changed)"


def ensure_writable(results_dir: Path) -> None:
    """Create `results_dir` and prove a file can be written there.

    Raises:
        TuningError: the directory cannot be created or written.
    """
    for folder in (results_dir, *results_dir.parents):
        if folder.exists() and not folder.is_dir():
            raise TuningError(f"results dir {results_dir}: {folder} is a file, not a folder")
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=results_dir):
            pass
    except OSError as e:
        raise TuningError(f"results dir {results_dir} is not writable: {e.strerror}") from None
