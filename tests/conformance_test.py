"""One table of every public layer and model, one set of checks for each."""

import dataclasses
import warnings

import keras
import numpy as np
import pytest
from keras.src.testing import TestCase as KerasTestCase

from keras_pmm import layers
from keras_pmm import models
from tests.models.model_cases import MODEL_CASES
from tests.models.model_cases import L
from tests.models.model_cases import features
from tests.models.model_cases import images
from tests.test_case import TestCase
from tests.test_case import _RealFeatures
from tests.test_case import policy_scope
from tests.test_case import random_hermitian
from tests.test_case import to_numpy

MIXED_POLICIES = ["mixed_float16", "mixed_bfloat16"]


def with_mixed_policies(cases):
    """Each case with one mixed policy, alternating down the table.

    Both policies go through the same code (compute in the policy's 16-bit
    dtype, eigh upcast to float32), so every case under one of them, and
    each policy over half the table, keeps the promise at half the cost.
    """
    params = []
    for index, case in enumerate(cases):
        policy = MIXED_POLICIES[index % len(MIXED_POLICIES)]
        params.append(pytest.param(case, policy, id=f"{case.name}-{policy}"))
    return params


@dataclasses.dataclass
class LayerCase:
    name: str
    cls: type
    kwargs: dict
    input_data: np.ndarray
    output_shape: tuple
    num_params: int  # the documented formula, written out
    dtype: str = "float32"

    def make(self, **overrides):
        return self.cls(**{**self.kwargs, **overrides})


LAYER_CASES = [
    LayerCase(
        "affine_real",
        layers.AffineHermitian,
        dict(n=4),
        features(6, 3),
        (4, 4),
        (3 + 1) * L(4),
    ),
    LayerCase(
        "affine_complex",
        layers.AffineHermitian,
        dict(n=3, field="complex", commutator_penalty=0.1),
        features(6, 2),
        (3, 3),
        (2 + 1) * L(3, "complex"),
        "complex64",
    ),
    LayerCase(
        "low_rank_affine_real",
        layers.LowRankAffineHermitian,
        dict(n=4, rank=2),
        features(6, 3),
        (4, 4),
        L(4) + 3 * 2 * (4 + 1),
    ),
    LayerCase(
        "low_rank_affine_complex",
        layers.LowRankAffineHermitian,
        dict(n=3, rank=1, field="complex", commutator_penalty=0.1),
        features(6, 2),
        (3, 3),
        L(3, "complex") + 2 * 1 * (2 * 3 + 1),
        "complex64",
    ),
    LayerCase(
        "feature_scaling",
        layers.FeatureScaling,
        dict(mode="standard"),
        features(6, 3),
        (3,),
        2 * 3,  # non-trainable offset and scale
    ),
    LayerCase(
        "matrix_input_real",
        layers.MatrixInputHermitian,
        dict(n=4),
        random_hermitian((6, 3, 3)),
        (4, 4),
        4 * 3 + L(4),
    ),
    LayerCase(
        "matrix_input_complex",
        layers.MatrixInputHermitian,
        dict(n=4, field="complex"),
        random_hermitian((6, 3, 3)),
        (4, 4),
        2 * 4 * 3 + L(4, "complex"),
        "complex64",
    ),
    LayerCase(
        "block_gram_encoder",
        layers.BlockGramEncoder,
        dict(n=5, block_shape=(4, 2)),
        images(6, 8, 8).astype("float32"),
        (5, 5),
        (2 * 4) * 5 * (4 + 2),
    ),
    LayerCase(
        "block_gram_encoder_block_norm",
        layers.BlockGramEncoder,
        dict(n=3, block_shape=(4, 4), normalization="block"),
        images(6, 8, 8, blank_blocks=True).astype("float32"),
        (3, 3),
        4 * 3 * (4 + 4),
    ),
    LayerCase(
        "deskew",
        layers.Deskew,
        {},
        images(6, 8, 8).astype("float32"),
        (8, 8),
        0,
    ),
    LayerCase(
        "class_hamiltonians",
        layers.ClassHamiltonians,
        dict(num_classes=3, size=4),
        random_hermitian((6, 5, 5)),
        (3, 4, 4),
        3 * (4 * 5 + L(4)),
    ),
    LayerCase(
        "eigenvalue_readout",
        layers.EigenvalueReadout,
        dict(r=2),
        random_hermitian((6, 4, 4)),
        (2,),
        0,
    ),
    LayerCase(
        "eigenvalue_readout_affine_jacobi",
        layers.EigenvalueReadout,
        dict(r=2, which="highest", units=3, method="jacobi"),
        random_hermitian((6, 4, 4), "complex"),
        (3,),
        2 * 3 + 3,
    ),
    LayerCase(
        "observable_pairwise",
        layers.ObservableReadout,
        dict(units=3, r=2),
        random_hermitian((6, 4, 4)),
        (3,),
        3 * (3 * L(4) + 1),
    ),
    LayerCase(
        "observable_shared_complex",
        layers.ObservableReadout,
        dict(units=2, r=3, decoder="shared", field="complex"),
        random_hermitian((6, 4, 4), "complex"),
        (2,),
        2 * (L(4, "complex") + 1),
    ),
    LayerCase(
        "observable_expectation_stacked_jacobi",
        layers.ObservableReadout,
        dict(
            units=1,
            r=2,
            decoder="expectation",
            which="largest_magnitude",
            method="jacobi",
        ),
        random_hermitian((6, 3, 4, 4)),
        (3, 1),
        3 * 1 * (L(4) + 1),
    ),
]


class TestConformance(TestCase):
    @pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: c.name)
    def test_layer(self, case):
        self.run_layer_test(
            case.make,
            case.input_data,
            case.output_shape,
            case.num_params,
            case.dtype,
        )

    @pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: c.name)
    def test_layer_passes_keras_run_layer_test(self, case):
        """Keras's own harness, training and mixed-precision checks on.

        Its training check minimises sum(outputs), which has no meaning for
        complex outputs; those layers train in `test_layer` through real
        features instead. Keras skips its mixed-precision check on PyTorch
        without CUDA; `test_layer_under_mixed_precision` covers it there.
        """
        keras_test = KerasTestCase()
        keras_test.setUp()
        keras_test.run_layer_test(
            case.cls,
            case.kwargs,
            input_data=case.input_data,
            expected_output_shape=(len(case.input_data),) + case.output_shape,
            expected_output_dtype=case.dtype,
            run_training_check="complex" not in case.dtype,
            run_mixed_precision_check=True,
            assert_built_after_instantiation=case.cls is layers.Deskew,
        )

    @pytest.mark.parametrize("case,policy", with_mixed_policies(LAYER_CASES))
    def test_layer_under_mixed_precision(self, case, policy):
        """Finite outputs in the policy's compute dtype, eager and fitted."""
        expected_dtype = (
            case.dtype if "complex" in case.dtype else policy.split("_")[1]
        )
        layer = case.make(dtype=policy)
        outputs = layer(case.input_data)
        assert keras.backend.standardize_dtype(outputs.dtype) == expected_dtype
        assert np.all(np.isfinite(to_numpy(outputs).astype("complex128")))
        assert all(
            keras.backend.standardize_dtype(w.dtype) == "float32"
            for w in layer.weights
        )

        inputs = keras.Input(
            case.input_data.shape[1:], dtype=case.input_data.dtype
        )
        model = keras.Model(
            inputs, _RealFeatures(dtype=policy)(case.make(dtype=policy)(inputs))
        )
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        target = np.zeros(
            (len(case.input_data),) + tuple(model.output_shape[1:]), "float32"
        )
        history = model.fit(
            case.input_data, target, epochs=1, batch_size=3, verbose=0
        )
        assert np.isfinite(history.history["loss"][0])
        predictions = model.predict(case.input_data, verbose=0)
        assert np.all(np.isfinite(predictions))

    @pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.name)
    def test_model(self, case):
        self.run_model_test(
            case.make, case.x, case.y, case.output_shape, case.num_params
        )

    @pytest.mark.parametrize("case,policy", with_mixed_policies(MODEL_CASES))
    def test_model_under_mixed_precision(self, case, policy):
        """Eager call, predict and fit: finite, in the compute dtype."""
        with policy_scope(policy):
            model = case.make()
            outputs = model(case.x[:1])
            assert (
                keras.backend.standardize_dtype(outputs.dtype)
                == policy.split("_")[1]
            )
            assert np.all(np.isfinite(to_numpy(outputs).astype("float32")))
            history = model.fit(
                case.x, case.y, epochs=1, batch_size=4, verbose=0
            )
            assert np.isfinite(history.history["loss"][0])
            predictions = model.predict(case.x, verbose=0)
            assert (
                predictions.dtype == policy.split("_")[1]
                or policy == "mixed_bfloat16"
            )
            assert np.all(np.isfinite(predictions.astype("float32")))

    @pytest.mark.large
    @pytest.mark.every_backend
    @pytest.mark.parametrize(
        "case", [c for c in MODEL_CASES if c.jit], ids=lambda c: c.name
    )
    def test_model_fits_and_predicts_with_jit_compile(self, case):
        """XLA on TensorFlow and JAX, torch.compile (TorchDynamo) on PyTorch."""
        model = case.make()
        model.compile(jit_compile=True)
        history = model.fit(
            case.x, case.y, epochs=1, batch_size=len(case.x), verbose=0
        )
        assert np.isfinite(history.history["loss"][0])
        eager = case.make()
        eager.predict(case.x[:1], verbose=0)
        eager.set_weights(model.get_weights())
        np.testing.assert_allclose(
            model.predict(case.x, batch_size=len(case.x), verbose=0),
            eager.predict(case.x, verbose=0),
            atol=1e-5,
        )

    @pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.name)
    def test_same_seed_gives_the_same_model(self, case):
        """set_random_seed before construction fixes every initial weight."""
        keras.utils.set_random_seed(0)
        first = case.make()
        keras.utils.set_random_seed(0)
        second = case.make()
        third = case.make()
        for model in (first, second, third):
            model.predict(case.x[:2], verbose=0)
        for a, b in zip(first.get_weights(), second.get_weights()):
            np.testing.assert_array_equal(a, b)
        assert any(
            not np.array_equal(a, b)
            for a, b in zip(first.get_weights(), third.get_weights())
        )

    @pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.name)
    def test_model_builds_from_an_input_shape(self, case):
        model = case.make()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.build((None,) + case.x.shape[1:])
        assert model.built and model.count_params() == case.num_params

    @pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.name)
    def test_model_dtype_reaches_every_sublayer(self, case, float64):
        model = case.make(dtype="float64")
        assert {
            layer.compute_dtype
            for layer in model._flatten_layers(include_self=False)
        } == {"float64"}
        predictions = model.predict(case.x, verbose=0)
        assert predictions.dtype == np.float64
        history = model.fit(case.x, case.y, epochs=1, batch_size=4, verbose=0)
        assert np.isfinite(history.history["loss"][0])


def test_table_covers_every_public_layer_and_model():
    covered = {case.cls.__name__ for case in LAYER_CASES}
    covered |= {type(case.make()).__name__ for case in MODEL_CASES}
    compiled = {type(case.make()).__name__ for case in MODEL_CASES if case.jit}
    assert compiled == {type(case.make()).__name__ for case in MODEL_CASES}
    bases = {"PMMTask", "PMMClassifierTask"}
    # scikit-learn estimators, not Keras models: sklearn_estimators_test.py
    bases |= {"PMMSKLearnRegressor", "PMMSKLearnClassifier"}
    public = set(layers.__all__) | (set(models.__all__) - bases)
    assert public <= covered, (
        f"missing from the conformance table: {public - covered}"
    )
