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
