"""Working precision, and the one workaround for Keras ops that lower it.

Measured with Keras 3.15 (DESIGN.md section 6): `ops.view_as_complex` returns
complex64 for float64 parts on every backend; `ops.matmul` returns complex64
for complex128 inputs on TensorFlow and PyTorch and float32 for float64
inputs on PyTorch; `ops.einsum` returns complex64 for complex128 inputs on
TensorFlow; `ops.mean` (and `ops.var`) of float64 on JAX accumulates in
float32 (error ~1e-7; Keras's `result_type("float64", "float32")` is
float32 there). Real float64 `ops.einsum` and elementwise complex128 arithmetic
keep their precision on all three backends, so the helpers below express
wide products through those. Narrow dtypes take the plain ops unchanged.
"""

import keras
import numpy as np
from keras import ops

from keras_pmm._backend import complex_from_parts

_WIDE = ("float64", "complex128")


def dtype_of(x):
    """The standardized dtype name of a tensor."""
    return keras.backend.standardize_dtype(x.dtype)


def is_complex(x):
    """Whether tensor `x` has a complex dtype."""
    return "complex" in dtype_of(x)


def working_dtype(dtype):
    """The dtype numerically fragile work runs in: float32 at least.

    float16 and bfloat16 (mixed-precision compute dtypes) become float32, as
    `keras.layers.BatchNormalization` does; float32, float64 and complex
    dtypes are kept.
    """
    dtype = keras.backend.standardize_dtype(dtype)
    if dtype in ("float16", "bfloat16"):
        return "float32"
    return dtype


def real_dtype(dtype):
    """float32 for complex64, float64 for complex128, else `dtype`."""
    dtype = keras.backend.standardize_dtype(dtype)
    return {"complex64": "float32", "complex128": "float64"}.get(dtype, dtype)


def complex_dtype(dtype):
    """complex128 for float64 (or complex128), complex64 for anything else."""
    dtype = keras.backend.standardize_dtype(dtype)
    return "complex128" if dtype in _WIDE else "complex64"


def machine_epsilon(dtype):
    """Spacing of floats at 1 in `dtype` (its real part for complex dtypes)."""
    dtype = real_dtype(dtype)
    if dtype == "bfloat16":
        return 2.0**-7
    return float(np.finfo(dtype).eps)


def positive_or_one(x):
    """`x` where it is positive, else 1: a divisor that is never 0.

    The safe denominator of a quantity that is 0 for degenerate inputs (the
    mass of a blank image, the norm of a blank block). It uses no floor
    constant: a floor such as 1e-12 or 1e-24 is 0 once a graph stores its
    constants in float16 (a float16 `.tflite`; float16's smallest positive
    value is 6e-8), and 0 / 0 is NaN, whereas 0 and 1 are exact in every
    float dtype and in int8 graphs' float parts.

    Args:
        x: real tensor, any float dtype.

    Returns:
        A tensor of `x`'s shape and dtype, positive everywhere.
    """
    return ops.where(x > 0, x, ops.ones_like(x))


def _is_wide(*tensors):
    return any(dtype_of(t) in _WIDE for t in tensors)


def einsum(spec, left, right):
    """`ops.einsum` of two operands that keeps float64 and complex128."""
    if not _is_wide(left, right) or not (is_complex(left) or is_complex(right)):
        return ops.einsum(spec, left, right)
    (a_re, a_im), (b_re, b_im) = _parts(left), _parts(right)
    real = ops.einsum(spec, a_re, b_re)
    imag = None
    if a_im is not None and b_im is not None:
        real = real - ops.einsum(spec, a_im, b_im)
    for part in (
        None if a_im is None else ops.einsum(spec, a_im, b_re),
        None if b_im is None else ops.einsum(spec, a_re, b_im),
    ):
        if part is not None:
            imag = part if imag is None else imag + part
    return complex_from_parts(real, imag)


def mean(x, axis):
    """`ops.mean` over one static `axis` that keeps float64 and complex128
    (on JAX `ops.mean` accumulates float64 in float32)."""
    if not _is_wide(x):
        return ops.mean(x, axis=axis)
    return ops.sum(x, axis=axis) / ops.cast(x.shape[axis], x.dtype)


def matmul(left, right):
    """`ops.matmul` (batched, broadcasting), keeping float64 and complex128."""
    if not _is_wide(left, right):
        return ops.matmul(left, right)
    return einsum("...ij,...jk->...ik", left, right)


def _parts(x):
    if is_complex(x):
        return ops.real(x), ops.imag(x)
    return ops.cast(x, "float64"), None
