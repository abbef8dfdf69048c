"""`tuning bench`: the guides' plain training path against the one `tune` uses, alternately."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tuning import backend
from tuning.bench.configs import BENCH_VALUES, CONFIGS, DEFAULT_CONFIGS
from tuning.data import hold_out, load_dataset, split
from tuning.engine.spawn import tensorflow_environment
from tuning.errors import TuningError
from tuning.hardware import describe_machine, gpu_labels
from tuning.store.files import write_csv_atomic, write_json_atomic

BENCH_CSV = "bench.csv"
BENCH_JSON = "bench.json"
COLUMNS = ["round", "config", "images_per_s", "seconds_per_epoch", "val_accuracy"]


def bench(
    dataset: str,
    epochs: int,
    rounds: int,
    results_dir: Path,
    train_limit: int | None = None,
    data_dir: Path | None = None,
    seed: int = 23,
    configs: tuple[str, ...] = DEFAULT_CONFIGS,
    hypermodel: str = "cnn",
) -> str:
    """Time `baseline` and `fast` (or `configs`) alternately, each run in a process of its own.

    Writes bench.csv (one row per run) and bench.json (the machine, the paths, every
    figure) to `results_dir`, and returns the summary.
    """
    split(hold_out(load_dataset(dataset, data_dir), seed=seed), train_limit)  # refuse bad data now
    results_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    for round_ in range(1, rounds + 1):
        for config in configs:
            figures = run_once(config, dataset, epochs, train_limit, seed, data_dir, hypermodel)
            runs.append({"round": round_, **figures})
            print(run_line(runs[-1]), flush=True)
    frame = pd.DataFrame(runs)
    write_csv_atomic(frame[COLUMNS], results_dir / BENCH_CSV)
    hardware = describe_machine()
    write_json_atomic(
        results_dir / BENCH_JSON,
        {
            "machine": hardware,
            "backend": backend.name(),  # every run's process inherits it
            "epochs": epochs,
            "hypermodel": hypermodel,
            "pins": BENCH_VALUES,
            "runs": runs,
        },
    )
    return summary(frame, hardware, epochs, [results_dir / BENCH_CSV, results_dir / BENCH_JSON])


def run_once(
    config: str, dataset: str, epochs: int, train_limit, seed: int, data_dir, hypermodel: str
) -> dict:
    """One bench run in a fresh process; its figures.

    Raises:
        TuningError: the run failed; its last error line is quoted.
    """
    command = [sys.executable, "-m", "tuning.bench.single", config, "--dataset", dataset]
    command += ["--epochs", str(epochs), "--seed", str(seed), "--hypermodel", hypermodel]
    if train_limit:
        command += ["--train-limit", str(train_limit)]
    if data_dir:
        command += ["--data-dir", str(data_dir)]
    env = tensorflow_environment(CONFIGS[config][3])
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise TuningError(f"bench run {config} failed (exit {done.returncode}): {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_line(run: dict) -> str:
    """One fixed-format line per run."""
    return (
        f"round {run['round']} {run['config']:<8} {run['images_per_s']:7.0f} images/s  "
        f"{run['seconds_per_epoch']:6.1f} s/epoch  val_accuracy {run['val_accuracy']:.4f}"
    )


def summary(frame: pd.DataFrame, hardware: dict, epochs: int, paths: list[Path]) -> str:
    """Medians per configuration, speed-ups over baseline, the accuracy gap, share of peak."""
    columns = ["images_per_s", "seconds_per_epoch", "val_accuracy"]
    medians = frame.groupby("config", sort=False)[columns].median()
    lines = [
        f"machine: {hardware['processor']}, {hardware['cpus']} cpus, "
        f"features {' '.join(hardware['cpu_features']) or 'none listed'}, "
        f"GPUs: {', '.join(gpu_labels(hardware)) or 'none'}; Keras backend {backend.name()}"
    ]
    for config, row in medians.iterrows():
        line = (
            f"{config:<12} median {row.images_per_s:7.0f} images/s, "
            f"{row.seconds_per_epoch:6.1f} s/epoch, val_accuracy {row.val_accuracy:.4f} "
            f"after {epochs} epochs"
        )
        if config != "baseline" and "baseline" in medians.index:
            line += f", {statistics.median(ratios(frame, config)):.2f}x baseline"
        lines.append(line)
    if {"baseline", "fast"} <= set(medians.index):
        lines += fast_lines(frame, medians)
    return "\n".join(lines + [f"wrote {path}" for path in paths])


def fast_lines(frame: pd.DataFrame, medians: pd.DataFrame) -> list[str]:
    """What `fast` gains: its speed-up, its accuracy gap and its share of the peak."""
    ratio = statistics.median(ratios(frame, "fast"))
    gap = 100 * (medians.loc["fast", "val_accuracy"] - medians.loc["baseline", "val_accuracy"])
    fast = frame[frame.config == "fast"]
    last = fast.iloc[-1]
    compute = "bfloat16" if "bfloat16" in last.path["precision"] else "float32"
    return [
        f"fast path: {last.path}",
        f"speed-up fast/baseline: median {ratio:.2f}x over rounds",
        f"val_accuracy fast - baseline: {gap:+.2f} points",
        f"fast reaches {statistics.median(fast.fraction_of_peak):.0%} of this machine's "
        f"{compute} matmul throughput ({last.matmul_gflops[compute]:.0f} GFLOP/s measured; "
        f"{last.train_flops_per_image / 1e6:.0f} MFLOP per training image)",
    ]


def ratios(frame: pd.DataFrame, config: str) -> list[float]:
    """`config`/baseline images per second, round by round."""
    by_round = frame.pivot(index="round", columns="config", values="images_per_s")
    return list(by_round[config] / by_round["baseline"])
