"""Temperature scaling and reliability diagrams.

Temperature scaling (Guo et al., ICML 2017, section 4.2) divides the logits
by one scalar T > 0 fitted on a held-out validation split to minimise the
negative log-likelihood; it leaves the predicted class (and so the accuracy)
unchanged. Keras-pmm classifiers output probabilities, whose logarithms are
logits up to a per-example constant that softmax ignores, so everything here
works from probabilities.
"""

import numpy as np

from keras_pmm.uq import _checks
from keras_pmm.uq import metrics

_TINY = 1e-12
# Inverse temperatures searched, log-uniformly: T in [1/100, 100].
_LOG_BETA_RANGE = (np.log(1e-2), np.log(1e2))


def apply_temperature(probabilities, temperature):
    """Probabilities rescaled by a temperature: softmax(log p / T).

    Args:
        probabilities: (..., num_classes) class probabilities.
        temperature: T > 0; T > 1 softens, T < 1 sharpens.

    Returns:
        float64 probabilities of the same shape.

    Example:

    >>> import numpy as np
    >>> from keras_pmm.uq.calibration import apply_temperature
    >>> apply_temperature(np.array([[0.8, 0.2]]), 1.0).round(4)
    array([[0.8, 0.2]])
    """
    probabilities = _checks.probabilities(probabilities, min_rank=1)
    temperature = _positive(temperature, "temperature")
    # Shifted before dividing: log p - max log p <= 0, so a tiny T sends
    # the others to -inf (exp 0) and the top classes to 0, never inf - inf.
    logits = np.log(np.maximum(probabilities, _TINY))
    logits = (logits - logits.max(axis=-1, keepdims=True)) / temperature
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=-1, keepdims=True)


def fit_temperature(y_true, probabilities, tolerance=1e-7):
    """The temperature T minimising the NLL of softmax(log p / T).

    The NLL of softmax(beta z) is convex in the inverse temperature beta
    (a log-sum-exp of a linear function minus a linear term), so a
    golden-section search over log beta in [log 0.01, log 100] finds the
    global minimum; the result is deterministic and needs no optimiser.

    Args:
        y_true: (batch,) integer labels of a validation split (never the
            test set).
        probabilities: (batch, num_classes) the model's probabilities on it.
        tolerance: width of the final bracket in log beta.

    Returns:
        The fitted temperature, a float in [0.01, 100].

    Raises:
        ValueError: on an empty or mismatched set, or on inputs that are not
            probabilities.

    Example:

    >>> import numpy as np
    >>> from keras_pmm.uq.calibration import fit_temperature
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 2000)
    >>> p = np.where(y[:, None] == [0, 1], 0.99, 0.01)  # overconfident
    >>> p[:400] = p[:400, ::-1]  # 20% wrong
    >>> fit_temperature(y, p) > 1
    True
    """
    y_true, probabilities = _checks.labelled_probabilities(
        y_true, probabilities
    )
    log_p = np.log(np.maximum(probabilities, _TINY))
    log_p -= log_p.max(axis=-1, keepdims=True)
    picked = log_p[np.arange(len(y_true)), y_true]

    def nll(log_beta):
        z = np.exp(log_beta) * log_p
        top = z.max(axis=-1)
        lse = top + np.log(np.exp(z - top[:, None]).sum(axis=-1))
        return float(np.mean(lse - np.exp(log_beta) * picked))

    low, high = _LOG_BETA_RANGE
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = nll(a), nll(b)
    while high - low > tolerance:
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = nll(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = nll(b)
    return float(1.0 / np.exp((low + high) / 2.0))


def reliability_diagram(y_true, probabilities, path, num_bins=15, title=None):
    """Writes a reliability diagram (accuracy against confidence) as a PNG.

    One panel; each entry of `probabilities` (a dict of name -> array, or
    one array) is drawn as per-bin accuracy against mean confidence, with
    the ECE in the legend and the diagonal of perfect calibration.

    Args:
        y_true: (batch,) integer labels.
        probabilities: (batch, num_classes) probabilities, or a dict of
            them keyed by the name shown in the legend.
        path: the PNG file to write (its folder must exist).
        num_bins: equal-width confidence bins, as in the ECE.
        title: the figure title.

    Returns:
        The path written.

    Raises:
        ImportError: without matplotlib (`pip install matplotlib`).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
    except ImportError as error:
        raise ImportError(
            "reliability_diagram needs matplotlib: pip install matplotlib"
        ) from error
    if not isinstance(probabilities, dict):
        probabilities = {"model": probabilities}
    figure, axes = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    axes.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1)
    for name, p in probabilities.items():
        curve = metrics.calibration_curve(y_true, p, num_bins)
        ece = metrics.expected_calibration_error(y_true, p, num_bins)
        filled = curve["count"] > 0
        axes.plot(
            curve["confidence"][filled],
            curve["accuracy"][filled],
            marker="o",
            markersize=3,
            label=f"{name} (ECE {ece:.4f})",
        )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("confidence (top-class probability)")
    axes.set_ylabel("accuracy")
    axes.set_title(title or f"Reliability ({num_bins} bins)")
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _positive(value, name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a number > 0.") from None
    if not value > 0 or not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite and > 0. Received: {value}")
    return value
