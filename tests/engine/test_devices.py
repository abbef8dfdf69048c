"""GPUs for workers: one each, unless a trial mirrors over all of them."""

from __future__ import annotations

from tuning.engine.devices import trials_per_device, worker_gpus


def test_workers_are_pinned_one_gpu_each_unless_mirrored():
    gpus = ["2", "3"]
    pinned = [worker_gpus(i, gpus, None) for i in range(3)]
    assert pinned == [{"CUDA_VISIBLE_DEVICES": g} for g in ("2", "3", "2")]
    assert worker_gpus(0, gpus, "mirrored") == {}
    assert worker_gpus(0, [], None) == {}


def test_workers_that_share_a_gpu_are_pinned_to_it():
    pinned = [worker_gpus(i, ["0", "1"], None, per_device=2) for i in range(4)]
    assert [p["CUDA_VISIBLE_DEVICES"] for p in pinned] == ["0", "0", "1", "1"]


def test_trials_per_device_fit_the_gpu_memory_and_the_cores():
    gib = 2**30
    cnn = 5_000_000  # about the course's cnn on 28x28 images
    assert trials_per_device(None, cnn, cpus=16, gpus=0) == 1  # a CPU: no sharing
    assert trials_per_device(80 * gib, cnn, cpus=16, gpus=1) == 4  # never above 4
    assert trials_per_device(80 * gib, cnn, cpus=2, gpus=1) == 2  # a CPU core each
    assert trials_per_device(4 * gib, cnn, cpus=16, gpus=1) == 2  # 3.2 GiB of 1.32 each
    assert trials_per_device(16 * gib, 10**9, cpus=16, gpus=1) == 1  # a model of 16 GB
