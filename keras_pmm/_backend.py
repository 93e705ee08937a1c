"""The one place that knows which Keras backend is running.

Everything else in keras-pmm uses `keras.ops` only. The helpers here answer
questions that `keras.ops` cannot: whether a tensor holds concrete values
(so that data-dependent input checks can run) or is being traced.
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
