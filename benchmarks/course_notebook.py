"""The course's notebook as a plain script: the baseline that `tune` is timed against.

Its code as the course ran it (keras.Sequential with three augmentation layers, numpy arrays
into fit, KerasTuner's BayesianOptimization, the ten best models evaluated on test), with
three changes so it runs offline and on a budget: the IDX files are read from --data-dir,
the epochs, trials and training images are arguments, and the augmentation factor can be
fixed (--factor) as `tune --set augment_factor=...` fixes it. Run it with the Python that
runs `tune`, e.g.

    .venv/bin/python benchmarks/course_notebook.py --dataset mnist --max-trials 1 \
        --epochs 2 --train-limit 20000 --top-n 1 --factor 0.04
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from pathlib import Path

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402

# The course's values per dataset: learning rate and ReduceLROnPlateau's factor.
COURSE = {"mnist": (0.00168, 0.3787), "fashion-mnist": (0.00015, 0.32)}


def read_idx(path: Path) -> np.ndarray:
    """One gzip IDX file as a uint8 array (the layout keras.datasets downloads)."""
    data = gzip.decompress(path.read_bytes())
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(folder: Path) -> tuple:
    """(x_train_val, y_train_val), (x_test, y_test), as keras.datasets.*.load_data() gives."""
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    tests = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    return tuple(tuple(read_idx(folder / f"{n}.gz") for n in pair) for pair in (names, tests))


class MyHyperModel(keras_tuner.HyperModel):
    """The course's HyperModel, as in its notebook."""

    def __init__(self, learning_rate: float, lr_factor: float, epochs: int, factor: float | None):
        super().__init__()
        self.learning_rate, self.lr_factor = learning_rate, lr_factor
        self.epochs, self.factor = epochs, factor

    def build(self, hp):
        """The course's network, compiled."""
        M = keras.Sequential()
        M.add(keras.Input(shape=(28, 28, 1)))
        if self.factor is None:
            factor = hp.Float("factor", min_value=0.01, max_value=0.3, step=2, sampling="log")
        else:
            factor = hp.Fixed("factor", self.factor)
        M.add(keras.layers.RandomRotation(factor, fill_mode="nearest"))
        M.add(keras.layers.RandomTranslation(factor, factor, fill_mode="nearest"))
        M.add(keras.layers.RandomZoom(factor, fill_mode="nearest"))
        M.add(keras.layers.Rescaling(1.0 / 255))
        filters = 64
        M.add(keras.layers.Conv2D(filters, kernel_size=(3, 3), activation="relu"))
        M.add(keras.layers.MaxPooling2D(pool_size=(2, 2)))
        M.add(keras.layers.Conv2D(2 * filters, kernel_size=(3, 3), activation="relu"))
        M.add(keras.layers.MaxPooling2D(pool_size=(2, 2)))
        M.add(keras.layers.Flatten())
        M.add(keras.layers.Dense(units=800, activation="relu"))
        M.add(keras.layers.Dropout(0.5))
        M.add(keras.layers.Dense(10, activation="softmax"))
        opt = keras.optimizers.Adam(learning_rate=self.learning_rate)
        M.compile(loss="categorical_crossentropy", optimizer=opt, metrics=["accuracy"])
        return M

    def fit(self, hp, M, x, y, xy_val, **kwargs):
        """The course's callbacks and batch size."""
        patience = 5
        reduce_cb = keras.callbacks.ReduceLROnPlateau(
            monitor="val_accuracy",
            factor=self.lr_factor,
            patience=patience,
            min_delta=1e-4,
            min_lr=1e-5,
        )
        early_cb = keras.callbacks.EarlyStopping(
            monitor="val_accuracy", patience=2 * patience, min_delta=1e-5
        )
        kwargs["callbacks"].extend([reduce_cb, early_cb])
        return M.fit(x, y, batch_size=256, epochs=self.epochs, validation_data=xy_val, **kwargs)


def main() -> None:
    """Run the notebook's search and test evaluation; print the phases' seconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(COURSE), default="mnist")
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("TUNING_DATA_DIR"))
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--top-n", type=int, default=10)
    parser.add_argument("--factor", type=float, default=None, help="fix the augmentation factor")
    parser.add_argument("--directory", default="/tmp/course-notebook")
    args = parser.parse_args()
    start = time.monotonic()

    keras.utils.set_random_seed(23)
    num_classes = 10
    (x_train_val, y_train_val), (x_test, y_test) = load(Path(args.data_dir) / args.dataset)
    x_train_val = np.expand_dims(x_train_val.astype("float32"), -1)
    x_test = np.expand_dims(x_test.astype("float32"), -1)
    y_train_val = keras.utils.to_categorical(y_train_val, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)
    x_train, x_val = x_train_val[:-10000][: args.train_limit], x_train_val[-10000:]
    y_train, y_val = y_train_val[:-10000][: args.train_limit], y_train_val[-10000:]

    learning_rate, lr_factor = COURSE[args.dataset]
    tuner = keras_tuner.BayesianOptimization(
        MyHyperModel(learning_rate, lr_factor, args.epochs, args.factor),
        objective="val_accuracy",
        max_trials=args.max_trials,
        executions_per_trial=1,
        overwrite=True,
        directory=args.directory,
        project_name=args.dataset,
    )
    searched = time.monotonic()
    tuner.search(x_train, y_train, (x_val, y_val))
    evaluated = time.monotonic()
    num_models = min(args.top_n, len(tuner.oracle.trials))
    best_hyperparameters = tuner.get_best_hyperparameters(num_trials=num_models)
    best_models = tuner.get_best_models(num_models=num_models)
    for m in range(num_models):
        values = best_hyperparameters[m].values
        score = best_models[m].evaluate(x_test, y_test, verbose=0)
        print(
            f"Model {m}: Hyperparameters: {values!s} Loss: {score[0]:.4} Accuracy: {score[1]:.2%}"
        )
    end = time.monotonic()
    print(
        f"seconds: setup {searched - start:.1f}, search {evaluated - searched:.1f}, "
        f"evaluation {end - evaluated:.1f}, total {end - start:.1f}"
    )


if __name__ == "__main__":
    main()
