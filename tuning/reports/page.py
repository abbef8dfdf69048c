"""report.html: one self-contained page to review a search, built from the files beside it.

The page reads only what the search and the retraining commands wrote (run.json, the CSVs,
the PNGs), so `tune`, `report`, `ablate` and `confirm` all rebuild it the same way. Images
are embedded as `data:` URIs and the little script that sorts the tables is inline: the
page opens from the file system, with no server and no network. It shows no absolute
path, so it can be published as it is.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from hypermodels import NETWORKS
from tuning import layout
from tuning.objective import DEFAULT, Objective
from tuning.reports.progress import data_shape
from tuning.store.files import read_json, write_text_atomic
from tuning.store.runinfo import RUN_FILE
from tuning.trialstate import SCORED

FIGURES = (
    (layout.BEST_SO_FAR_PNG, "Best {objective} so far, by trial and by search time."),
    (layout.HYPERPARAMETERS_PNG, "{objective} against each searched hyperparameter."),
    (layout.LEARNING_CURVES_PNG, "Learning curves of the best trials."),
)
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 1em 2em 3em;
       max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; }
.meta { color: #555; margin-top: 0; }
.headline { font-size: 1.25em; } .headline b { color: #0a5; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #ddd; text-align: right;
         white-space: nowrap; }
th { background: #f3f3f3; position: sticky; top: 0; }
table.sortable th { cursor: pointer; } table.sortable th:hover { background: #e4e4e4; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1.2em; }
dt { color: #555; } dd { margin: 0; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; height: auto;
         border: 1px solid #eee; } figcaption { color: #555; }
"""
# Click a header to sort by it; numbers as numbers, empty cells last.
SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(table => {
  table.querySelectorAll("th").forEach((th, column) => th.addEventListener("click", () => {
    const body = table.tBodies[0], rows = Array.from(body.rows);
    const up = th.dataset.order !== "up"; th.dataset.order = up ? "up" : "down";
    const key = row => { const text = row.cells[column].textContent.trim();
      return text === "" ? null : (isNaN(text) ? text : parseFloat(text)); };
    rows.sort((a, b) => { const x = key(a), y = key(b);
      if (x === null || y === null) return (x === null) - (y === null);
      return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1); });
    rows.forEach(row => body.appendChild(row));
  }));
});
"""


def write_page(results_dir: Path) -> Path:
    """Write `results_dir`/report.html from the files there, atomically; return its path."""
    path = results_dir / layout.REPORT_PAGE
    write_text_atomic(path, page(results_dir))
    return path


def page(results_dir: Path) -> str:
    """The whole page as HTML text."""
    run = read_json(results_dir / RUN_FILE) or {}
    config = run.get("config", {})
    trials = read_csv(results_dir / layout.TRIALS_CSV)
    tested = read_csv(results_dir / layout.TEST_RESULTS_CSV)
    name = run.get("experiment", {}).get("name") or config.get("dataset", "search")
    title = f"{name}: hyperparameter search report"
    goal = objective_of(run)
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(subtitle(run))}</p>',
        best_section(trials, tested, names(run, trials), goal),
        best_model_note(results_dir, config),
        search_section(run, trials),
        table_section("Test results", "The best trials, evaluated on the test set.", tested),
        confirm_section(results_dir),
        ablation_section(results_dir),
        figures_section(results_dir, goal),
        table_section("All trials", "Every trial of the search, in the order they ran.", trials),
        settings_section(config),
    ]
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
            *(part for part in body if part),
            f"<script>{SORT_SCRIPT}</script></body></html>",
        ]
    )


def read_csv(path: Path) -> pd.DataFrame | None:
    """The CSV at `path`, or None when it is not there; trial ids stay as written ("03")."""
    return pd.read_csv(path, dtype={"trial_id": str}) if path.exists() else None


def escape(value: object) -> str:
    """`value` as text safe inside HTML."""
    return html.escape(str(value))


def objective_of(run: dict) -> Objective:
    """The objective the search ranked by; val_accuracy for one saved before it had a choice."""
    experiment = run.get("experiment", {})
    return Objective(experiment.get("objective", DEFAULT), experiment.get("direction", "max"))


def names(run: dict, trials: pd.DataFrame | None = None) -> list[str]:
    """The hyperparameter names the search declared, in their order.

    A user's HyperModel declares its own as it builds: trials.csv's value columns say which.
    """
    declared = run.get("config", {}).get("search_space")
    if declared is not None:
        return list(declared.get("values", {}))
    if trials is None:
        return []
    columns = list(trials.columns)
    return columns[columns.index(objective_of(run).name) + 1 : columns.index("epochs")]


def subtitle(run: dict) -> str:
    """The network, space, status and when the run started."""
    config = run.get("config", {})
    # The page is written only where no search runs (at a run's end, by report, ablate or
    # confirm, all holding the results lock): a run.json still "running" was killed.
    status = run.get("status", "unknown")
    if status == "running":
        status = "interrupted (killed; the same command resumes it)"
    parts = [
        network_words(config),
        f"status: {status}",
        f"started {run.get('first_started_at', '?')}",
    ]
    if run.get("started_at") and run.get("started_at") != run.get("first_started_at"):
        parts.append(f"last resumed {run['started_at']}")
    return " · ".join(parts)


def network_words(config: dict) -> str:
    """`cnn network, card space`; a user's model or HyperModel by the name it was given."""
    hypermodel, space = config.get("hypermodel", "?"), config.get("space", "?")
    if config.get("model"):
        return f"model {config['model']}, {space} space"
    if hypermodel not in NETWORKS and ":" in hypermodel:
        return f"HyperModel {hypermodel}, over its own names"
    return f"{hypermodel} network, {space} space"


def best_row(
    trials: pd.DataFrame | None, tested: pd.DataFrame | None, goal: Objective
) -> pd.Series | None:
    """The best trial: the first of test_results.csv, else the best finished in trials.csv."""
    if tested is not None and not tested.empty:
        return tested.iloc[0]
    if trials is None:
        return None
    finished = trials[trials.status.isin(SCORED) & trials[goal.name].notna()]
    if finished.empty:
        return None
    return finished.sort_values(goal.name, ascending=goal.sign < 0, kind="stable").iloc[0]


def best_section(
    trials: pd.DataFrame | None,
    tested: pd.DataFrame | None,
    declared: list[str],
    goal: Objective,
) -> str:
    """The headline: the best trial, its scores and its configuration."""
    best = best_row(trials, tested, goal)
    if best is None:
        return "<h2>Best model</h2><p>No trial has finished yet.</p>"
    headline = f"Trial {best.trial_id}: {escape(goal.name)} {best[goal.name]:.4f}"
    if "test_accuracy" in best and pd.notna(best.test_accuracy):
        headline += (
            f", test accuracy <b>{100 * best.test_accuracy:.2f}%</b> "
            f"(test loss {best.test_loss:.4f})"
        )
    values = {name: best[name] for name in declared if name in best and pd.notna(best[name])}
    return f'<h2>Best model</h2><p class="headline">{headline}</p>' + definitions(
        {name: show(value) for name, value in values.items()}
    )


def best_model_note(results_dir: Path, config: dict) -> str:
    """How to load best_model.keras, when the search wrote one."""
    if not (results_dir / layout.BEST_MODEL).exists():
        return ""
    full = (
        " In the full space, a model with an activity_l1 penalty needs "
        "<code>import hypermodels.choices</code> (this project) before loading."
        if config.get("space") == "full"
        else ""
    )
    code = f'import keras\nmodel = keras.saving.load_model("{layout.BEST_MODEL}")'
    return (
        "<p>This trial's model, compiled and with its best epoch's weights, is "
        f"<code>{layout.BEST_MODEL}</code> beside this page; in Python, from this folder:</p>"
        f"<pre>{escape(code)}</pre><p>It takes a batch of images as the data holds them "
        "(pixel values 0 to 255) and gives one probability per class. The class names, in "
        "that order, are in run.json (<code>experiment.class_names</code>) and inside the "
        f"file, as <code>class_names.json</code> in its zip archive.{full}</p>"
    )


def search_section(run: dict, trials: pd.DataFrame | None) -> str:
    """How the search went: trials by status, epochs, time, precision and machine."""
    config, machine = run.get("config", {}), run.get("machine", {})
    facts = {}
    experiment = run.get("experiment")
    if experiment:
        location = run.get("data_source", {}).get("location", "?")
        facts["data"] = f"{experiment['name']} from {location}{data_shape(experiment)}"
    goal = objective_of(run)
    facts["ranked by"] = f"{goal.name}, {'higher' if goal.sign > 0 else 'lower'} is better"
    if trials is not None:
        counts = trials.status.value_counts()
        by_status = ", ".join(
            f"{n} {status.lower().replace('_', ' ')}" for status, n in counts.items()
        )
        cap = config.get("max_trials") or (None if config.get("time_budget") else 10)
        of = f" of {cap}" if cap else ", as many as the time budget bought"
        facts["trials"] = f"{len(trials)}{of} ({by_status})"
        facts["epochs trained"] = f"{int(trials.epochs.fillna(0).sum())}"
    if run.get("search_seconds") is not None:
        facts["search time"] = clock_text(run["search_seconds"], config.get("time_budget"))
    if run.get("seconds") is not None:
        facts["last run, all included"] = clock_text(run["seconds"], None)
    training = run.get("training", {})
    if training:
        facts["training"] = (
            f"{training.get('precision')}, XLA {'on' if training.get('jit_compile') else 'off'}"
        )
    gpus = [gpu.get("name", "GPU") for gpu in machine.get("gpus") or []]
    cpu = f"{machine.get('processor', '?')}, {machine.get('cpus', '?')} cpus"
    facts["machine"] = ", ".join(gpus) or cpu
    packages = run.get("packages", {})
    facts["packages"] = ", ".join(f"{k} {v}" for k, v in packages.items() if v)
    return "<h2>The search</h2>" + definitions(facts)


def clock_text(seconds: float, budget: float | None) -> str:
    """`1h 02m 05s`, with the time budget beside it when there was one."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"
    return text + (f" (time budget {clock_text(budget, None)})" if budget else "")


def confirm_section(results_dir: Path) -> str:
    """The best configuration retrained with other seeds, when `confirm` has run."""
    summary = read_csv(results_dir / layout.CONFIRM_SUMMARY_CSV)
    runs = read_csv(results_dir / layout.CONFIRM_CSV)
    if summary is None or runs is None:
        return ""
    return (
        "<h2>Confirmed with other seeds</h2>"
        "<p>The best configuration trained again with other seeds: how much of its score "
        "is the configuration, and how much the luck of one run.</p>"
        + table(summary, sortable=False)
        + table(runs)
    )


def ablation_section(results_dir: Path) -> str:
    """The best configuration with each technique switched off, when `ablate` has run."""
    frame = read_csv(results_dir / layout.ABLATION_CSV)
    if frame is None:
        return ""
    return (
        "<h2>Ablation</h2>"
        "<p>The best configuration retrained with one technique switched off at a time.</p>"
        + table(frame)
        + image(results_dir / layout.ABLATION_PNG, "Validation and test error per variant.")
    )


def figures_section(results_dir: Path, goal: Objective) -> str:
    """The search's plots, embedded."""
    images = [
        image(results_dir / name, caption.format(objective=goal.name)) for name, caption in FIGURES
    ]
    return "<h2>Plots</h2>" + "".join(images) if any(images) else ""


def image(path: Path, caption: str) -> str:
    """A figure with the PNG at `path` embedded as a data: URI; empty when there is none."""
    if not path.exists():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(path.name)}">'
        f"<figcaption>{escape(caption)} ({escape(path.name)})</figcaption></figure>"
    )


def table_section(heading: str, text: str, frame: pd.DataFrame | None) -> str:
    """A heading, a sentence and the table; empty when there is no table."""
    if frame is None:
        return ""
    return f"<h2>{escape(heading)}</h2><p>{escape(text)}</p>" + table(frame)


def table(frame: pd.DataFrame, sortable: bool = True) -> str:
    """`frame` as an HTML table, numbers in short form, scrolling sideways when wide."""
    markup = frame.to_html(
        index=False,
        na_rep="",
        border=0,
        float_format=show,
        classes="sortable" if sortable else None,
    )
    return f'<div class="scroll">{markup}</div>'


def settings_section(config: dict) -> str:
    """Every setting of the search, folded; paths are left out, they are this machine's."""
    shown = {
        key: value
        for key, value in config.items()
        if key not in ("results_dir", "data_dir", "search_space") and value not in (None, {})
    }
    return (
        "<h2>Settings</h2><details><summary>The search's settings, from run.json</summary>"
        + definitions({key: show(value) for key, value in shown.items()})
        + "</details>"
    )


def definitions(facts: dict[str, str]) -> str:
    """A definition list of `facts`."""
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts.items())
    return f"<dl>{items}</dl>"


def show(value: object) -> str:
    """A value as the page shows it: floats to 6 significant digits."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
