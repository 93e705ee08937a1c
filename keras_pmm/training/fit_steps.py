"""`fit_steps`: a fixed number of optimizer steps in one compiled loop."""

import math

import keras
import numpy as np

from keras_pmm import _validation
from keras_pmm.training import _loops


def cosine_adam(learning_rate, steps, decay_to=0.0):
    """Adam whose learning rate decays along a cosine over `steps` steps.

    The rate at step t is `learning_rate * (decay_to + (1 - decay_to) *
    (1 + cos(pi t / steps)) / 2)`, and `learning_rate * decay_to` after
    `steps` (`keras.optimizers.schedules.CosineDecay` with
    `alpha=decay_to`).

    Args:
        learning_rate: the initial rate, a positive float.
        steps: the number of optimizer steps of the decay, a positive int.
        decay_to: the final rate as a fraction of the first, in [0, 1].

    Returns:
        A `keras.optimizers.Adam`.

    Raises:
        ValueError: for a non-positive rate or step count, or `decay_to`
            outside [0, 1].

    Example:

    >>> from keras_pmm.training import cosine_adam
    >>> optimizer = cosine_adam(5e-2, steps=1000)
    >>> round(float(optimizer.learning_rate), 6)
    0.05
    """
    if not learning_rate > 0:
        raise ValueError(
            f"learning_rate must be positive. Received: {learning_rate}"
        )
    steps = _validation.check_positive_int(steps, "steps")
    if not 0 <= decay_to <= 1:
        raise ValueError(f"decay_to must be in [0, 1]. Received: {decay_to}")
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, steps, alpha=decay_to
    )
    return keras.optimizers.Adam(schedule)


def _batch_function(size, batch_size):
    """batch(x, y, step): rows step*b, ..., step*b + b - 1 (mod size)."""
    if batch_size == size:
        return lambda x, y, step: (x, y)

    def batch(x, y, step):
        start = keras.ops.cast(step, "int32") * batch_size
        offsets = keras.ops.arange(batch_size, dtype="int32")
        rows = keras.ops.mod(start + offsets, size)
        return keras.ops.take(x, rows, axis=0), keras.ops.take(y, rows, axis=0)

    return batch


def fit_steps(model, x, y, steps, batch_size=None, verbose=0, updates=10):
    """Trains a compiled model for `steps` optimizer steps on in-memory arrays.

    For small data sets (up to a few thousand examples) the cost of Keras's
    `fit` is mostly its per-step and per-epoch work, not the model. This
    runs the model's own `train_step` (its loss, metrics, regularisers and
    optimizer, as compiled) `steps` times inside one compiled loop
    (`keras_pmm/training/_loops.py`): a `jax.lax.fori_loop` under `jax.jit`
    on JAX, a `tf.function` loop on TensorFlow, a plain loop on PyTorch.
    On pyPMM's 2-D example (`benchmarks/pypmm_tasks.py`: 2,000 steps of
    batch 25, model construction and compilation included) it takes 1.8 s
    where `fit` on the same batches takes 2.1 s on JAX, and 2.0 s against
    5.1 s on TensorFlow.

    Batches are fixed, not shuffled: step i trains on rows i*b to
    i*b + b - 1 of `x`, counted modulo len(x), so that every example is
    seen equally often and a full batch (the default) is the whole data set
    at every step. Shuffle `x` and `y` together beforehand if their order
    is not random.

    A model with an `adapt` method that is not yet adapted
    (`PMMRegressor`'s input and target scaling) is adapted to `x` and `y`
    first, as its `fit` would. Callbacks are not run: use `model.fit` for
    checkpoints, early stopping or validation data.

    Args:
        model: a compiled Keras model (`model.compile(optimizer=...)`).
        x: inputs, an array of shape (N, ...).
        y: targets, an array of shape (N, ...).
        steps: the number of optimizer steps, a positive int.
        batch_size: examples per step, from 1 to N; None (the default)
            trains on all N at every step.
        verbose: 1 shows a progress bar with the loss, 0 is silent.
        updates: how many times the progress bar (and the returned logs'
            averaging window) is updated; each update is one compiled call
            of about `steps / updates` steps.

    Returns:
        The logs of the last update: a dict of floats, the loss and the
        compiled metrics averaged over its steps.

    Raises:
        ValueError: for an uncompiled model, inputs that are not one array
            each (datasets, generators, lists, dicts), mismatched or empty
            arrays, non-finite values, or a bad step count or batch size.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_pmm.models import PMMRegressor
    >>> from keras_pmm.training import cosine_adam, fit_steps
    >>> x = np.linspace(-3, 3, 50, dtype="float32")[:, None]
    >>> y = np.sin(x)
    >>> keras.utils.set_random_seed(0)
    >>> model = PMMRegressor(n=4, r=2, field="complex")
    >>> model.compile(optimizer=cosine_adam(5e-2, steps=200))
    >>> logs = fit_steps(model, x, y, steps=200)
    >>> bool(logs["loss"] < 0.05)
    True
    """
    if getattr(model, "optimizer", None) is None or not getattr(
        model, "compiled", False
    ):
        raise ValueError(
            "fit_steps trains a compiled model: call "
            "`model.compile(optimizer=...)` first."
        )
    steps = _validation.check_positive_int(steps, "steps")
    updates = _validation.check_positive_int(updates, "updates")
    for name, array in (("x", x), ("y", y)):
        if not _validation.is_array_like(array):
            raise ValueError(
                f"fit_steps takes {name} as one in-memory array (numpy or a "
                "backend tensor); use `model.fit` for datasets, generators "
                f"and multi-input models. Received: {type(array).__name__}"
            )
    # Floating arrays in keras.backend.floatx(), as `fit`'s data adapter
    # casts them.
    x, y = (
        array.astype(keras.backend.floatx())
        if np.issubdtype(array.dtype, np.floating)
        else array
        for array in (np.asarray(x), np.asarray(y))
    )
    if x.ndim == 0 or y.ndim == 0 or len(x) == 0 or len(x) != len(y):
        raise ValueError(
            "x and y must be arrays with the same, non-zero number of rows. "
            f"Received: x.shape={x.shape}, y.shape={y.shape}"
        )
    for name, array in (("x", x), ("y", y)):
        if np.issubdtype(array.dtype, np.inexact):
            _validation.check_finite(array, name)
    size = len(x)
    if batch_size is None:
        batch_size = size
    batch_size = _validation.check_positive_int(batch_size, "batch_size")
    if batch_size > size:
        raise ValueError(
            f"batch_size must be at most the {size} examples. "
            f"Received: batch_size={batch_size}"
        )
    if hasattr(model, "check_targets"):
        model.check_targets(y)
    if hasattr(model, "adapt") and getattr(model, "adapted", True) is False:
        model.adapt(x, y)
    # Builds the model, its compiled loss and metrics and the optimizer, as
    # `fit` does, so that the loop's state exists before it is traced.
    model._symbolic_build(data_batch=(x[:batch_size], y[:batch_size]))
    x_tensor = keras.ops.convert_to_tensor(x)
    y_tensor = keras.ops.convert_to_tensor(y)
    run = _loops.make_loop(model, _batch_function(size, batch_size))
    chunk = math.ceil(steps / min(updates, steps))
    progress, logs = None, {}
    for start in range(0, steps, chunk):
        stop = min(start + chunk, steps)
        model.reset_metrics()
        run(x_tensor, y_tensor, start, stop)
        logs = {
            key: float(keras.ops.convert_to_numpy(value))
            for key, value in model.get_metrics_result().items()
        }
        if progress is None:  # the logs are averages already: show them
            progress = keras.utils.Progbar(
                steps, verbose=verbose, stateful_metrics=list(logs)
            )
        progress.update(stop, values=list(logs.items()), finalize=stop == steps)
    return logs
