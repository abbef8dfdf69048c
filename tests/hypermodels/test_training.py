import keras
import numpy as np
import pytest

from hypermodels import get_hypermodel
from hypermodels.batches import ShuffledBatches
from hypermodels.space import COURSE_VALUES, search_space
from hypermodels.training import (
    PLAIN,
    TrainingPath,
    augment_batches,
    epoch_batches,
    train_dataset,
)
from tuning.data import hold_out, load_dataset, split


@pytest.fixture(scope="module")
def small(data_dir):
    return split(hold_out(load_dataset("mnist", data_dir)), 256)


def epoch_ids(dataset) -> list[int]:
    return [int(i) for x, y in dataset for i in np.asarray(x)[:, 0]]


def test_train_dataset_serves_every_image_once_per_epoch_reshuffled():
    x = np.arange(100, dtype="float32")[:, None]
    y = np.arange(100, dtype="float32")[:, None]
    dataset = train_dataset(x, y, batch_size=32, seed=7)
    first, second = epoch_ids(dataset), epoch_ids(dataset)
    assert sorted(first) == sorted(second) == list(range(100))
    assert first != second and first != list(range(100))
    # Images and labels stay paired, and the same seed gives the same order.
    assert all(np.array_equal(a, b) for a, b in dataset)
    assert epoch_ids(train_dataset(x, y, batch_size=32, seed=7)) == first


def test_epoch_batches_are_a_function_of_seed_and_epoch_alone():
    x = np.arange(100, dtype="float32")[:, None]

    def mark(images, seed):  # shows which seed a batch got
        import tensorflow as tf

        return images * 0 + tf.cast(seed[0] % 1000 + 1000 * seed[1], "float32")

    def epochs(first, last, augment=None):
        batches = list(
            epoch_batches(x, x.copy(), 32, seed=7, epochs=range(first, last), augment=augment)
        )
        return [batches[i : i + 4] for i in range(0, len(batches), 4)]  # 4 batches an epoch

    def ids(epoch):
        return [int(i) for _, y in epoch for i in np.asarray(y)[:, 0]]

    whole = epochs(0, 3)
    assert all(sorted(ids(e)) == list(range(100)) for e in whole)  # each image once an epoch
    assert len({tuple(ids(e)) for e in whole}) == 3  # reshuffled every epoch
    assert ids(epochs(2, 3)[0]) == ids(whole[2])  # epoch 2 is epoch 2, wherever fit starts
    marks = [[float(np.asarray(b[0])[0, 0]) for b in e] for e in epochs(0, 3, mark)]
    assert len({m for e in marks for m in e}) == 12  # a seed per batch and epoch
    assert [float(np.asarray(b[0])[0, 0]) for b in epochs(1, 2, mark)[0]] == marks[1]


def test_augmented_batches_are_reproducible_and_new_each_epoch():
    x = np.zeros((64, 28, 28, 1), "float32")

    def augment(images, seed):
        import tensorflow as tf

        return images + tf.cast(seed[0] % 1000, "float32")  # shows which seed it got

    def seeds(dataset):
        return [float(np.asarray(images)[0, 0, 0, 0]) for images, _ in dataset]

    batches = train_dataset(x, np.zeros((64, 1), "float32"), batch_size=16, seed=1)
    dataset = augment_batches(batches, augment, seed=5)
    again = augment_batches(batches, augment, seed=5)
    first = seeds(dataset)
    assert first == seeds(again)
    assert len(set(first)) == 4  # a seed per batch
    assert seeds(dataset) != first  # and new ones every epoch


def served(batches: ShuffledBatches) -> tuple[list[int], list[float]]:
    """One epoch of `batches`: the image ids in order, and each batch's augmentation mark."""
    epoch = [batches[i] for i in range(len(batches))]
    batches.on_epoch_end()
    ids = [int(i) for _, y in epoch for i in np.asarray(y)[:, 0]]
    return ids, [float(np.asarray(x)[0, 0]) - float(np.asarray(y)[0, 0]) for x, y in epoch]


def test_shuffled_batches_serve_every_image_once_per_epoch_reshuffled_and_reproducibly():
    x = np.arange(100, dtype="float32")[:, None]

    def mark(images, seed):  # shows which seed a batch got
        return images + seed % 1000

    def batches():
        return ShuffledBatches(x, x.copy(), batch_size=32, seed=7, augment=mark)

    (first, marks), (second, new_marks) = served(b := batches()), served(b)
    assert len(b) == 4 and sorted(first) == sorted(second) == list(range(100))
    assert first != second and first != list(range(100))
    assert len(set(marks)) == 4 and set(marks) != set(new_marks)  # a seed per batch and epoch
    assert served(batches()) == (first, marks)  # the same seed, the same epoch
    later = ShuffledBatches(x, x.copy(), batch_size=32, seed=7, augment=mark, first_epoch=1)
    assert served(later) == (second, new_marks)  # a fit from epoch 1 on starts there


def build(path: TrainingPath) -> keras.Model:
    return get_hypermodel("cnn", path=path).build(search_space(COURSE_VALUES["mnist"]))


def test_fast_path_moves_augmentation_out_of_the_model():
    plain = [type(layer).__name__ for layer in build(PLAIN).layers]
    fast = [type(layer).__name__ for layer in build(TrainingPath(input_pipeline=True)).layers]
    assert plain[:3] == ["RandomRotation", "RandomTranslation", "RandomZoom"]
    assert fast == plain[3:]


def test_mixed_precision_keeps_the_softmax_in_float32(small):
    path = TrainingPath(precision="mixed_bfloat16", input_pipeline=True)
    hypermodel = get_hypermodel("mlp", path=path)
    hp = search_space(COURSE_VALUES["mnist"], hypermodel="mlp")
    try:
        model = hypermodel.build(hp)
        hidden, output = model.layers[-3], model.layers[-1]
        assert hidden.compute_dtype == "bfloat16" and hidden.variable_dtype == "float32"
        assert output.compute_dtype == "float32"
        history = hypermodel.fit(
            hp,
            model,
            small.x_train,
            small.y_train,
            validation_data=(small.x_val[:256], small.y_val[:256]),
            epochs=1,
            verbose=0,
        )
    finally:
        keras.config.set_dtype_policy("float32")
    assert np.isfinite(history.history["loss"][0])
    assert model.predict(small.x_val[:4], verbose=0).dtype == np.float32


@pytest.mark.parametrize("path", [PLAIN, TrainingPath(input_pipeline=True)], ids=["plain", "fast"])
def test_both_paths_learn_the_same_task(small, path):
    keras.utils.set_random_seed(3)
    hypermodel = get_hypermodel("cnn", path=path)
    hp = search_space(COURSE_VALUES["mnist"])
    model = hypermodel.build(hp)
    history = hypermodel.fit(
        hp,
        model,
        small.x_train,
        small.y_train,
        validation_data=(small.x_val[:512], small.y_val[:512]),
        epochs=2,
        verbose=0,
    )
    assert history.history["val_accuracy"][-1] > 0.3  # chance is 0.1
