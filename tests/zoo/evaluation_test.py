"""Uncertainty figures and the rotated-image shift of `zoo.evaluation`."""

import numpy as np

from keras_pmm.zoo import evaluation
from tests.test_case import TestCase


class TestRotation(TestCase):
    def test_quarter_turns_match_numpy(self):
        images = np.random.default_rng(0).uniform(0, 255, (3, 28, 28))
        quarter = evaluation.rotate_images(images, 90)
        turned = [np.rot90(images, k, axes=(1, 2)) for k in (1, -1)]
        errors = [np.abs(quarter - t).max() for t in turned]
        assert min(errors) < 1e-3, errors
        half = evaluation.rotate_images(images, 180)
        np.testing.assert_allclose(half, images[:, ::-1, ::-1], atol=1e-3)
        np.testing.assert_allclose(
            evaluation.rotate_images(images, 0), images, atol=1e-4
        )

    def test_small_angles_keep_the_mass_inside(self):
        image = np.zeros((1, 28, 28), "float32")
        image[0, 10:18, 10:18] = 255.0
        rotated = evaluation.rotate_images(image, 15)
        assert rotated.shape == image.shape
        np.testing.assert_allclose(rotated.sum(), image.sum(), rtol=0.02)


class _Fixed:
    def __init__(self, probabilities):
        self.probabilities = probabilities

    def predict(self, x, batch_size=None, verbose=0):
        return self.probabilities[: len(x)]


class TestUncertaintyFigures(TestCase):
    def test_a_confident_model_separates_its_ood_set(self):
        confident = np.tile(np.eye(4)[None, 0], (10, 1)) * 0.97 + 0.0075
        model = _Fixed(confident)
        figures = evaluation.uncertainty_figures(
            model, np.zeros((10, 2)), np.zeros(10, "int64"), np.zeros((10, 2))
        )
        assert figures["test_accuracy"] == 1.0
        assert figures["ece"] < 0.03 and figures["nll"] < 0.04
        assert figures["ood_auroc"] == 0.5  # the same outputs on both sets
