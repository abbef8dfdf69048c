import pytest

from hypermodels.training import PLAIN, TrainingPath
from tuning import hardware


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
