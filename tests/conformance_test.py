"""One table of every public layer and model, one set of checks for each."""

import dataclasses

import numpy as np
import pytest

from keras_pmm import layers, models
from keras_pmm.linalg import packed_size
from tests.test_case import TestCase, random_hermitian

L = packed_size  # parameters of one packed matrix: L(n) real, L(n, "complex") complex


def _features(batch, p):
    return np.random.default_rng(0).uniform(-1, 1, size=(batch, p)).astype("float32")


def _images(batch, height, width):
    return np.random.default_rng(0).integers(0, 256, size=(batch, height, width)).astype("uint8")


@dataclasses.dataclass
class LayerCase:
    name: str
    make: callable
    input_data: np.ndarray
    output_shape: tuple
    num_params: int  # the documented formula, written out
    dtype: str = "float32"


LAYER_CASES = [
    LayerCase("affine_real", lambda: layers.AffineHermitian(4), _features(6, 3), (4, 4), (3 + 1) * L(4)),
    LayerCase(
        "affine_complex",
        lambda: layers.AffineHermitian(3, field="complex", commutator_penalty=0.1),
        _features(6, 2), (3, 3), (2 + 1) * L(3, "complex"), "complex64",
    ),
    LayerCase(
        "matrix_input_real", lambda: layers.MatrixInputHermitian(4),
        random_hermitian((6, 3, 3)), (4, 4), 4 * 3 + L(4),
    ),
    LayerCase(
        "matrix_input_complex", lambda: layers.MatrixInputHermitian(4, field="complex"),
        random_hermitian((6, 3, 3)), (4, 4), 2 * 4 * 3 + L(4, "complex"), "complex64",
    ),
    LayerCase(
        "block_gram_encoder", lambda: layers.BlockGramEncoder(5, block_shape=(4, 2)),
        _images(6, 8, 8).astype("float32"), (5, 5), (2 * 4) * 5 * (4 + 2),
    ),
    LayerCase("deskew", lambda: layers.Deskew(), _images(6, 8, 8).astype("float32"), (8, 8), 0),
    LayerCase(
        "class_hamiltonians", lambda: layers.ClassHamiltonians(3, size=4),
        random_hermitian((6, 5, 5)), (3, 4, 4), 3 * (4 * 5 + L(4)),
    ),
    LayerCase("eigenvalue_readout", lambda: layers.EigenvalueReadout(2), random_hermitian((6, 4, 4)), (2,), 0),
    LayerCase(
        "eigenvalue_readout_affine_jacobi",
        lambda: layers.EigenvalueReadout(2, which="highest", units=3, method="jacobi"),
        random_hermitian((6, 4, 4), "complex"), (3,), 2 * 3 + 3,
    ),
    LayerCase(
        "observable_pairwise", lambda: layers.ObservableReadout(3, r=2),
        random_hermitian((6, 4, 4)), (3,), 3 * (3 * L(4) + 1),
    ),
    LayerCase(
        "observable_shared_complex",
        lambda: layers.ObservableReadout(2, r=3, decoder="shared", field="complex"),
        random_hermitian((6, 4, 4), "complex"), (2,), 2 * (L(4, "complex") + 1),
    ),
    LayerCase(
        "observable_expectation_stacked_jacobi",
        lambda: layers.ObservableReadout(
            1, r=2, decoder="expectation", which="largest_magnitude", method="jacobi"
        ),
        random_hermitian((6, 3, 4, 4)), (3, 1), 3 * 1 * (L(4) + 1),
    ),
]


@dataclasses.dataclass
class ModelCase:
    name: str
    make: callable
    x: np.ndarray
    y: np.ndarray
    output_shape: tuple
    num_params: int


MODEL_CASES = [
    ModelCase(
        "regressor_observable", lambda: models.PMMRegressor(num_outputs=2, n=4, r=2),
        _features(8, 3), _features(8, 2), (2,), (3 + 1) * L(4) + 2 * (3 * L(4) + 1),
    ),
    ModelCase(
        "regressor_eigenvalue_complex",
        lambda: models.PMMRegressor(n=4, r=3, readout="eigenvalue", field="complex"),
        _features(8, 3), _features(8, 1), (1,), (3 + 1) * L(4, "complex") + 3 * 1 + 1,
    ),
    ModelCase(
        "classifier", lambda: models.PMMClassifier(3, n=4, r=2, decoder="shared"),
        _features(8, 5), np.arange(8) % 3, (3,), (5 + 1) * L(4) + 3 * (L(4) + 1),
    ),
    ModelCase(
        "image_classifier",
        lambda: models.ImagePMMClassifier(4, image_shape=(8, 8), block_shape=(4, 4), n=3, r=2),
        _images(8, 8, 8), np.arange(8) % 4, (4,),
        4 * 3 * (4 + 4) + 4 * (3 * 3 + L(3)) + 4 * (3 * L(3) + 1),
    ),
    ModelCase(
        "image_classifier_deskew",
        lambda: models.ImagePMMClassifier(
            4, image_shape=(8, 8), block_shape=(4, 4), n=3, r=2, deskew=True
        ),
        _images(8, 8, 8), np.arange(8) % 4, (4,),
        4 * 3 * (4 + 4) + 4 * (3 * 3 + L(3)) + 4 * (3 * L(3) + 1),
    ),
    ModelCase(
        "hybrid_classifier",
        lambda: models.HybridPMMClassifier(
            4, image_shape=(8, 8), conv_filters=(2,), features=3, n=3, r=2
        ),
        _images(8, 8, 8), np.arange(8) % 4, (4,),
        (9 + 1) * 2 + (4 * 4 * 2 + 1) * 3 + (3 + 1) * L(3) + 4 * (3 * L(3) + 1),
    ),
]


class TestConformance(TestCase):
    @pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: c.name)
    def test_layer(self, case):
        self.run_layer_test(case.make, case.input_data, case.output_shape, case.num_params, case.dtype)

    @pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.name)
    def test_model(self, case):
        self.run_model_test(case.make, case.x, case.y, case.output_shape, case.num_params)


def test_table_covers_every_public_layer_and_model():
    covered = {type(case.make()).__name__ for case in LAYER_CASES + MODEL_CASES}
    public = set(layers.__all__) | (set(models.__all__) - {"PMMTask"})
    assert public <= covered, f"missing from the conformance table: {public - covered}"
