"""The report of the finished runs: peers.md, peers.csv and a figure per dataset."""

from __future__ import annotations

import argparse
import math
import statistics
from pathlib import Path

from benchmarks.peers import CONTENDERS
from benchmarks.peers.reference import reference_file
from benchmarks.peers.runs import fmt
from tuning.settings import show_duration
from tuning.store.files import read_json, write_text_atomic

# A contender's, in CONTENDERS order.
LINE_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 3)))


def running_best(timeline: list) -> list[tuple[float, float]]:
    """(seconds, best val_accuracy so far) at each trial's end."""
    best, points = -math.inf, []
    for seconds, score in sorted(timeline):
        best = max(best, score)
        points.append((seconds, best))
    return points


def time_to(timeline: list, target: float) -> float | None:
    """Seconds until a trial first reached `target`; None if none did."""
    return next((s for s, best in running_best(timeline) if best >= target), None)


def load_results(out: Path, dataset: str, seeds: list[int]) -> dict[str, list[dict]]:
    """The finished runs of a dataset by contender, for the seeds asked for, in order."""
    found: dict[str, list[dict]] = {}
    for contender in CONTENDERS:
        for seed in seeds:
            result = read_json(out / "runs" / dataset / f"{contender}-seed{seed}.json")
            if result is not None:
                found.setdefault(contender, []).append(result)
    return found


def write_report(args: argparse.Namespace, datasets: list[str], seeds: list[int]) -> list[Path]:
    """Write peers.md, peers.csv and a figure per dataset from the finished runs."""
    rows, lines, written = [], [], []
    for dataset in datasets:
        ref = read_json(reference_file(args.out, dataset))
        results = load_results(args.out, dataset, seeds)
        rows += csv_rows(dataset, results, ref)
        lines += table_lines(dataset, results, ref, seeds)
        if results:
            written.append(plot(args.out, dataset, results, ref))
    lines = [*header_lines(args, datasets, seeds), *lines]
    write_text_atomic(args.out / "peers.md", "\n".join(lines) + "\n")
    write_csv(args.out / "peers.csv", rows)
    return [args.out / "peers.md", args.out / "peers.csv", *written]


def header_lines(args: argparse.Namespace, datasets: list[str], seeds: list[int]) -> list[str]:
    """What the table measures, and on what machine and precision."""
    ref = read_json(reference_file(args.out, datasets[0])) if datasets else None
    machine = (ref or {}).get("machine", {})
    gpus = ", ".join(g["name"] for g in machine.get("gpus", []))
    where = gpus or f"{machine.get('processor', '?')}, {machine.get('cpus', '?')} cpus"
    precision = (ref or {}).get("training", {}).get("precision", "?")
    val = "tune's default" if args.val_size is None else f"{args.val_size:,}"
    return [
        f"{args.train_limit:,} training images, validation: {val}, the {args.hypermodel}, up to "
        f"{args.max_epochs} epochs a trial, {show_duration(args.budget)} of search each, "
        f"{seeds_shown(seeds)}; on {where}, {precision} "
        "(python -m benchmarks.peers).",
        "",
        "| dataset | search | trials | best val_accuracy | minutes to the course's val_accuracy "
        "| test accuracy |",
        "| --- | --- | --- | --- | --- | --- |",
    ]


def seeds_shown(seeds: list[int]) -> str:
    """How many seeds, and which: "1 seed (23)", "2 seeds (23, 1023)"."""
    return f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''} ({', '.join(map(str, seeds))})"


def table_lines(
    dataset: str, results: dict[str, list[dict]], ref: dict | None, seeds: list[int]
) -> list[str]:
    """The table's rows of one dataset: the reference, then a row per contender, seeds pooled.

    A contender with fewer finished runs than seeds names the seeds its row pools, so that a
    mean over one run is not read as one over all.
    """
    target = ref and ref["val_accuracy"]
    lines = []
    if ref:
        lines.append(
            f"| {dataset} | the course's configuration (reference, 1 trial) | 1 | "
            f"{fmt(target)} | - | {fmt(ref['test_accuracy'])} |"
        )
    for contender, runs in results.items():
        trials = round(statistics.mean(r["trials"] for r in runs), 1)  # 10.7, not 10.6667
        best = pooled([r["best_val_accuracy"] for r in runs])
        test = pooled([r["test_accuracy"] for r in runs])
        reach = minutes_to_reference(runs, target)
        name = CONTENDERS[contender]
        if len(runs) < len(seeds):
            ran = [r["task"]["seed"] for r in runs]
            name += f" (seed{'s' if len(ran) > 1 else ''} {', '.join(map(str, ran))} only)"
        lines.append(f"| {dataset} | {name} | {trials:g} | {best} | {reach} | {test} |")
    return lines


def pooled(values: list[float | None]) -> str:
    """The mean over seeds, ± their standard deviation where there are several."""
    known = [v for v in values if v is not None]
    if not known:
        return "-"
    spread = f" ± {statistics.stdev(known):.4f}" if len(known) > 1 else ""
    return f"{statistics.mean(known):.4f}{spread}"


def minutes_to_reference(runs: list[dict], target: float | None) -> str:
    """The median minutes to reach `target` over the runs that did, and how many did."""
    if target is None:
        return "-"
    times = [t for r in runs if (t := time_to(r["timeline"], target)) is not None]
    if not times:
        return f"not reached (0/{len(runs)})"
    share = f" ({len(times)}/{len(runs)})" if len(times) < len(runs) or len(runs) > 1 else ""
    return f"{statistics.median(times) / 60:.1f}{share}"


def csv_rows(dataset: str, results: dict[str, list[dict]], ref: dict | None) -> list[dict]:
    """One row per run."""
    target = ref and ref["val_accuracy"]
    return [
        {
            "dataset": dataset,
            "contender": contender,
            "seed": r["task"]["seed"],
            "trials": r["trials"],
            "best_val_accuracy": r["best_val_accuracy"],
            "reference_val_accuracy": target,
            "seconds_to_reference": None if target is None else time_to(r["timeline"], target),
            "test_accuracy": r["test_accuracy"],
            "seconds": r["seconds"],
            "precision": r["training"].get("precision"),
        }
        for contender, runs in results.items()
        for r in runs
    ]


def write_csv(path: Path, rows: list[dict]) -> None:
    """Write the rows as a CSV, atomically."""
    columns = list(rows[0]) if rows else ["dataset", "contender", "seed"]
    lines = [",".join(columns)]
    lines += [",".join(csv_cell(row[c]) for c in columns) for row in rows]
    write_text_atomic(path, "\n".join(lines) + "\n")


def csv_cell(value: object) -> str:
    """A CSV cell: empty for none, scores to 6 decimals (float32 digits beyond mean nothing)."""
    if value is None:
        return ""
    return f"{value:.6f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def plot(out: Path, dataset: str, results: dict[str, list[dict]], ref: dict | None) -> Path:
    """Running best val_accuracy against minutes, a line per contender and seed.

    The whole search on the left; on the right the band where the searches end, where they
    differ, which the first minutes' low scores squeeze on the left.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, panels = plt.subplots(1, 2, figsize=(13, 5), sharex=True)
    for axes in panels:
        draw_runs(axes, results, ref)
        axes.set_xlim(left=0)
        axes.set(xlabel="minutes since the search's process started", ylabel="best val_accuracy")
        axes.grid(alpha=0.3)
    panels[0].set_title(f"{dataset}: best val_accuracy so far")
    panels[1].set_title("the same, where the searches end")
    panels[1].set_ylim(*end_band(results, ref))
    panels[0].legend(loc="lower right")
    path = out / f"best_val_accuracy_{dataset}.png"
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def draw_runs(axes, results: dict[str, list[dict]], ref: dict | None) -> None:
    """Each run's running best as steps, a color and line style per contender."""
    for color, (contender, runs) in enumerate(results.items()):
        # Searches that drew the same trials overlap: a line style each, and this tool's line
        # wide and beneath, keep every one in sight.
        style = {"color": f"C{color}", "linestyle": LINE_STYLES[color % len(LINE_STYLES)]}
        if contender == "tool":
            style.update(linewidth=5, alpha=0.5, zorder=1)
        for k, run in enumerate(runs):
            points = running_best(run["timeline"])
            if points:
                minutes, best = [s / 60 for s, _ in points], [b for _, b in points]
                label = CONTENDERS[contender] if k == 0 else None
                axes.step(minutes, best, where="post", label=label, marker=".", **style)
    if ref:
        label = "the course's configuration (reference)"
        axes.axhline(ref["val_accuracy"], color="0.4", linestyle="--", label=label)


def end_band(results: dict[str, list[dict]], ref: dict | None) -> tuple[float, float]:
    """The y-range holding every run's final best and the reference, with a margin."""
    ends = [run["best_val_accuracy"] for runs in results.values() for run in runs]
    ends = [e for e in ends if e is not None] + ([ref["val_accuracy"]] if ref else [])
    if not ends:
        return 0.0, 1.0
    low, high = min(ends), max(ends)
    margin = max((high - low) * 0.15, 0.001)
    return low - margin, min(high + margin, 1.0)
