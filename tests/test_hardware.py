import json
import os

import pandas as pd
import pytest

from hypermodels.training import PLAIN, TrainingPath
from tuning import backend, hardware
from tuning.cli.main import main
from tuning.errors import TuningError

from helpers import tune_args


def test_plain_is_the_guides_path():
    assert hardware.training_path("plain") == PLAIN
    assert PLAIN == TrainingPath("float32", "auto", input_pipeline=False)


def test_fast_uses_the_pipeline_and_the_forced_precision():
    path = hardware.training_path("fast", "float32")
    assert path.input_pipeline and path.precision == "float32"
    assert hardware.training_path("fast", "mixed_float16").precision == "mixed_float16"


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({"avx2", "fma"}, "float32"),
        ({"avx2", "avx512_bf16"}, "mixed_bfloat16"),
        ({"amx_bf16"}, "mixed_bfloat16"),
    ],
)
def test_auto_precision_follows_the_cpu(monkeypatch, flags, expected):
    monkeypatch.delenv(hardware.NATIVE_BF16_ENV, raising=False)  # the flags alone decide
    monkeypatch.setattr(hardware, "cpu_flags", lambda: flags)
    monkeypatch.setattr(hardware, "gpu_compute_capabilities", lambda: [])
    assert hardware.auto_precision() == expected


@pytest.mark.parametrize(
    "capabilities, expected",
    [([(9, 0)], "mixed_bfloat16"), ([(8, 0), (7, 5)], "mixed_float16"), ([(6, 1)], "float32")],
)
def test_auto_precision_follows_the_oldest_gpu(monkeypatch, capabilities, expected):
    monkeypatch.setattr(hardware, "gpu_compute_capabilities", lambda: capabilities)
    assert hardware.auto_precision() == expected


def test_this_machine_reads_its_own_flags():
    flags = hardware.cpu_flags()
    assert flags and "fpu" in flags  # /proc/cpuinfo exists on the Linux machines we run on
    assert hardware.gpu_compute_capabilities() == [] or hardware.gpus()


@pytest.mark.parametrize(("forced", "native"), [("1", True), ("0", False)])
def test_the_environment_overrides_what_auto_detects_on_the_cpu(monkeypatch, forced, native):
    monkeypatch.setattr(hardware, "gpu_compute_capabilities", lambda: [])
    monkeypatch.setenv(hardware.NATIVE_BF16_ENV, forced)
    assert hardware.cpu_native_bf16() is native
    assert hardware.auto_precision() == ("mixed_bfloat16" if native else "float32")
    assert hardware.describe_machine()[hardware.NATIVE_BF16_ENV] == forced


def test_a_bad_override_is_refused(monkeypatch):
    monkeypatch.setenv(hardware.NATIVE_BF16_ENV, "yes")
    with pytest.raises(TuningError, match="TUNING_NATIVE_BF16 must be 0 or 1, not 'yes'"):
        hardware.auto_precision()


def test_resolved_path_says_whether_xla_is_on():
    assert hardware.resolved(TrainingPath(jit_compile=True))["jit_compile"] is True
    auto = hardware.resolved(hardware.training_path("fast", "mixed_float16"))
    # Keras's `auto`: XLA where there is a GPU, not on a CPU-only machine.
    assert auto == {
        "precision": "mixed_float16",
        "jit_compile": bool(hardware.gpus()),
        "input_pipeline": True,
        "epoch_seeds": True,
        "searched_inputs": bool(hardware.gpus()),  # where steps are compiled: XLA's GPUs
        "backend": "tensorflow",
    }


def test_machine_description_lists_the_relevant_cpu_flags_and_gpus():
    machine = hardware.describe_machine()
    flags = hardware.cpu_flags()
    assert machine["cpu_features"] == [f for f in hardware.SHOWN_FLAGS if f in flags]
    assert len(machine["gpus"]) == len(hardware.gpus())
    assert hardware.NATIVE_BF16_ENV not in machine or os.environ.get(hardware.NATIVE_BF16_ENV)


def test_a_search_records_what_auto_resolved_to_in_run_json_and_trials_csv(
    tmp_path, data_dir, monkeypatch
):
    # The opposite of this CPU's own answer, so the override shows on either kind of CPU;
    # the trial's own process must inherit it.
    forced = "0" if hardware.cpu_flags() & hardware.BF16_CPU_FLAGS else "1"
    monkeypatch.setenv(hardware.NATIVE_BF16_ENV, forced)
    expected = hardware.auto_precision()
    assert expected == ("mixed_bfloat16" if forced == "1" else "float32") or hardware.gpus()
    args = tune_args(tmp_path, data_dir, "--train-limit", "300")
    args += ["--max-trials", "1", "--max-epochs", "1", "--top-n", "1", "--precision", "auto"]
    assert main(args) == 0
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["config"]["precision"] == "auto"
    assert run["training"] == hardware.resolved(TrainingPath(expected, input_pipeline=True))
    assert run["machine"][hardware.NATIVE_BF16_ENV] == forced
    assert list(pd.read_csv(tmp_path / "trials.csv").precision) == [expected]


def test_jax_keeps_float32_on_a_bfloat16_cpu_and_bfloat16_on_new_gpus(monkeypatch):
    # XLA's CPU compiler computes bfloat16 no faster than float32 (docs/speed.md).
    monkeypatch.setattr(backend, "name", lambda: backend.JAX)
    monkeypatch.setattr(hardware, "cpu_flags", lambda: {"avx512_bf16", "amx_bf16"})
    monkeypatch.setattr(hardware, "gpu_compute_capabilities", lambda: [])
    assert hardware.auto_precision() == "float32"
    monkeypatch.setattr(hardware, "gpu_compute_capabilities", lambda: [(9, 0)])
    assert hardware.auto_precision() == "mixed_bfloat16"
    assert hardware.resolved(PLAIN)["jit_compile"] is True  # JAX always compiles with XLA


@pytest.mark.parametrize(("said", "read"), [("8.6", (8, 6)), ("9.0", (9, 0)), ("gfx90a", (0, 0))])
def test_a_jax_gpu_capability_reads_as_a_pair(said, read):
    gpu = type("Device", (), {"compute_capability": said})()
    assert hardware.capability(gpu) == read
