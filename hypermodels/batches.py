"""The fast path's input on any Keras backend: shuffled, augmented batches from numpy arrays."""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np


def compiled(function: Callable) -> Callable:
    """`function` compiled once per input shape where the backend lets a plain function be (JAX).

    The fused augmentation run eagerly under JAX dispatches its dozens of small operations
    one by one: on an H100 that held training to 7,500 images/s, compiled 86,000 (the model
    alone: 103,000; docs/speed.md).
    """
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(function)
    return function


class ShuffledBatches(keras.utils.PyDataset):
    """Batches of (x, y) in an order shuffled anew each epoch, each batch augmented on its own.

    Everything a batch holds follows from (seed, epoch, batch index) alone: its images, and the
    seed its augmentation draws from. So a trial run again sees the same batches, and the
    draws do not depend on which thread prepares a batch (Keras's `workers`).
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        seed: int,
        augment: Callable | None = None,
        first_epoch: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
        self.augment = augment
        self.epoch = first_epoch  # a resumed trial's fit starts at its `initial_epoch`
        self.order = self.epoch_order(first_epoch)

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int) -> tuple:
        picked = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        images, labels = self.x[picked], self.y[picked]
        if self.augment is not None:
            images = self.augment(images, seed=self.batch_seed(index))
        return images, labels

    def on_epoch_end(self) -> None:
        """Reshuffle for the next epoch; its batches get new augmentation seeds too."""
        self.epoch += 1
        self.order = self.epoch_order(self.epoch)

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The order in which epoch `epoch` serves the images."""
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.x))

    def batch_seed(self, index: int) -> int:
        """The augmentation seed of batch `index` of this epoch, a 32-bit int."""
        return int(np.random.SeedSequence([self.seed, self.epoch, index]).generate_state(1)[0])
