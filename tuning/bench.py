"""`tuning bench`: the guides' plain training path against the one `tune` uses, alternately."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tuning import runinfo
from tuning.benchrun import BENCH_VALUES, CONFIGS
from tuning.data import load_dataset, split
from tuning.errors import TuningError
from tuning.files import write_csv_atomic, write_json_atomic
from tuning.hardware import cpu_flags, gpus
from tuning.isolation import child_environment

BENCH_CSV = "bench.csv"
BENCH_JSON = "bench.json"
COLUMNS = ["round", "config", "images_per_s", "seconds_per_epoch", "val_accuracy"]
TARGET_RATIO = 2.0
ACCURACY_LIMIT = 0.3  # points of val_accuracy that speed may cost at most
SHOWN_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")


def bench(
    dataset: str,
    epochs: int,
    rounds: int,
    results_dir: Path,
    train_limit: int | None = None,
    data_dir: Path | None = None,
    seed: int = 23,
) -> str:
    """Time `baseline` and `fast` alternately, each run in a process of its own.

    Writes bench.csv (one row per run) and bench.json (the machine, the paths, every
    figure) to `results_dir`, and returns the summary.
    """
    split(load_dataset(dataset, data_dir), train_limit)  # bad data or limit: refuse now
    results_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    for round_ in range(1, rounds + 1):
        for config in CONFIGS:
            figures = run_once(config, dataset, epochs, train_limit, seed, data_dir)
            runs.append({"round": round_, **figures})
            print(run_line(runs[-1]), flush=True)
    frame = pd.DataFrame(runs)
    write_csv_atomic(frame[COLUMNS], results_dir / BENCH_CSV)
    hardware = describe_machine()
    write_json_atomic(
        results_dir / BENCH_JSON,
        {"machine": hardware, "epochs": epochs, "pins": BENCH_VALUES, "runs": runs},
    )
    return summary(frame, hardware, epochs, [results_dir / BENCH_CSV, results_dir / BENCH_JSON])


def run_once(config: str, dataset: str, epochs: int, train_limit, seed: int, data_dir) -> dict:
    """One bench run in a fresh process; its figures.

    Raises:
        TuningError: the run failed; its last error line is quoted.
    """
    command = [sys.executable, "-m", "tuning.benchrun", config, "--dataset", dataset]
    command += ["--epochs", str(epochs), "--seed", str(seed)]
    if train_limit:
        command += ["--train-limit", str(train_limit)]
    if data_dir:
        command += ["--data-dir", str(data_dir)]
    training = CONFIGS[config][0]
    done = subprocess.run(command, capture_output=True, text=True, env=child_environment(training))
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


def describe_machine() -> dict:
    """The machine's CPU, its relevant features and GPUs, for bench.json and the summary."""
    flags = cpu_flags()
    return {
        **runinfo.machine(),
        "cpu_features": [flag for flag in SHOWN_FLAGS if flag in flags],
        "gpus": [gpu.name for gpu in gpus()],
    }


def summary(frame: pd.DataFrame, hardware: dict, epochs: int, paths: list[Path]) -> str:
    """Medians per configuration, the speed ratio, the accuracy gap and the share of peak."""
    median = frame.groupby("config")[["images_per_s", "seconds_per_epoch", "val_accuracy"]]
    median = median.median()
    ratio = statistics.median(ratios(frame))
    gap = 100 * (median.loc["fast", "val_accuracy"] - median.loc["baseline", "val_accuracy"])
    fast = frame[frame.config == "fast"].iloc[-1]
    compute = "bfloat16" if "bfloat16" in fast.path["precision"] else "float32"
    peak = statistics.median(frame[frame.config == "fast"].fraction_of_peak)
    lines = [
        f"machine: {hardware['processor']}, {hardware['cpus']} cpus, "
        f"features {' '.join(hardware['cpu_features']) or 'none listed'}, "
        f"GPUs: {', '.join(hardware['gpus']) or 'none'}",
        f"fast path: {fast.path}",
        *(
            f"{config:<8} median {row.images_per_s:7.0f} images/s, {row.seconds_per_epoch:.1f} "
            f"s/epoch, val_accuracy {row.val_accuracy:.4f} after {epochs} epochs"
            for config, row in median.iterrows()
        ),
        f"speed-up fast/baseline: median {ratio:.2f}x over rounds (target {TARGET_RATIO}x)",
        f"val_accuracy fast - baseline: {gap:+.2f} points (allowed: -{ACCURACY_LIMIT})",
        f"fast reaches {peak:.0%} of this machine's {compute} matmul throughput "
        f"({fast.matmul_gflops[compute]:.0f} GFLOP/s measured; "
        f"{fast.train_flops_per_image / 1e6:.0f} MFLOP per training image)",
    ]
    return "\n".join(lines + [f"wrote {path}" for path in paths])


def ratios(frame: pd.DataFrame) -> list[float]:
    """fast/baseline images per second, round by round."""
    by_round = frame.pivot(index="round", columns="config", values="images_per_s")
    return list(by_round["fast"] / by_round["baseline"])
