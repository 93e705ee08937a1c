"""The tf.data helper over loader arrays."""

import numpy as np
import pytest

from keras_pmm.datasets import load_mnist
from keras_pmm.datasets import to_tf_dataset

pytest.importorskip(
    "tensorflow", reason="to_tf_dataset needs TensorFlow installed"
)


def test_batches_cover_the_data_in_order(data_dir):
    _, (x_test, y_test) = load_mnist(data_dir)
    batches = list(
        to_tf_dataset(
            x_test[:300], y_test[:300], batch_size=128
        ).as_numpy_iterator()
    )
    assert [len(x) for x, _ in batches] == [128, 128, 44]
    np.testing.assert_array_equal(
        np.concatenate([x for x, _ in batches]), x_test[:300]
    )
    np.testing.assert_array_equal(
        np.concatenate([y for _, y in batches]), y_test[:300]
    )


def test_shuffle_is_a_seeded_permutation():
    images = np.arange(50, dtype="uint8").reshape(50, 1, 1) * np.ones(
        (1, 28, 28), "uint8"
    )
    labels = np.arange(50)

    def epoch(seed):
        return np.concatenate(
            [
                y
                for _, y in to_tf_dataset(
                    images, labels, batch_size=16, shuffle=True, seed=seed
                ).as_numpy_iterator()
            ]
        )

    first = epoch(3)
    assert sorted(first.tolist()) == list(range(50)) and first.tolist() != list(
        range(50)
    )
    np.testing.assert_array_equal(first, epoch(3))


def test_images_only_and_bad_arguments():
    images = np.zeros((5, 28, 28), "uint8")
    assert next(
        to_tf_dataset(images, batch_size=2).as_numpy_iterator()
    ).shape == (2, 28, 28)
    with pytest.raises(ValueError, match="differ in length: 5 and 4"):
        to_tf_dataset(images, np.zeros(4))
    with pytest.raises(ValueError, match="batch_size"):
        to_tf_dataset(images, batch_size=0)


# A NaN inside a tf.data.Dataset given to fit / evaluate / predict: TensorFlow
# and JAX trace the model, so the check of concrete inputs never saw it (JAX
# returned a NaN row with no error); the pipeline now checks each batch.
NAN_MESSAGE = (
    "`{name}` must be finite, but a batch of the tf.data.Dataset holds 1 NaN "
    "or inf entries among its {size} (first at index {index} of that batch)."
)


def _features(nan_at=None, value=np.nan):
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    if nan_at is not None:
        x[nan_at] = value
    return x


def test_nan_in_a_dataset_is_a_clear_error_on_every_backend():
    import tensorflow as tf

    from keras_pmm import models

    def dataset(nan_at, value=np.nan, labels=np.arange(32) % 3):
        features = _features(nan_at, value)
        if labels is None:
            return tf.data.Dataset.from_tensor_slices(features).batch(8)
        return tf.data.Dataset.from_tensor_slices((features, labels)).batch(8)

    model = models.PMMClassifier(num_classes=3, n=3)
    with pytest.raises(ValueError) as info:
        model.fit(dataset((3, 1)), epochs=1, verbose=0)
    assert str(info.value) == NAN_MESSAGE.format(
        name="x", size=24, index=(3, 1)
    )
    clean = dataset(None, labels=None)
    before = model.predict(clean, verbose=0)
    assert np.isfinite(before).all()
    with pytest.raises(ValueError) as info:  # in the second batch
        model.predict(dataset((13, 1), labels=None), verbose=0)
    assert str(info.value) == NAN_MESSAGE.format(
        name="x", size=24, index=(5, 1)
    )
    # The failed call left the model whole (on JAX, Keras detaches the
    # weights while its loop runs).
    np.testing.assert_array_equal(model.predict(clean, verbose=0), before)
    with pytest.raises(ValueError) as info:
        model.evaluate(dataset((6, 0), np.inf), verbose=0)
    assert str(info.value) == NAN_MESSAGE.format(
        name="x", size=24, index=(6, 0)
    )
    with pytest.raises(ValueError) as info:
        model.fit(
            dataset(None),
            validation_data=dataset((6, 0), -np.inf),
            epochs=1,
            verbose=0,
        )
    assert str(info.value) == NAN_MESSAGE.format(
        name="validation_data x", size=24, index=(6, 0)
    )
    history = model.fit(dataset(None), epochs=1, verbose=0).history
    assert np.isfinite(history["loss"]).all()


@pytest.mark.parametrize(
    "name, size, index",
    [("x", 24, (1, 2)), ("y", 8, (1, 0)), ("sample_weight", 8, (4,))],
)
def test_nan_anywhere_in_an_element_is_named(name, size, index):
    import tensorflow as tf

    from keras_pmm import _backend

    x, y, weights = _features(), np.ones((32, 1), "float32"), np.ones(32)
    {"x": x, "y": y, "sample_weight": weights}[name][
        (8 + index[0],) + index[1:]
    ] = -np.inf
    dataset = tf.data.Dataset.from_tensor_slices((x, y, weights)).batch(8)
    with pytest.raises(ValueError) as info:
        with _backend.dataset_errors(None):
            list(_backend.finite_dataset(dataset))
    assert str(info.value) == NAN_MESSAGE.format(
        name=name, size=size, index=index
    )


def test_checked_dataset_keeps_its_elements():
    import tensorflow as tf

    from keras_pmm import _backend

    x, y = _features(), np.arange(32) % 3
    for element in (x, (x,), (x, y), {"features": x}):
        dataset = tf.data.Dataset.from_tensor_slices(element).batch(8)
        checked = _backend.finite_dataset(dataset)
        assert checked.element_spec == dataset.element_spec
        for got, expected in zip(checked, dataset):
            tf.nest.map_structure(np.testing.assert_array_equal, got, expected)
    assert _backend.finite_dataset(x) is x
    assert _backend.finite_dataset(None) is None


def test_nan_in_a_dataset_given_to_a_deep_ensemble():
    import tensorflow as tf

    from keras_pmm import models
    from keras_pmm import uq

    ensemble = uq.DeepEnsemble(
        models.PMMClassifier(num_classes=3, n=3), num_members=2, seed=0
    )
    ensemble.build((None, 3))
    features = _features((2, 2), np.inf)
    dataset = tf.data.Dataset.from_tensor_slices(features).batch(8)
    message = NAN_MESSAGE.format(name="x", size=24, index=(2, 2))
    with pytest.raises(ValueError) as info:
        ensemble.predict(dataset, verbose=0)
    assert str(info.value) == message
    labels = tf.data.Dataset.from_tensor_slices(np.arange(32) % 3).batch(8)
    with pytest.raises(ValueError) as info:
        ensemble.evaluate(tf.data.Dataset.zip((dataset, labels)), verbose=0)
    assert str(info.value) == message
