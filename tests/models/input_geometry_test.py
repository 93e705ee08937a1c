"""What the zoo's image models accept: shapes, ranks, single images.

The examples of issue 16.
"""

import re

import numpy as np
import pytest

from keras_pmm import datasets
from keras_pmm import zoo

PRESETS = ["pmm_mnist", "pmm_fashion_mnist", "pmm_hybrid_mnist"]


@pytest.fixture
def test_images(data_dir):
    (_, _), (x_test, _) = datasets.load_mnist(data_dir=data_dir)
    return x_test[:20]


@pytest.fixture(scope="module", params=PRESETS)
def preset(request):
    return zoo.load(request.param)


@pytest.mark.parametrize(
    "shape",
    [(28, 28), (28, 28, 1), (1, 1, 784), (1, 14, 56), (1, 28, 28, 3), (1, 784)],
)
def test_wrong_geometry_names_expected_and_received_shape(preset, shape):
    images = np.zeros(shape, "uint8")
    for run in (
        lambda: preset.predict(images, verbose=0),
        lambda: preset.evaluate(images, np.zeros(len(images)), verbose=0),
        lambda: preset.fit(images, np.zeros(len(images)), verbose=0),
        lambda: preset(images),
    ):
        with pytest.raises(
            ValueError, match=r"\(batch, 28, 28\) or \(batch, 28, 28, 1\)"
        ):
            run()
    with pytest.raises(
        ValueError, match=re.escape(f"Received: shape={tuple(shape)}")
    ):
        preset.predict(images, verbose=0)


def test_channel_axis_and_rank_changes_give_the_same_probabilities(
    preset, test_images
):
    """(n, 28, 28), (n, 28, 28, 1) and back: TF relaxes the traced rank."""
    plain = preset.predict(test_images, verbose=0)
    with_channel = preset.predict(test_images[..., None], verbose=0)
    again = preset.predict(test_images, verbose=0)
    np.testing.assert_allclose(with_channel, plain, atol=1e-6)
    np.testing.assert_allclose(again, plain, atol=1e-6)
    one_by_one = np.concatenate(
        [
            preset.predict(image[None, ..., None], verbose=0)
            for image in test_images[:4]
        ]
    )
    np.testing.assert_allclose(one_by_one, plain[:4], atol=1e-5)
