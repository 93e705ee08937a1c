"""Double precision end to end: complex128/float64 through every builder
and solver."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_pmm import _precision
from keras_pmm import layers
from keras_pmm import linalg
from keras_pmm import models
from tests.test_case import gradient
from tests.test_case import random_hermitian
from tests.test_case import to_numpy

pytestmark = pytest.mark.usefixtures("float64")


def _dtype(x):
    return keras.backend.standardize_dtype(x.dtype)


@pytest.mark.parametrize("method", ["lapack", "jacobi"])
@pytest.mark.parametrize("field", ["real", "complex"])
def test_eigh_keeps_double_precision(method, field):
    """Issue 16 example: complex128 raised on TF and came back complex64 on
    torch (Jacobi)."""
    h = random_hermitian(
        (3, 6, 6),
        field,
        seed=1,
        dtype="complex128" if field == "complex" else "float64",
    )
    values, vectors = linalg.eigh(h, method=method)
    assert _dtype(values) == "float64"
    assert _dtype(vectors) == (
        "complex128" if field == "complex" else "float64"
    )
    values, vectors = to_numpy(values), to_numpy(vectors)
    np.testing.assert_allclose(values, np.linalg.eigvalsh(h), atol=1e-12)
    residual = h @ vectors - vectors * values[..., None, :]
    assert np.abs(residual).max() < 1e-12, (
        "Jacobi/LAPACK must reach float64 accuracy (was 2.5e-8)"
    )


def test_packed_builders_and_layers_give_complex128_for_float64():
    packed = np.random.default_rng(0).normal(size=(2, 9))
    matrices = linalg.hermitian_from_packed(packed, "complex")
    assert _dtype(matrices) == "complex128"
    np.testing.assert_allclose(
        to_numpy(matrices)[0, 0, 1], packed[0, 3] + 1j * packed[0, 6]
    )
    affine = layers.AffineHermitian(3, field="complex", dtype="float64")
    assert _dtype(affine(np.ones((2, 2)))) == "complex128"
    assert (
        _dtype(
            affine.compute_output_spec(keras.KerasTensor((None, 2), "float64"))
        )
        == "complex128"
    )
    matrix_input = layers.MatrixInputHermitian(
        3, field="complex", dtype="float64"
    )
    assert _dtype(matrix_input(np.eye(2)[None])) == "complex128"
    readout = layers.EigenvalueReadout(2, units=1, dtype="float64")
    assert (
        _dtype(readout(random_hermitian((2, 3, 3), dtype="float64")))
        == "float64"
    )


@pytest.mark.parametrize("complex_inputs", [False, True])
def test_matmul_and_einsum_keep_wide_dtypes(complex_inputs):
    """The Keras ops lower these on TF and torch; the one workaround keeps
    them exact."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(2, 3, 4)) + (
        1j * rng.normal(size=(2, 3, 4)) if complex_inputs else 0
    )
    b = rng.normal(size=(4, 5)) + (
        1j * rng.normal(size=(4, 5)) if complex_inputs else 0
    )
    product = _precision.matmul(
        ops.convert_to_tensor(a), ops.convert_to_tensor(b)
    )
    assert _dtype(product) == ("complex128" if complex_inputs else "float64")
    np.testing.assert_allclose(to_numpy(product), a @ b, rtol=1e-13, atol=1e-13)
    summed = _precision.einsum(
        "zij,jk->zik", ops.convert_to_tensor(a), ops.convert_to_tensor(b)
    )
    np.testing.assert_allclose(to_numpy(summed), a @ b, rtol=1e-13, atol=1e-13)


def test_mean_keeps_float64():
    """`ops.mean` of float64 accumulates in float32 on JAX (error ~1e-7 on
    probabilities that sum to one); the workaround keeps 1e-16."""
    p = np.random.default_rng(4).dirichlet(np.ones(3), size=(5, 7))
    mean = _precision.mean(ops.convert_to_tensor(p), axis=0)
    assert _dtype(mean) == "float64"
    np.testing.assert_allclose(to_numpy(mean), p.mean(0), rtol=0, atol=1e-15)
    narrow = _precision.mean(ops.convert_to_tensor(p, "float32"), axis=-1)
    assert _dtype(narrow) == "float32"


def test_float64_regressor_predicts_float64():
    """Issue 16 example: PMMRegressor(n=1, r=1, dtype="float64") returned
    float32 on TF and torch."""
    from keras_pmm import models

    model = models.PMMRegressor(n=1, r=1, dtype="float64")
    predictions = model.predict(np.ones((2, 1)), verbose=0)
    assert predictions.dtype == np.float64


@pytest.mark.parametrize(
    "part, expected",
    [
        ("float16", "complex64"),
        ("float32", "complex64"),
        ("float64", "complex128"),
    ],
)
def test_complex_from_parts_values_dtypes_and_gradient(part, expected):
    """real + i imag, its dtype from the parts' width, and the gradient of
    |z|^2 = a^2 + b^2: (2 a, 2 b); imag None means 0."""
    a = np.array([[1.5, -2.0], [0.25, 3.0]], part)
    b = np.array([[0.5, 1.0], [-4.0, 0.0]], part)
    z = _precision.complex_from_parts(ops.convert_to_tensor(a), b)
    assert keras.backend.standardize_dtype(z.dtype) == expected
    np.testing.assert_array_equal(to_numpy(z), a + 1j * b)
    real_only = _precision.complex_from_parts(ops.convert_to_tensor(a))
    np.testing.assert_array_equal(to_numpy(real_only), a.astype(expected))
    if part == "float16":
        return  # gradients of half-precision inputs: not a supported path

    def squared_modulus(t):
        z = _precision.complex_from_parts(t[0], t[1])
        return ops.real(z * ops.conj(z))

    grad = gradient(squared_modulus, np.stack([a, b]))
    np.testing.assert_allclose(grad, 2 * np.stack([a, b]), rtol=1e-6)


def test_training_a_complex_pmm_logs_no_complex_to_real_casts():
    """`keras.ops` builds complex numbers from casts on TensorFlow, whose
    gradients log "You are casting an input of type complex64 to an
    incompatible dtype float32" at every traced step; keras-pmm builds them
    without casts on every backend, so nothing of the kind is logged."""
    import logging

    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Collect()
    loggers = [logging.getLogger(), logging.getLogger("tensorflow")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        keras.utils.set_random_seed(0)
        x = np.random.default_rng(0).uniform(size=(16, 2)).astype("float32")
        model = models.PMMRegressor(n=4, r=2, field="complex")
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, x[:, :1] ** 2, epochs=1, batch_size=8, verbose=0)
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    assert not [r for r in records if "casting an input of type" in r]
