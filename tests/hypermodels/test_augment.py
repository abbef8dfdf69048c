import numpy as np
import pytest
from keras import ops

from hypermodels.augment import affine_transforms, augmentation_layers, random_affine

SIZE = 28


def blob() -> np.ndarray:
    """A smooth off-centre blob, so interpolation barely matters and geometry does."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    image = np.exp(-(((xx - 11) / 9.0) ** 2 + ((yy - 15) / 7.0) ** 2)) * 255
    return image.astype("float32")[None, :, :, None]


def fused(degrees, shift_x, shift_y, zoom) -> np.ndarray:
    values = [ops.convert_to_tensor([float(v)]) for v in (degrees, shift_x, shift_y, zoom)]
    transform = affine_transforms(*values, SIZE, SIZE)
    out = ops.image.affine_transform(blob(), transform, fill_mode="nearest")
    return np.asarray(out)[0, :, :, 0]


def three_layers(rotation, shift_x, shift_y, zoom) -> np.ndarray:
    """The course's three layers, each given a one-point range so its draw is known."""
    import keras

    model = keras.Sequential(
        [
            keras.layers.RandomRotation((rotation, rotation), fill_mode="nearest"),
            keras.layers.RandomTranslation((shift_y, shift_y), (shift_x, shift_x), "nearest"),
            keras.layers.RandomZoom((zoom, zoom), fill_mode="nearest"),
        ]
    )
    return np.asarray(model(blob(), training=True))[0, :, :, 0]


def test_fused_transform_matches_the_three_layers():
    rotation, shift_x, shift_y, zoom = 0.05, 0.1, -0.05, 0.1
    expected = three_layers(rotation, shift_x, shift_y, zoom)
    same = fused(rotation * 360, shift_x * SIZE, shift_y * SIZE, 1 + zoom)
    # Inside the border the only difference is one interpolation instead of three.
    inner = slice(6, 22)
    assert np.abs(same - expected)[inner, inner].max() < 0.02 * 255
    # Any wrong sign or order is far off, so the comparison can fail.
    for wrong in (
        fused(-rotation * 360, shift_x * SIZE, shift_y * SIZE, 1 + zoom),
        fused(rotation * 360, -shift_x * SIZE, shift_y * SIZE, 1 + zoom),
        fused(rotation * 360, shift_y * SIZE, shift_x * SIZE, 1 + zoom),
        fused(rotation * 360, shift_x * SIZE, shift_y * SIZE, 1 / (1 + zoom)),
    ):
        assert np.abs(wrong - expected)[inner, inner].max() > 0.1 * 255


def test_random_affine_draws_from_its_seed():
    images = np.repeat(blob(), 8, axis=0)
    first = np.asarray(random_affine(images, 0.1, seed=12))
    again = np.asarray(random_affine(images, 0.1, seed=12))
    other = np.asarray(random_affine(images, 0.1, seed=34))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    # Every image of the batch gets its own draw.
    assert len({image.tobytes() for image in first}) == 8


def test_random_affine_stays_within_its_factor():
    images = np.repeat(blob(), 64, axis=0)
    barely = np.asarray(random_affine(images, 1e-4, seed=0))
    np.testing.assert_allclose(barely, images, atol=0.05 * 255)
    strong = np.asarray(random_affine(images, 0.3, seed=0))
    assert np.abs(strong - images).max() > 0.3 * 255


@pytest.mark.parametrize("factor, layers", [(0.0, 0), (0.04, 3)])
def test_three_layers_as_the_course_writes_them(factor, layers):
    assert len(augmentation_layers(factor)) == layers
