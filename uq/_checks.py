"""Input checks shared by `keras_pmm.uq`: one rule, one message each."""

import numpy as np

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
    return np.asarray(x)


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
    x = as_numpy(x, name).astype("float64")
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


def labels(y, name="y_true"):
    y = as_numpy(y, name)
    if y.ndim == 2 and y.shape[-1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"`{name}` must be (batch,) integer labels. Received shape "
            f"{y.shape}"
        )
    if y.size and not np.all(np.equal(np.mod(y, 1), 0)):
        raise ValueError(f"`{name}` must hold integer class labels.")
    return y.astype("int64")


def labelled_probabilities(y_true, probabilities_):
    """Checked (labels, probabilities) of one non-empty, matching set."""
    y_true = labels(y_true)
    probabilities_ = probabilities(probabilities_)
    if probabilities_.ndim != 2:
        raise ValueError(
            "`probabilities` must be (batch, num_classes). Received shape "
            f"{probabilities_.shape}"
        )
    if len(y_true) != len(probabilities_):
        raise ValueError(
            f"`y_true` has {len(y_true)} labels but `probabilities` has "
            f"{len(probabilities_)} rows: they must describe the same set."
        )
    num_classes = probabilities_.shape[-1]
    if np.any(y_true < 0) or np.any(y_true >= num_classes):
        raise ValueError(
            f"Labels must be in 0..{num_classes - 1} (the probability "
            f"columns). Received labels in {y_true.min()}..{y_true.max()}"
        )
    return y_true, probabilities_


def scores(x, name):
    x = as_numpy(x, name).astype("float64").reshape(-1)
    if x.size == 0:
        raise ValueError(f"`{name}` is empty.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"`{name}` must be finite.")
    return x


def regression_pairs(y_true, y_pred, name="y_pred"):
    """Checked (targets, predictions) of one non-empty set, same shape."""
    y_true = as_numpy(y_true, "y_true").astype("float64")
    y_pred = as_numpy(y_pred, name).astype("float64")
    if y_true.shape != y_pred.shape:
        if y_true.size == y_pred.size and y_pred.size:
            y_true = y_true.reshape(y_pred.shape)
        else:
            raise ValueError(
                f"`y_true` has shape {y_true.shape} but `{name}` has shape "
                f"{y_pred.shape}: they must describe the same set."
            )
    if y_true.size == 0:
        raise ValueError("The calibration set is empty.")
    if not (np.all(np.isfinite(y_true)) and np.all(np.isfinite(y_pred))):
        raise ValueError(f"`y_true` and `{name}` must be finite.")
    return y_true, y_pred
