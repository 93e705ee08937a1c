"""The one place that knows which Keras backend is running.

Everything else in keras-pmm uses `keras.ops` only. The helpers here answer
questions that `keras.ops` cannot: whether a tensor holds concrete values
(so that data-dependent input checks can run) or is being traced; and they
build complex tensors without TensorFlow's complex-to-real cast warnings.
"""

import keras
import numpy as np


def is_concrete(x):
    """Whether `x` holds values that can be inspected now.

    Symbolic `KerasTensor`s, TensorFlow graph tensors, JAX tracers, tensors
    inside `torch.compile` and non-tensors (datasets, generators) are not
    concrete; numpy arrays, eager TF tensors, JAX arrays and ordinary torch
    tensors are.
    """
    if isinstance(x, (np.ndarray, np.generic, float, int)):
        return True
    if isinstance(x, keras.KerasTensor) or not keras.ops.is_tensor(x):
        return False
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.executing_eagerly() and hasattr(x, "numpy")
    if backend == "jax":
        import jax

        return not isinstance(x, jax.core.Tracer)
    if backend == "torch":
        import torch

        return not torch.compiler.is_compiling()
    return False


def to_tensor(x):
    """`x` (array, list, tensor or variable) as a backend tensor.

    `keras.ops.convert_to_tensor` hands a `tf.Variable` back unchanged on
    TensorFlow, and some `keras.ops` (`swapaxes`) then fail on it; read its
    value instead.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if isinstance(x, tf.Variable):
            return tf.convert_to_tensor(x)
    return keras.ops.convert_to_tensor(x)


def complex_from_parts(real, imag=None):
    """real + i imag for real tensors of one dtype (imag None: 0).

    complex128 for float64 parts, complex64 otherwise (float16 and bfloat16
    parts are widened to float32). `keras.ops.view_as_complex` returns
    complex64 for any parts, so complex128 is built from elementwise
    complex128 arithmetic. On TensorFlow it is `tf.complex`: `keras.ops`
    builds complex numbers from real-to-complex casts there, and the gradient
    of each such cast, a complex-to-real cast, logs "You are casting an input
    of type complex64 to an incompatible dtype float32" whenever a training
    step is traced (harmless, as the cotangent's real part is the gradient,
    but alarming); `tf.complex` has its own gradient and logs nothing.
    """
    ops = keras.ops
    wide = keras.backend.standardize_dtype(real.dtype) == "float64"
    part = "float64" if wide else "float32"
    real = ops.cast(real, part)
    imag = ops.zeros_like(real) if imag is None else ops.cast(imag, part)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.complex(real, imag)
    if not wide:
        return ops.view_as_complex(ops.stack([real, imag], axis=-1))
    unit = ops.convert_to_tensor(np.complex128(1j), dtype="complex128")
    return ops.cast(real, "complex128") + ops.cast(imag, "complex128") * unit


# The last LAPACK result of the JAX trace being built (see `sequenced`).
_LAST_LAPACK = {}


def sequenced(function, x):
    """`function(x)` for a LAPACK-backed op, never concurrent with another.

    On JAX's CPU backend a batched LAPACK call (eigh, Cholesky) splits its
    batch over XLA's intra-op thread pool and waits for the pieces from
    inside a worker of that same pool. XLA runs independent operations of
    one compiled program concurrently, so a program with as many
    independent batched solves as the pool has threads (two on a 2-core
    machine: two ensemble members, two posterior draws, two PMM heads)
    parks every worker waiting for work that no worker is left to run, and
    never finishes. Inside a JAX trace this makes each LAPACK call's input
    depend on the previous call's output in the same trace (it adds
    0 * (a finite scalar read from that output), which XLA does not fold
    away, so `x` is unchanged), and the solves run one after another, each
    still with the whole pool. Elsewhere (other backends, eager JAX) it
    just calls `function(x)`.

    Args:
        function: maps `x` to a tensor or a tuple whose first entry is a
            tensor.
        x: the op's input.

    Returns:
        `function(x)`.
    """
    if keras.backend.backend() != "jax":
        return function(x)
    import jax
    import jax.numpy as jnp

    if not isinstance(x, jax.core.Tracer):
        return function(x)
    previous = _LAST_LAPACK.get("output")
    if isinstance(previous, jax.core.Tracer) and previous._trace is x._trace:
        read = jnp.real(jax.lax.stop_gradient(previous).reshape(-1)[0])
        read = jnp.nan_to_num(read, nan=0.0, posinf=0.0, neginf=0.0)
        x = x + (0 * read).astype(jnp.real(x).dtype)
    output = function(x)
    first = output[0] if isinstance(output, (tuple, list)) else output
    _LAST_LAPACK["output"] = first
    return output
