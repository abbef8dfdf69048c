"""Data augmentation: the course's three Keras layers, or the same transform fused into one."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops


def augmentation_layers(factor: float) -> list[keras.layers.Layer]:
    """Random rotation, translation and zoom, each with `factor`, as the course writes them.

    Three layers inside the model: three resamplings of every image, and operations XLA
    cannot compile. None when `factor` is 0.
    """
    if factor == 0:
        return []
    return [
        keras.layers.RandomRotation(factor, fill_mode="nearest"),
        keras.layers.RandomTranslation(factor, factor, fill_mode="nearest"),
        keras.layers.RandomZoom(factor, fill_mode="nearest"),
    ]


def random_affine(images, factor: float, seed, transform=None):
    """The three layers' random transform of a batch, fused into one resampling per image.

    Each image gets the same random draws as from the three layers (angle in ±factor·360°,
    shifts in ±factor·size, zoom in 1±factor with the aspect kept); their maps are
    multiplied into one matrix, so the image is interpolated once instead of three times:
    faster, and sharper, since no blur piles up between steps. The transform is written in
    `keras.ops`, so it runs on any backend.

    Args:
        images: a float batch (N, H, W, C).
        factor: the searched `augment_factor`.
        seed: an int, or on TensorFlow a (2,) int tensor as a tf.data map gets it; the draws
            are a function of it alone (a stateless seed), so a batch's transform does not
            depend on which thread runs it, or on anything run before.
        transform: `fused_affine`, or the same compiled (see `hypermodels.batches`).
    """
    draws = uniform_draws((4, ops.shape(images)[0]), factor, seed)
    return (transform or fused_affine)(images, draws)


def uniform_draws(shape: tuple, factor: float, seed):
    """Uniform draws in ±factor, a function of `seed` alone.

    An int seed draws with numpy, outside any compiled function: a seed that
    `keras.random` took inside one would be a constant, compiled anew for every batch, and
    run eagerly the draws and transform cost 11x the training step on an H100 (docs/speed.md).
    TensorFlow's input pipeline hands a seed tensor per batch instead, which only
    TensorFlow's own stateless op takes.
    """
    if isinstance(seed, int):
        return np.random.default_rng(seed).uniform(-factor, factor, shape).astype("float32")
    import tensorflow as tf

    return tf.random.stateless_uniform(shape, seed, -factor, factor)


def fused_affine(images, draws):
    """Transform each image by its column of `draws`, (4, N) in ±factor: one resampling each.

    The rows are rotation (in turns), horizontal and vertical shift (in image sizes) and
    zoom (added to 1), the three layers' units.
    """
    height, width = images.shape[1], images.shape[2]
    transforms = affine_transforms(
        draws[0] * 360.0, draws[1] * width, draws[2] * height, 1.0 + draws[3], height, width
    )
    return ops.image.affine_transform(
        images, transforms, interpolation="bilinear", fill_mode="nearest"
    )


def affine_transforms(degrees, shift_x, shift_y, zoom, height: int, width: int):
    """Keras's rotation, translation and zoom maps multiplied into one, per image.

    Args:
        degrees: rotation per image, as RandomRotation draws it.
        shift_x: horizontal shift in pixels per image, as RandomTranslation draws it.
        shift_y: vertical shift in pixels per image.
        zoom: zoom factor per image, as RandomZoom draws it (above 1 zooms out).
        height: image height in pixels.
        width: image width in pixels.

    Returns:
        (N, 8) transforms for `keras.ops.image.affine_transform`.
    """
    angle = degrees * (math.pi / 180.0)
    cos, sin = ops.cos(angle), ops.sin(angle)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    # Keras applies rotation, then translation, then zoom; each layer maps output pixels
    # to input pixels, so the fused map is rotation @ translation @ zoom.
    tx = cx * (1 - zoom) - shift_x  # zoom about the centre, then the shift
    ty = cy * (1 - zoom) - shift_y
    zero = ops.zeros_like(angle)
    return ops.stack(
        [
            cos * zoom,
            -sin * zoom,
            cos * tx - sin * ty + cx - cx * cos + cy * sin,
            sin * zoom,
            cos * zoom,
            sin * tx + cos * ty + cy - cx * sin - cy * cos,
            zero,
            zero,
        ],
        axis=1,
    )
