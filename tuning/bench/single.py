"""One timed bench run in its own process: `python -m tuning.bench.single CONFIG ...` prints JSON.

`tuning.bench.suite` starts one of these per configuration and round, so every run starts with a
fresh TensorFlow (oneDNN is switched at import) and no run warms another's caches.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time

import keras
from keras import ops

from hypermodels import get_hypermodel, space
from hypermodels.training import TrainingPath
from tuning import backend, experiment
from tuning.bench.configs import BENCH_VALUES, CONFIGS
from tuning.data import hold_out, load_dataset, split
from tuning.hardware import training_path

MATMUL_SIZE = 1024


class EpochTimer(keras.callbacks.Callback):
    """Wall seconds of each epoch's training part and of the whole epoch."""

    def __init__(self):
        super().__init__()
        self.train_seconds: list[float] = []
        self.epoch_seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:  # noqa: D102
        self.start = time.perf_counter()

    def on_test_begin(self, logs: dict | None = None) -> None:  # noqa: D102
        # JAX dispatches steps ahead of their results: wait for the last step's count.
        ops.convert_to_numpy(self.model.optimizer.iterations)
        self.train_seconds.append(time.perf_counter() - self.start)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:  # noqa: D102
        self.epoch_seconds.append(time.perf_counter() - self.start)


def steady(values: list[float]) -> float:
    """The median, leaving out the first epoch (tracing and compiling) when there are more."""
    return statistics.median(values[1:] if len(values) > 1 else values)


def training_flops_per_image(model: keras.Model) -> float:
    """Multiply-adds of convolutions and dense layers, x2 for FLOPs, x3 for training.

    The backward pass costs about twice the forward one (gradients of inputs and of
    weights); pooling, activations and the optimizer are left out, a small share here.
    """
    forward = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            kh, kw = layer.kernel_size
            forward += height * width * filters * kh * kw * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            forward += layer.input.shape[-1] * layer.units
    return 3 * 2 * forward


def matmul_gflops(dtype: str, size: int = MATMUL_SIZE, repeats: int = 5, chain: int = 8) -> float:
    """Measured matrix-multiply throughput of this machine in `dtype`, GFLOP/s (median).

    Each of `repeats` samples times `chain` `keras.ops.matmul` calls in a row and waits once,
    for a single value: on a GPU, copying each product back would time the copy instead.
    Run eagerly, on whichever backend Keras has: one large kernel each, which a compiled
    function would not run faster.
    """
    a = ops.cast(keras.random.normal((size, size), seed=0), dtype)

    def products() -> None:
        out = [ops.matmul(a, a) for _ in range(chain)]
        ops.convert_to_numpy(ops.stack([p[0, 0] for p in out]))  # wait for all of them

    products()  # warm up (JAX compiles each op once here)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        products()
        seconds.append(time.perf_counter() - start)
    return chain * 2 * size**3 / statistics.median(seconds) / 1e9


def run(
    config: str,
    dataset: str,
    epochs: int,
    train_limit: int | None,
    seed: int,
    data_dir,
    hypermodel_name: str = "cnn",
):
    """Train the pinned network for `epochs` on the path `config` names; return its figures."""
    training, precision, jit_compile, _ = CONFIGS[config]
    path: TrainingPath = training_path(training, precision)
    if jit_compile is not None:
        path = dataclasses.replace(path, jit_compile=jit_compile)
    held = hold_out(load_dataset(dataset, data_dir), seed=seed)
    data = split(held, train_limit)
    shape = experiment.define(held, hypermodel_name, "card")
    hp = space.search_space(BENCH_VALUES)
    keras.utils.set_random_seed(seed)
    hypermodel = get_hypermodel(
        hypermodel_name, path=path, input_shape=shape.input_shape, num_classes=shape.num_classes
    )
    model = hypermodel.build(hp)
    timer = EpochTimer()
    history = hypermodel.fit(
        hp,
        model,
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
        callbacks=[timer],
        verbose=0,
    )
    images_per_s = len(data.x_train) / steady(timer.train_seconds)
    flops = training_flops_per_image(model)
    peak = {"float32": matmul_gflops("float32")}
    if "bfloat16" in path.precision:
        peak["bfloat16"] = matmul_gflops("bfloat16")
    compute = "bfloat16" if "bfloat16" in path.precision else "float32"
    return {
        "config": config,
        "path": path.to_json(),
        "images_per_s": images_per_s,
        "seconds_per_epoch": steady(timer.epoch_seconds),
        "first_epoch_seconds": timer.epoch_seconds[0],
        "val_accuracy": float(history.history["val_accuracy"][-1]),
        "train_flops_per_image": flops,
        "matmul_gflops": peak,
        "fraction_of_peak": flops * images_per_s / (peak[compute] * 1e9),
    }


def main() -> None:
    """Parse the arguments `tuning.bench.suite` passes, run, print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m tuning.bench.single", allow_abbrev=False)
    parser.add_argument("config", choices=sorted(CONFIGS))
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--train-limit", type=int)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--data-dir")
    parser.add_argument("--hypermodel", default="cnn")
    args = parser.parse_args()
    backend.keep_tensorflow_out()
    figures = run(
        args.config,
        args.dataset,
        args.epochs,
        args.train_limit,
        args.seed,
        args.data_dir,
        args.hypermodel,
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
