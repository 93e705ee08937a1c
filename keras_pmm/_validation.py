"""Input checks shared by linalg helpers, layers and models.

Shape checks run on static shapes, always. Value checks (NaN/inf,
Hermiticity) run only when the tensor holds concrete values, so they never
break tracing under `jit`, `tf.function` or `torch.compile`.
"""

import numpy as np
from keras import ops

from keras_pmm import _backend
from keras_pmm import _precision


def check_positive_int(value, name):
    """Raises unless `value` is an integer >= 1."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < 1
    ):
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return int(value)


def check_num_classes(value):
    """`num_classes` as an int >= 2, else a ValueError naming it."""
    value = check_positive_int(value, "num_classes")
    if value < 2:
        raise ValueError(
            f"`num_classes` must be at least 2. Received: num_classes={value}"
        )
    return value


def check_positive(value, name):
    """Raises unless `value` is a number > 0 (NaN fails); returns a float."""
    if not value > 0:
        raise ValueError(
            f"`{name}` must be positive. Received: {name}={value!r}"
        )
    return float(value)


def check_choice(value, name, choices):
    """Raises unless `value` is one of `choices`."""
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {sorted(choices, key=repr)}. Received: "
            f"{name}={value!r}"
        )
    return value


def check_square(shape, name):
    """Raises unless `shape` ends in two equal (or unknown) dimensions."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(
            f"`{name}` must have shape (..., n, n). Received: "
            f"{name}.shape={shape}"
        )
    rows, cols = shape[-2], shape[-1]
    if rows is not None and cols is not None and rows != cols:
        raise ValueError(
            f"`{name}` must be square in its last two axes, shape (..., n, n). "
            f"Received: {name}.shape={shape}"
        )
    return shape


def is_array_like(x):
    """Whether `x` is an array or tensor (not a dataset, generator or dict)."""
    return hasattr(x, "shape") and hasattr(x, "dtype")


def static_shape(x):
    """The static shape of `x` as a tuple, or None if even its rank is unknown.

    TensorFlow relaxes the traced input signature when `predict` meets a
    second input rank, so the rank can be unknown inside `call`.
    """
    try:
        return tuple(x.shape)
    except (TypeError, ValueError):
        return None


def check_image_shape(input_shape, owner):
    """(H, W) of an image batch shaped (batch, H, W) or (batch, H, W, 1).

    Raises a ValueError naming `owner` unless the shape is one of those with
    H and W known.
    """
    shape = None if input_shape is None else tuple(input_shape)
    if shape is not None and len(shape) == 4 and shape[-1] == 1:
        shape = shape[:-1]
    if shape is None or len(shape) != 3 or shape[1] is None or shape[2] is None:
        raise ValueError(
            f"{owner} expects images of shape (batch, H, W) or (batch, H, W, "
            f"1) with known H and W. Received: input_shape={input_shape}"
        )
    return shape[1], shape[2]


def check_image_batch_shape(shape, image_shape, owner):
    """Raises unless `shape` is (batch, H, W[, 1]) with (H, W) = `image_shape`.

    Unknown dimensions pass, and so does an unknown rank (None): traced
    shapes are checked as far as they are known.
    """
    if shape is None:
        return
    shape = tuple(shape)
    height, width = image_shape
    matches = (
        len(shape) in (3, 4)
        and (len(shape) == 3 or shape[3] in (1, None))
        and all(d is None or d == e for d, e in zip(shape[1:3], image_shape))
    )
    if not matches:
        raise ValueError(
            f"{owner} expects a batch of images shaped (batch, {height}, "
            f"{width}) or "
            f"(batch, {height}, {width}, 1); a single image needs a batch "
            f"axis, e.g. image[None]. Received: shape={shape}"
        )


def check_finite(x, name):
    """Raises if a concrete `x` holds NaN or inf; skips traced tensors."""
    if not _backend.is_concrete(x):
        return
    _check_finite_values(np.asarray(ops.convert_to_numpy(x)), name)


def check_non_negative(x, name):
    """Raises if a concrete `x` holds a negative entry; skips traced tensors."""
    if not _backend.is_concrete(x):
        return
    values = np.asarray(ops.convert_to_numpy(x))
    if values.size and values.min() < 0:
        raise ValueError(
            f"`{name}` must be non-negative (raw pixel intensities), but "
            f"{int((values < 0).sum())} of its {values.size} entries are "
            f"negative (smallest {values.min()!r})."
        )


def _check_finite_values(values, name):
    if not np.issubdtype(values.dtype, np.number):
        return
    bad = ~np.isfinite(values)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"`{name}` must be finite, but {int(bad.sum())} of its "
            f"{values.size} entries are NaN or inf (first at index {first}: "
            f"{values[first]!r})."
        )


def hermitian_tolerance(dtype):
    """Relative Hermiticity tolerance for matrices computed in `dtype`.

    1e-5, or 16 machine epsilons where the dtype is coarser (float16: 0.016,
    bfloat16: 0.125): a matrix built as D M D^T in float16 is symmetric only
    to a few roundings, while a matrix that is not Hermitian at all deviates
    by O(1).
    """
    return max(1e-5, 16 * _precision.machine_epsilon(dtype))


def check_hermitian(x, name, rtol=None):
    """Raises if a concrete `x` is not Hermitian to relative tolerance `rtol`.

    `rtol` defaults to `hermitian_tolerance(x.dtype)`.
    """
    check_square(x.shape, name)
    if not _backend.is_concrete(x):
        return
    if rtol is None:
        rtol = hermitian_tolerance(x.dtype)
    values = np.asarray(ops.convert_to_numpy(x))
    _check_finite_values(values, name)
    deviation = np.abs(values - np.conj(np.swapaxes(values, -1, -2))).max(
        initial=0.0
    )
    scale = np.abs(values).max(initial=0.0)
    if deviation > rtol * max(scale, 1e-30):
        kind = "Hermitian" if np.iscomplexobj(values) else "symmetric"
        raise ValueError(
            f"`{name}` must be {kind}: max |{name} - {name}^H| = "
            f"{deviation:.3g} exceeds rtol * max |{name}| = {rtol * scale:.3g}."
        )
