"""Hermitian matrices from real weights with no redundant entries.

A real symmetric n x n matrix is stored as n(n+1)/2 floats and a complex
Hermitian one as n^2 floats, in the packed layout

    real:    [diag (n) | upper (n(n-1)/2)]
    complex: [diag (n) | Re upper (n(n-1)/2) | Im upper (n(n-1)/2)]

where "upper" runs over the strict upper triangle in `numpy.triu_indices(n, 1)`
order. The lower triangle mirrors the upper one (conjugated for complex).
"""

import functools
import math

import numpy as np
from keras import ops

from keras_pmm import _validation
from keras_pmm._precision import complex_from_parts
from keras_pmm._precision import is_complex

FIELDS = ("real", "complex")


def packed_size(n, field="real"):
    """Number of real floats that store one n x n Hermitian matrix.

    Args:
        n: matrix size, >= 1.
        field: `"real"` (symmetric, n(n+1)/2 floats) or `"complex"`
            (Hermitian, n^2 floats).

    Returns:
        The packed length as a Python int.

    Example:
    >>> from keras_pmm.linalg import packed_size
    >>> packed_size(4), packed_size(4, "complex")
    (10, 16)
    """
    n = _validation.check_positive_int(n, "n")
    _validation.check_choice(field, "field", FIELDS)
    return n * (n + 1) // 2 if field == "real" else n * n


def size_from_packed(length, field="real"):
    """Inverse of `packed_size`: the n whose packed length is `length`."""
    _validation.check_choice(field, "field", FIELDS)
    # Integer arithmetic only: under torch.compile `length` can be a symbolic
    # int that NumPy cannot round.
    length = int(length)
    n = (
        (math.isqrt(8 * length + 1) - 1) // 2
        if field == "real"
        else math.isqrt(length)
    )
    if n < 1 or packed_size(n, field) != length:
        raise ValueError(
            f"A packed {field} Hermitian matrix has length n(n+1)/2 (real) or "
            f"n^2 (complex) for some n >= 1. Received: length={length}"
        )
    return n


@functools.lru_cache(maxsize=None)
def _unpack_indices(n):
    """Index maps from packed positions to the n*n entries (row-major)."""
    upper_rows, upper_cols = np.triu_indices(n, 1)
    num_upper = len(upper_rows)
    real_index = np.zeros((n, n), dtype="int32")
    imag_index = np.zeros((n, n), dtype="int32")
    imag_sign = np.zeros((n, n), dtype="float32")
    real_index[np.arange(n), np.arange(n)] = np.arange(n)
    offsets = n + np.arange(num_upper)
    real_index[upper_rows, upper_cols] = offsets
    real_index[upper_cols, upper_rows] = offsets
    imag_index[upper_rows, upper_cols] = offsets + num_upper
    imag_index[upper_cols, upper_rows] = offsets + num_upper
    imag_sign[upper_rows, upper_cols] = 1.0
    imag_sign[upper_cols, upper_rows] = -1.0
    return real_index.reshape(-1), imag_index.reshape(-1), imag_sign.reshape(-1)


def hermitian_from_packed(packed, field="real"):
    """Builds Hermitian matrices from packed real weights.

    Args:
        packed: real tensor of shape (..., L) with L = `packed_size(n, field)`.
        field: `"real"` gives real symmetric matrices, `"complex"` gives
            complex Hermitian matrices (complex64 for float32 input,
            complex128 for float64 input).

    Returns:
        Tensor of shape (..., n, n).

    Example:
    >>> import numpy as np
    >>> from keras_pmm.linalg import hermitian_from_packed
    >>> h = hermitian_from_packed(np.array([1.0, 2.0, 3.0]))
    >>> np.asarray(h).tolist()
    [[1.0, 3.0], [3.0, 2.0]]
    """
    _validation.check_choice(field, "field", FIELDS)
    length = packed.shape[-1]
    n = size_from_packed(length, field)
    batch_shape = tuple(ops.shape(packed)[:-1])
    real_index, imag_index, imag_sign = _unpack_indices(n)
    real_part = ops.take(packed, real_index, axis=-1)
    real_part = ops.reshape(real_part, batch_shape + (n, n))
    if field == "real":
        return real_part
    imag_part = ops.take(packed, imag_index, axis=-1) * ops.cast(
        imag_sign, packed.dtype
    )
    imag_part = ops.reshape(imag_part, batch_shape + (n, n))
    return complex_from_parts(real_part, imag_part)


def packed_from_hermitian(matrix, field=None):
    """Packs Hermitian numpy matrices in the layout of `hermitian_from_packed`.

    Args:
        matrix: array of shape (..., n, n), real symmetric or complex Hermitian.
        field: `"real"` or `"complex"`; inferred from the dtype when omitted.

    Returns:
        numpy array of shape (..., packed_size(n, field)).
    """
    matrix = np.asarray(matrix)
    _validation.check_square(matrix.shape, "matrix")
    if field is None:
        field = "complex" if np.iscomplexobj(matrix) else "real"
    _validation.check_choice(field, "field", FIELDS)
    n = matrix.shape[-1]
    rows, cols = np.triu_indices(n, 1)
    diag = np.real(np.diagonal(matrix, axis1=-2, axis2=-1))
    upper = matrix[..., rows, cols]
    parts = [diag, np.real(upper)]
    if field == "complex":
        parts.append(np.imag(upper))
    return np.concatenate(parts, axis=-1)


def conjugate_transpose(x):
    """Swaps the last two axes and conjugates complex entries."""
    x_t = ops.swapaxes(x, -1, -2)
    return ops.conj(x_t) if is_complex(x) else x_t


def hermitian_part(x):
    """(x + x^H) / 2, the Hermitian part of a square matrix.

    Computed as x/2 + x^H/2, which cannot overflow for finite x.
    """
    return x / 2 + conjugate_transpose(x) / 2


def unit_scaled(h):
    """(h / r^2, r) with r^2 the power of two nearest below the largest |entry|.

    Eigensolvers square entries (rotation angles, LAPACK's and JAX's own
    symmetrisation), which overflows near the float32 limit and underflows
    below 1e-19; solving h / r^2 (largest entry in [1, 4)) and multiplying
    the eigenvalues by r^2 avoids both. r is a power of two, so the scaling
    is exact (no rounding: the same eigenvalues as an unscaled solve where
    that one is finite), and it divides by r twice because XLA turns a
    division into a product with the reciprocal, and 1 / r^2 is a denormal
    (flushed to zero) above 2^126. Returns r with shape (..., 1, 1);
    `values * r[..., 0] * r[..., 0]` undoes the scaling. h = 0 gives r = 1.
    """
    magnitude = ops.abs(h)
    if is_complex(h):
        magnitude = ops.maximum(ops.abs(ops.real(h)), ops.abs(ops.imag(h)))
    scale = ops.max(magnitude, axis=(-2, -1), keepdims=True)
    scale = ops.where(scale > 0, scale, ops.ones_like(scale))
    # full_like, not a cast scalar: Keras's torch power of a 0-d float64
    # tensor returns float32 (2^511 became inf, and float64 spectra NaN).
    root = ops.power(ops.full_like(scale, 2.0), ops.floor(ops.log2(scale) / 2))
    divisor = complex_from_parts(root) if is_complex(h) else root
    return h / divisor / divisor, root
