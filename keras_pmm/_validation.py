"""Input checks shared by linalg helpers, layers and models.

Shape checks run on static shapes, always. Value checks (NaN/inf,
Hermiticity) run only when the tensor holds concrete values, so they never
break tracing under `jit`, `tf.function` or `torch.compile`.
"""

import numpy as np
from keras import ops

from keras_pmm import _backend


def check_positive_int(value, name):
    """Raises unless `value` is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return int(value)


def check_num_classes(value):
    """`num_classes` as an int >= 2, else a ValueError naming it."""
    value = check_positive_int(value, "num_classes")
    if value < 2:
        raise ValueError(f"`num_classes` must be at least 2. Received: num_classes={value}")
    return value


def check_positive(value, name):
    """Raises unless `value` is a number > 0 (NaN fails); returns it as a float."""
    if not value > 0:
        raise ValueError(f"`{name}` must be positive. Received: {name}={value!r}")
    return float(value)


def check_choice(value, name, choices):
    """Raises unless `value` is one of `choices`."""
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {sorted(choices)}. Received: {name}={value!r}"
        )
    return value


def check_square(shape, name):
    """Raises unless `shape` ends in two equal (or unknown) dimensions."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(
            f"`{name}` must have shape (..., n, n). Received: {name}.shape={shape}"
        )
    rows, cols = shape[-2], shape[-1]
    if rows is not None and cols is not None and rows != cols:
        raise ValueError(
            f"`{name}` must be square in its last two axes, shape (..., n, n). "
            f"Received: {name}.shape={shape}"
        )
    return shape


def check_image_shape(input_shape, owner):
    """(H, W) of an image batch shaped (batch, H, W) or (batch, H, W, 1).

    Raises a ValueError naming `owner` unless the shape is one of those with
    H and W known.
    """
    shape = tuple(input_shape)
    if len(shape) == 4 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) != 3 or shape[1] is None or shape[2] is None:
        raise ValueError(
            f"{owner} expects images of shape (batch, H, W) or (batch, H, W, 1) "
            f"with known H and W. Received: input_shape={tuple(input_shape)}"
        )
    return shape[1], shape[2]


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
            f"{int((values < 0).sum())} of its {values.size} entries are negative "
            f"(smallest {values.min()!r})."
        )


def _check_finite_values(values, name):
    if not np.issubdtype(values.dtype, np.number):
        return
    bad = ~np.isfinite(values)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"`{name}` must be finite, but {int(bad.sum())} of its {values.size} "
            f"entries are NaN or inf (first at index {first}: "
            f"{values[first]!r})."
        )


def check_hermitian(x, name, rtol=1e-5):
    """Raises if a concrete `x` is not Hermitian to relative tolerance `rtol`."""
    check_square(x.shape, name)
    if not _backend.is_concrete(x):
        return
    values = np.asarray(ops.convert_to_numpy(x))
    _check_finite_values(values, name)
    deviation = np.abs(values - np.conj(np.swapaxes(values, -1, -2))).max(initial=0.0)
    scale = np.abs(values).max(initial=0.0)
    if deviation > rtol * max(scale, 1e-30):
        kind = "Hermitian" if np.iscomplexobj(values) else "symmetric"
        raise ValueError(
            f"`{name}` must be {kind}: max |{name} - {name}^H| = {deviation:.3g} "
            f"exceeds rtol * max |{name}| = {rtol * scale:.3g}."
        )
