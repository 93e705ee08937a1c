"""Input checks shared by `keras_pmm.uq`: one rule, one message each."""

import numpy as np

from keras_pmm import _validation

# Rows of probabilities may drift from 1 by float32 rounding (softmax of
# many classes, averages of members); anything further is not a
# probability vector.
_ROW_SUM_TOLERANCE = 1e-3


def as_numpy(x, name):
    """numpy copy of an array, list or backend tensor."""
    if x is None:
        raise ValueError(f"`{name}` is None: pass an array.")
    if not isinstance(x, np.ndarray) and hasattr(x, "shape"):
        from keras import ops

        x = ops.convert_to_numpy(x)
    try:
        return np.asarray(x)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"`{name}` must be an array: {error}") from None


def as_float(x, name):
    """float64 numpy copy of an array of real numbers (bool, int, float)."""
    x = as_numpy(x, name)
    if x.dtype.kind not in "biuf":
        raise ValueError(
            f"`{name}` must be an array of real numbers. Received: dtype "
            f"{x.dtype}, shape {x.shape}"
        )
    return x.astype("float64")


def positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"`{name}` must be an int >= 1. Received: {value!r}")
    if value < 1:
        raise ValueError(f"`{name}` must be an int >= 1. Received: {value}")
    return int(value)


def alpha(value):
    """A miscoverage level strictly inside (0, 1)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"`alpha` must be a number in (0, 1). Received: {value!r}"
        ) from None
    if not 0.0 < value < 1.0:
        raise ValueError(
            "`alpha` must be in (0, 1) (the allowed miscoverage, e.g. 0.1 "
            f"for 90% coverage). Received: {value}"
        )
    return value


def probabilities(x, min_rank=2, name="probabilities"):
    """float64 probabilities of rank >= `min_rank`, rows summing to 1."""
    x = as_float(x, name)
    if x.ndim < min_rank:
        raise ValueError(
            f"`{name}` must have at least {min_rank} axes, the last over "
            f"classes. Received shape {x.shape}"
        )
    if x.size == 0:
        raise ValueError(f"`{name}` is empty (shape {x.shape}).")
    if x.shape[-1] < 2:
        raise ValueError(
            f"`{name}` must have >= 2 classes on its last axis. Received "
            f"shape {x.shape}"
        )
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError(
            f"`{name}` must be finite and non-negative: pass class "
            "probabilities (a softmax output), not logits."
        )
    sums = x.sum(axis=-1)
    if np.any(np.abs(sums - 1.0) > _ROW_SUM_TOLERANCE):
        worst = float(sums.flat[np.argmax(np.abs(sums - 1.0))])
        raise ValueError(
            f"The rows of `{name}` must sum to 1 (class probabilities, not "
            f"logits or scores); one sums to {worst:.6g}."
        )
    return x


def labels(y, name="y_true", num_classes=None):
    """(batch,) int64 class labels in 0..num_classes-1 (see
    `keras_pmm._validation.class_labels` for what is refused)."""
    return _validation.class_labels(as_numpy(y, name), num_classes, name)


def labelled_probabilities(y_true, probabilities_):
    """Checked (labels, probabilities) of one non-empty, matching set."""
    probabilities_ = probabilities(probabilities_)
    if probabilities_.ndim != 2:
        raise ValueError(
            "`probabilities` must be (batch, num_classes). Received shape "
            f"{probabilities_.shape}"
        )
    y_true = labels(y_true, num_classes=probabilities_.shape[-1])
    if len(y_true) != len(probabilities_):
        raise ValueError(
            f"`y_true` has {len(y_true)} labels but `probabilities` has "
            f"{len(probabilities_)} rows: they must describe the same set."
        )
    return y_true, probabilities_


def prediction_sets(sets, name="sets"):
    """(batch, num_classes) boolean prediction sets.

    Booleans, or integers that are all 0 or 1; probabilities or scores are
    refused (every positive entry would count as "in the set").
    """
    sets = as_numpy(sets, name)
    if sets.ndim != 2:
        raise ValueError(
            f"`{name}` must be boolean prediction sets shaped (batch, "
            f"num_classes). Received shape {sets.shape}"
        )
    if sets.dtype != bool:
        if not np.issubdtype(sets.dtype, np.number) or not np.all(
            (sets == 0) | (sets == 1)
        ):
            raise ValueError(
                f"`{name}` must be boolean prediction sets (e.g. from "
                "SplitConformalClassifier.predict_set), not probabilities "
                f"or scores. Received dtype {sets.dtype} with values in "
                f"{sets.min()!r}..{sets.max()!r}"
            )
        sets = sets.astype(bool)
    return sets


def scores(x, name):
    x = as_float(x, name).reshape(-1)
    if x.size == 0:
        raise ValueError(f"`{name}` is empty.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"`{name}` must be finite.")
    return x


def regression_pairs(y_true, y_pred, name="y_pred"):
    """Checked (targets, predictions) of one non-empty set, same shape."""
    y_true = as_float(y_true, "y_true")
    y_pred = as_float(y_pred, name)
    if y_true.shape != y_pred.shape:
        # Only a trailing axis of one may differ: (N,) targets against
        # (N, 1) predictions. Anything else (a transposed (k, N) against
        # (N, k)) would pair the wrong numbers if reshaped.
        if _squeezed(y_true.shape) != _squeezed(y_pred.shape):
            raise ValueError(
                f"`y_true` has shape {y_true.shape} but `{name}` has shape "
                f"{y_pred.shape}: they must describe the same set, example "
                "by example (is one of them transposed?)."
            )
        y_true = y_true.reshape(y_pred.shape)
    if y_true.size == 0:
        raise ValueError("The calibration set is empty.")
    if not (np.all(np.isfinite(y_true)) and np.all(np.isfinite(y_pred))):
        raise ValueError(f"`y_true` and `{name}` must be finite.")
    return y_true, y_pred


def _squeezed(shape):
    """`shape` without trailing axes of length one."""
    shape = tuple(shape)
    while shape and shape[-1] == 1:
        shape = shape[:-1]
    return shape
