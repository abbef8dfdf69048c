"""GPUs for workers: one each, unless a trial mirrors over all of them."""

from __future__ import annotations

from tuning.engine.devices import worker_gpus


def test_workers_are_pinned_one_gpu_each_unless_mirrored():
    gpus = ["2", "3"]
    pinned = [worker_gpus(i, gpus, None) for i in range(3)]
    assert pinned == [{"CUDA_VISIBLE_DEVICES": g} for g in ("2", "3", "2")]
    assert worker_gpus(0, gpus, "mirrored") == {}
    assert worker_gpus(0, [], None) == {}
