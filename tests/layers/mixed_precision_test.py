"""Issue 16 examples under mixed-precision policies, with the right values."""

import functools

import numpy as np
import pytest

from keras_pmm import layers
from keras_pmm import models
from tests.test_case import TestCase

POLICIES = ["mixed_float16", "mixed_bfloat16"]


def _blank_and_stroke():
    images = np.zeros((2, 28, 28), "float32")
    images[1, 14, 5:20] = 255.0  # ink in one row only: no vertical extent
    return images


@pytest.mark.parametrize("policy", POLICIES)
class TestMixedPrecision(TestCase):
    def test_deskew_leaves_blank_and_single_row_images_unchanged(self, policy):
        """Was NaN under mixed_float16: a 1e-12 floor rounds to 0 in float16."""
        images = _blank_and_stroke()
        outputs = self.run_mixed_precision_test(layers.Deskew, images, policy)
        np.testing.assert_array_equal(outputs, images)

    @pytest.mark.parametrize("normalization", ["image", "block"])
    def test_block_gram_encoder_is_finite_on_blank_images_and_blocks(
        self, policy, normalization
    ):
        outputs = self.run_mixed_precision_test(
            functools.partial(
                layers.BlockGramEncoder, 4, normalization=normalization
            ),
            _blank_and_stroke(),
            policy,
            tolerance=2e-2 if policy == "mixed_bfloat16" else 2e-3,
        )
        np.testing.assert_array_equal(outputs[0], 0.0)  # blank: M = 0, not NaN

    def test_small_image_classifier_on_one_image(self, policy):
        """Raised "`h` must be symmetric: max |h - h^H| = 0.00195" under
        both policies."""
        image = (
            np.random.default_rng(0)
            .integers(0, 256, (1, 28, 28))
            .astype("uint8")
        )
        make = functools.partial(
            models.ImagePMMClassifier, num_classes=2, n=3, r=1, deskew=True
        )
        probabilities = self.run_mixed_precision_test(make, image, policy)
        assert probabilities.shape == (1, 2)
        np.testing.assert_allclose(probabilities.sum(), 1.0, atol=1e-2)
        model = make(dtype=policy)
        history = model.fit(
            np.repeat(image, 4, 0), np.array([0, 1, 0, 1]), verbose=0
        )
        assert np.isfinite(history.history["loss"][0])
