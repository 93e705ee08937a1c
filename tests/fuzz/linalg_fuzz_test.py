"""Fuzz of `keras_pmm.linalg.eigh` (both solvers): drawn shapes, dtypes and
scales, NaN/inf, non-Hermitian and non-square inputs (see strategies.py)."""

import keras
import numpy as np
import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from keras_pmm.linalg import eigh
from tests.fuzz import strategies as fz
from tests.test_case import to_numpy

DTYPES = ("float16", "float32", "float64", "complex64")
# JAX compiles eigh afresh for every drawn shape and dtype (1 s each on two
# cores): fewer draws there keep the fuzz within the CI budget.
HERMITIAN_EXAMPLES = 40 if keras.backend.backend() == "jax" else 150


@st.composite
def hermitian(draw):
    """(h, finite): a Hermitian (..., n, n) array of a drawn dtype, scale
    and batch shape; NaN/inf entries (kept Hermitian) when not finite."""
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    n = draw(st.integers(1, 5))
    dtype = draw(st.sampled_from(DTYPES))
    a = draw(hnp.arrays("float64", batch + (n, n), elements=fz.floats(True)))
    if dtype == "complex64":
        a = a + 1j * draw(
            hnp.arrays("float64", batch + (n, n), elements=fz.floats(True))
        )
    h = (a + np.conj(np.swapaxes(a, -1, -2))) / 2
    finite = draw(st.booleans())
    if not finite:
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        value = draw(st.sampled_from(fz.NON_FINITE))
        h[..., i, j] = h[..., j, i] = value
    # Scale the matrix so that its entries fit the dtype (overflow would be
    # a NaN/inf input, drawn above on purpose only).
    largest = np.max(np.abs(h[np.isfinite(h)]), initial=0.0)
    limit = 1e3 if dtype == "float16" else 1e30
    if largest > limit:
        h = h * (limit / largest)
    with np.errstate(invalid="ignore"):
        h = h.astype(dtype)
    return h, finite


def _truncated_to_float32(h):
    return (
        keras.backend.backend() == "jax"
        and h.dtype == np.float64
        and np.abs(h).max(initial=0.0) > np.finfo("float32").max
    )


def _check_decomposition(h, method):
    values, vectors = eigh(h, method=method)
    values, vectors = to_numpy(values), to_numpy(vectors)
    n = h.shape[-1]
    assert values.shape == h.shape[:-1]
    assert vectors.shape == h.shape
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(vectors))
    assert np.all(np.diff(values, axis=-1) >= -1e-6 * np.abs(values).max())
    # H V = V diag(l), to the working precision relative to the scale.
    h64 = h.astype("complex128" if np.iscomplexobj(h) else "float64")
    scale = max(np.abs(h64).max(initial=0.0), 1e-300)
    residual = np.abs(h64 @ vectors - vectors * values[..., None, :]).max()
    # JAX without x64 computes float64 input in float32.
    eps = 1e-9 if values.dtype == np.float64 else 1e-3
    # Subnormal entries may be flushed to zero: tiny is the absolute floor.
    tiny = np.finfo(values.dtype).tiny
    assert residual <= 50 * n * (eps * scale + tiny), (residual, scale)


@pytest.mark.parametrize("method", ["lapack", "jacobi"])
@fz.budget(HERMITIAN_EXAMPLES)
@given(case=hermitian())
# Spectra above 2^127 gave NaN eigenvectors (a subnormal 2^-127 flushed to
# zero); float64 ones above 2^256 on torch (2^e computed in float32).
@example(case=(np.array([[3e38]], "float32"), True))
@example(case=(np.array([[1e300, 0.0], [0.0, -1e299]]), True))
# Subnormal spectra: 2^128 overflowed to inf (NaN vectors on torch).
@example(case=(np.array([[[1e30]], [[3.3e-39]], [[0.0]]], "float32"), True))
def test_eigh_hermitian(method, case):
    h, finite = case
    if _truncated_to_float32(h):
        finite = False  # JAX without x64 computes float64 in float32
    if finite:
        _check_decomposition(h, method)
    else:
        fz.refused(eigh, h, method=method, names=("`h`", "h.shape"))


@pytest.mark.parametrize("method", ["lapack", "jacobi"])
@fz.budget(100)
@given(h=fz.arrays(dtypes=fz.FLOAT_DTYPES + ("int32", "bool")))
def test_eigh_any_array(method, h):
    """Any array: refused naming `h`, or decomposed correctly."""
    try:
        values, vectors = eigh(h, method=method)
    except (ValueError, TypeError) as error:
        assert "h" in str(error), error
        return
    assert h.ndim >= 2 and h.shape[-1] == h.shape[-2]
    # Eigenvalues beyond the dtype's range (n max |h| above it) are inf.
    largest = np.finfo(to_numpy(values).dtype).max
    magnitude = np.abs(h.astype("float64")).max(initial=0.0)
    beyond = h.shape[-1] * magnitude >= largest
    fz.check_result(to_numpy(values), h.shape[:-1], allow_inf=beyond)
    fz.check_result(to_numpy(vectors), h.shape)


@fz.budget(50)
@given(st.one_of(fz.junk(), st.text(max_size=5), st.integers()))
def test_eigh_bad_method(method):
    h = np.eye(2, dtype="float32")
    fz.refused(eigh, h, method=method, names=("method",))
