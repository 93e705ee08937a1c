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
    if (
        shape is None
        or len(shape) != 3
        or shape[1] is None
        or shape[2] is None
        or min(shape[1], shape[2]) < 1
    ):
        raise ValueError(
            f"{owner} expects images of shape (batch, H, W) or (batch, H, W, "
            f"1) with known H and W >= 1. Received: input_shape={input_shape}"
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


# Slack for interpolated images (rotations, resizing) that overshoot the
# pixel range by rounding: in units of the full intensity (1.0).
_PIXEL_SLACK = 1e-3


def check_pixel_range(x, input_scale, name="x"):
    """Raises if concrete images `x` leave the intensity range 0..1/input_scale.

    An image model rescales raw pixels by `input_scale` (1/255 for 0..255
    pixels) to intensities in [0, 1]; pixels below 0 or above 1/input_scale
    (standardised images, 16-bit 0..65535 images) would give confident
    wrong answers. Traced tensors are skipped.

    Raises:
        ValueError: naming the range received and the range expected.
    """
    if not _backend.is_concrete(x):
        return
    values = np.asarray(ops.convert_to_numpy(x))
    if not values.size or not np.issubdtype(values.dtype, np.number):
        return
    low, high = float(values.min()), float(values.max())
    top = 1.0 / input_scale
    if low >= -_PIXEL_SLACK * top and high <= (1.0 + _PIXEL_SLACK) * top:
        return
    hint = ""
    if high <= 65535 and high > 256 and low >= 0:
        hint = " 16-bit images (0..65535) need dividing by 257 first."
    elif low < 0:
        hint = (
            " Pass raw pixel intensities, not standardised or centred images."
        )
    raise ValueError(
        f"`{name}` must hold pixel intensities in 0..{top:g} (the model "
        f"multiplies them by input_scale={input_scale:g}). Received values "
        f"in {low:g}..{high:g}.{hint}"
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


def check_not_empty(x, name):
    """Raises if an array `x` has no examples (a zero-length first axis).

    Datasets, generators and tensors of unknown batch size pass.
    """
    shape = static_shape(x) if is_array_like(x) else None
    if shape and shape[0] == 0:
        raise ValueError(
            f"`{name}` is empty (shape {shape}): pass at least one example."
        )


# Losses whose targets are integer class indices, and those whose targets
# are one-hot (or smoothed) probability rows; by class and by string name.
_SPARSE_LOSSES = ("SparseCategoricalCrossentropy", "sparse_categorical")
_ONE_HOT_LOSSES = ("CategoricalCrossentropy", "categorical_crossentropy")


def label_form(loss):
    """ "sparse", "one_hot" or None (unknown) for the targets of `loss`.

    `loss` is a Keras loss object, function or name, as given to `compile`.
    """
    if loss is None:
        return None
    if isinstance(loss, str):
        name = loss
    else:
        name = getattr(loss, "name", None) or type(loss).__name__
        name = f"{type(loss).__name__} {name}"
        if callable(loss) and hasattr(loss, "__name__"):
            name = f"{name} {loss.__name__}"
    if any(key in name for key in _SPARSE_LOSSES):
        return "sparse"
    if any(key in name for key in _ONE_HOT_LOSSES):
        return "one_hot"
    return None


def _describe(values):
    if values.size == 0 or not (
        np.issubdtype(values.dtype, np.number) or values.dtype == bool
    ):
        return f"shape {values.shape}, dtype {values.dtype}"
    return (
        f"shape {values.shape}, dtype {values.dtype}, values in "
        f"{values.min()!r}..{values.max()!r}"
    )


def class_labels(y, num_classes=None, name="y"):
    """(batch,) int64 class indices from integer labels, else a ValueError.

    Accepts (batch,) or (batch, 1) integer (or bool, or whole-number float)
    labels in 0..num_classes-1 (any non-negative integer when `num_classes`
    is None).

    Raises:
        ValueError: naming what was received, for labels that are not whole
            numbers (float scores or probabilities), negative, not below
            `num_classes`, NaN, or one-hot rows where indices are expected.
    """
    values = np.asarray(y)
    if values.ndim == 2 and values.shape[-1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        hint = ""
        if values.ndim == 2 and values.shape[-1] == (num_classes or -1):
            hint = (
                " These look like one-hot rows: pass integer labels "
                "(y.argmax(-1)), or compile with a CategoricalCrossentropy "
                "loss for one-hot targets."
            )
        raise ValueError(
            f"`{name}` must be integer class labels shaped (batch,) or "
            f"(batch, 1). Received: {_describe(values)}.{hint}"
        )
    if values.dtype == bool:
        values = values.astype("int64")
    if not (
        np.issubdtype(values.dtype, np.integer)
        or np.issubdtype(values.dtype, np.floating)
    ):
        raise ValueError(
            f"`{name}` must be integer class labels. Received: "
            f"{_describe(values)}"
        )
    if np.issubdtype(values.dtype, np.floating):
        if not np.all(np.isfinite(values)):
            raise ValueError(
                f"`{name}` must be integer class labels, but holds NaN or "
                f"inf. Received: shape {values.shape}, dtype {values.dtype}"
            )
        if not np.all(values == np.round(values)):
            raise ValueError(
                f"`{name}` must be integer class labels, but holds "
                f"fractions (scores or probabilities?). Received: "
                f"{_describe(values)}"
            )
    if values.size and values.min() < 0:
        raise ValueError(
            f"`{name}` must be class labels >= 0. Received: {_describe(values)}"
        )
    if num_classes is not None and values.size and values.max() >= num_classes:
        raise ValueError(
            f"`{name}` must be class labels in 0..{num_classes - 1} for a "
            f"model of {num_classes} classes. Received: {_describe(values)}"
        )
    return values.astype("int64")


def one_hot_labels(y, num_classes, name="y"):
    """(batch, num_classes) float64 one-hot (or smoothed) label rows.

    Raises:
        ValueError: naming what was received, for integer indices where
            one-hot rows are expected, another class count, or rows that are
            not non-negative and summing to 1.
    """
    values = np.asarray(y)
    if values.ndim != 2 or values.shape[-1] != num_classes:
        hint = ""
        if values.ndim == 1 or (values.ndim == 2 and values.shape[-1] == 1):
            hint = (
                " These look like integer labels: one-hot encode them "
                "(keras.utils.to_categorical) or compile with "
                "SparseCategoricalCrossentropy."
            )
        raise ValueError(
            f"`{name}` must be one-hot rows shaped (batch, {num_classes}) "
            f"for a model of {num_classes} classes. Received: "
            f"{_describe(values)}.{hint}"
        )
    values = values.astype("float64")
    if values.size and (
        not np.all(np.isfinite(values))
        or values.min() < 0
        or np.abs(values.sum(-1) - 1).max() > 1e-3
    ):
        raise ValueError(
            f"`{name}` must hold one-hot rows (non-negative, each summing to "
            f"1). Received: {_describe(values)}"
        )
    return values


def check_class_targets(y, num_classes, loss=None, name="y"):
    """Checks concrete classifier targets against `num_classes` and `loss`.

    Integer labels for sparse losses, one-hot rows for categorical ones;
    with any other loss, the form is read from the shape (2-D rows of
    `num_classes` entries are one-hot). Datasets, generators and traced
    tensors pass unchecked.

    Raises:
        ValueError: see `class_labels` and `one_hot_labels`.
    """
    if y is None or not is_array_like(y) and not isinstance(y, (list, tuple)):
        return
    if is_array_like(y) and not _backend.is_concrete(y):
        return
    values = y if isinstance(y, np.ndarray) else ops.convert_to_numpy(y)
    values = np.asarray(values)
    form = label_form(loss)
    if form is None:
        one_hot = values.ndim == 2 and values.shape[-1] == num_classes != 1
        form = "one_hot" if one_hot else "sparse"
    if form == "one_hot":
        one_hot_labels(values, num_classes, name)
    else:
        class_labels(values, num_classes, name)
