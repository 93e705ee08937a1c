"""The one place that knows which Keras backend is running.

Everything else in keras-pmm uses `keras.ops` only. The helpers here answer
questions that `keras.ops` cannot: whether a tensor holds concrete values
(so that data-dependent input checks can run) or is being traced; they
build complex tensors without TensorFlow's complex-to-real cast warnings;
and they check the batches of a `tf.data.Dataset` for NaN inside its
pipeline, where every backend reads them (`finite_dataset`).
"""

import contextlib
import re
import sys

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


# Opens the message of the assertion `finite_dataset` adds to a dataset.
_NOT_FINITE_MARK = "keras_pmm: NaN or inf in a dataset batch:"
_NOT_FINITE = re.compile(
    re.escape(_NOT_FINITE_MARK)
    + r" (?P<name>[^\]]+)\] \[(?P<count>\d+)\] \[(?P<size>\d+)\]"
    r" \[\[(?P<index>[-\d ]*)\]\]"
)


def is_tf_dataset(x):
    """Whether `x` is a `tf.data.Dataset` (never imports TensorFlow)."""
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(x, tf.data.Dataset)


def finite_dataset(dataset, prefix=""):
    """`dataset` with every batch checked for NaN and inf; others unchanged.

    The check runs inside the `tf.data` pipeline, so it holds whichever
    backend consumes the batches: JAX and TensorFlow trace the model, which
    skips the check of concrete inputs, and on JAX a NaN batch otherwise
    gave a NaN row with no error. Elements are `x`, `(x, y)` or `(x, y,
    sample_weight)`, as Keras reads them; float and complex tensors are
    checked. The failure is a TensorFlow error that `dataset_errors` turns
    into a `ValueError`.

    Args:
        dataset: any value; only a `tf.data.Dataset` is wrapped.
        prefix: put before the names `x`, `y` and `sample_weight` in the
            message (e.g. "validation_data ").

    Returns:
        The checked dataset, or `dataset` itself when it is not one.
    """
    if not is_tf_dataset(dataset):
        return dataset
    import tensorflow as tf

    def check(tensor, name):
        if not isinstance(tensor, tf.Tensor) or not (
            tensor.dtype.is_floating or tensor.dtype.is_complex
        ):
            return tensor
        values = tensor
        if tensor.dtype.is_complex:
            values = tf.math.real(tensor) + tf.math.imag(tensor)
        bad = tf.logical_not(tf.math.is_finite(values))
        count = tf.reduce_sum(tf.cast(bad, tf.int64))
        assertion = tf.debugging.Assert(
            tf.equal(count, 0),
            [
                f"{_NOT_FINITE_MARK} {prefix}{name}",
                count,
                tf.size(tensor, out_type=tf.int64),
                tf.where(bad)[:1],
            ],
            summarize=64,
        )
        with tf.control_dependencies([assertion]):
            return tf.identity(tensor)

    names = ("x", "y", "sample_weight")
    unpacked = type(dataset.element_spec) is tuple  # map passes it as *args

    def check_element(*element):
        parts = element if unpacked else element[:1]
        checked = tuple(
            tf.nest.map_structure(
                lambda t, i=i: check(t, names[i] if i < 3 else f"[{i}]"), part
            )
            for i, part in enumerate(parts)
        )
        return checked if unpacked else checked[0]

    return dataset.map(check_element)


def _not_finite_message(error):
    match = _NOT_FINITE.search(str(error))
    if match is None:
        return None
    index = tuple(int(i) for i in match["index"].split())
    return (
        f"`{match['name']}` must be finite, but a batch of the "
        f"tf.data.Dataset holds {match['count']} NaN or inf entries among "
        f"its {match['size']} (first at index {index} of that batch)."
    )


@contextlib.contextmanager
def dataset_errors(model, *inputs):
    """Turns `finite_dataset`'s failure inside `model`'s `fit`, `evaluate`
    or `predict` into a `ValueError` naming the input.

    On JAX, Keras detaches the model's variable values while its loop runs
    (and donates their buffers to the compiled steps) and reattaches them
    when the loop ends; an error raised mid-loop would leave them detached
    (the next call fails with "'NoneType' object is not callable"). So when
    one of `inputs` is a `tf.data.Dataset`, copies of the values held before
    the call are put back.

    Raises:
        ValueError: a batch held NaN or inf.
    """
    saved = []
    if keras.backend.backend() == "jax" and any(map(is_tf_dataset, inputs)):
        import jax.numpy as jnp

        variables = list(model.variables) + list(model.metrics_variables)
        if getattr(model, "optimizer", None) is not None:
            variables += list(model.optimizer.variables)
        saved = [
            (v, None if v._value is None else jnp.array(v._value, copy=True))
            for v in {id(v): v for v in variables}.values()
        ]
    try:
        yield
    except Exception as error:
        message = _not_finite_message(error)
        if message is None:
            raise
        for variable, value in saved:
            if value is not None:
                variable._value = value
        raise ValueError(message) from None
