"""Calibration and uncertainty metrics of class probabilities.

Plain numpy on the host: the metrics summarise predictions that
`model.predict` has already returned, so they work the same whichever Keras
backend produced them. Every function takes class probabilities of shape
(batch, num_classes) (rows summing to 1) and, where labels are needed,
integer labels of shape (batch,). Entropies are in nats.

References: Guo et al., "On Calibration of Modern Neural Networks", ICML
2017 (ECE, temperature scaling); Ovadia et al., "Can You Trust Your Model's
Uncertainty?", NeurIPS 2019 (15 equal-width bins, Brier, shift studies);
Lakshminarayanan et al., NeurIPS 2017 (ensembles, entropy, NLL).
"""

import numpy as np

from keras_pmm.uq import _checks

# Probabilities are clipped to this before a logarithm, so a confidently
# wrong float32 prediction costs -log(1e-12) ~= 27.6 nats, not infinity.
_TINY = 1e-12


def _top_label_bins(y_true, probabilities, num_bins):
    """Checked inputs binned by top-label confidence: (bin index, confidence,
    correct, num_bins), bins (k/B, (k+1)/B] with 0 in the first."""
    y_true, probabilities = _checks.labelled_probabilities(
        y_true, probabilities
    )
    num_bins = _checks.positive_int(num_bins, "num_bins")
    confidence = probabilities.max(axis=-1)
    correct = probabilities.argmax(axis=-1) == y_true
    bins = np.clip(np.ceil(confidence * num_bins) - 1, 0, num_bins - 1)
    return bins.astype("int64"), confidence, correct, num_bins


def expected_calibration_error(y_true, probabilities, num_bins=15):
    """Top-label expected calibration error (ECE).

    The top-label confidences max_c p_c are put in `num_bins` equal-width
    bins (k/B, (k+1)/B] (a confidence of exactly 0 joins the first bin), and

        ECE = sum_k (n_k / N) |accuracy_k - mean confidence_k|,

    the weighted mean gap between accuracy and confidence (Guo et al. 2017,
    eq. 3; 15 bins as in Ovadia et al. 2019). 0 is perfect calibration.

    Args:
        y_true: (batch,) integer labels.
        probabilities: (batch, num_classes) class probabilities.
        num_bins: number of equal-width confidence bins, >= 1.

    Returns:
        The ECE, a float in [0, 1].

    Raises:
        ValueError: on an empty or mismatched set, labels out of range, rows
            that are not probabilities, or `num_bins` < 1.

    Example:

    >>> import numpy as np
    >>> from keras_pmm.uq.metrics import expected_calibration_error
    >>> p = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    >>> round(expected_calibration_error([0, 1, 1], p), 4)
    0.3
    """
    bins, confidence, correct, num_bins = _top_label_bins(
        y_true, probabilities, num_bins
    )
    gap = np.bincount(bins, weights=correct - confidence, minlength=num_bins)
    return float(np.sum(np.abs(gap)) / len(y_true))


def calibration_curve(y_true, probabilities, num_bins=15):
    """Per-bin accuracy, mean confidence and count of the top-label ECE bins.

    Args:
        y_true: (batch,) integer labels.
        probabilities: (batch, num_classes) class probabilities.
        num_bins: number of equal-width confidence bins.

    Returns:
        A dict of (num_bins,) arrays: `"edges"` (num_bins + 1 bin edges),
        `"accuracy"`, `"confidence"` (NaN in an empty bin) and `"count"`.
    """
    bins, confidence, correct, num_bins = _top_label_bins(
        y_true, probabilities, num_bins
    )
    count = np.bincount(bins, minlength=num_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(bins, correct, num_bins) / count
        mean_confidence = np.bincount(bins, confidence, num_bins) / count
    return {
        "edges": np.linspace(0.0, 1.0, num_bins + 1),
        "accuracy": accuracy,
        "confidence": mean_confidence,
        "count": count,
    }


def negative_log_likelihood(y_true, probabilities):
    """Mean negative log-likelihood -1/N sum_i log p_{i, y_i} (nats).

    Probabilities are clipped at 1e-12 first, so one confidently wrong
    prediction costs at most ~27.6 nats instead of infinity.

    Args:
        y_true: (batch,) integer labels.
        probabilities: (batch, num_classes) class probabilities.

    Returns:
        A float >= 0.

    Example:

    >>> import numpy as np
    >>> from keras_pmm.uq.metrics import negative_log_likelihood
    >>> round(negative_log_likelihood([0], np.array([[0.5, 0.5]])), 4)
    0.6931
    """
    y_true, probabilities = _checks.labelled_probabilities(
        y_true, probabilities
    )
    picked = probabilities[np.arange(len(y_true)), y_true]
    return float(-np.mean(np.log(np.maximum(picked, _TINY))))


def brier_score(y_true, probabilities):
    """Multi-class Brier score 1/N sum_i sum_c (p_ic - [y_i = c])^2.

    The original definition (Brier 1950), in [0, 2]; Ovadia et al. 2019 use
    it. 0 is a perfect, certain prediction.

    Args:
        y_true: (batch,) integer labels.
        probabilities: (batch, num_classes) class probabilities.

    Returns:
        A float in [0, 2].

    Example:

    >>> import numpy as np
    >>> from keras_pmm.uq.metrics import brier_score
    >>> round(brier_score([0], np.array([[0.75, 0.25]])), 4)
    0.125
    """
    y_true, probabilities = _checks.labelled_probabilities(
        y_true, probabilities
    )
    one_hot = np.eye(probabilities.shape[-1])[y_true]
    return float(np.mean(np.sum((probabilities - one_hot) ** 2, axis=-1)))


def predictive_entropy(probabilities):
    """Entropy H[p] = -sum_c p_c log p_c of each row, in nats.

    0 for a certain prediction, log(num_classes) for a uniform one.

    Args:
        probabilities: (..., num_classes) class probabilities.

    Returns:
        (...) float64 entropies.

    Example:

    >>> import numpy as np
    >>> from keras_pmm.uq.metrics import predictive_entropy
    >>> predictive_entropy(np.array([[1.0, 0.0], [0.5, 0.5]])).round(4)
    array([0.    , 0.6931])
    """
    probabilities = _checks.probabilities(probabilities, min_rank=1)
    plogp = probabilities * np.log(np.maximum(probabilities, _TINY))
    return 0.0 - np.sum(plogp, axis=-1) + 0.0  # + 0.0 turns -0.0 into 0.0


def mutual_information(member_probabilities):
    """Epistemic uncertainty of an ensemble or of Monte-Carlo samples.

    The mutual information between the label and the model,

        I = H[mean_m p_m] - mean_m H[p_m]

    (total minus expected aleatoric entropy; Depeweg et al. 2018), in nats:
    0 when all members agree.

    Args:
        member_probabilities: (members, batch, num_classes) probabilities
            of each member (or posterior sample).

    Returns:
        (batch,) float64 mutual information, >= 0.

    Raises:
        ValueError: for fewer than 3 axes or rows that are not
            probabilities.

    Example:

    >>> import numpy as np
    >>> from keras_pmm.uq.metrics import mutual_information
    >>> members = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    >>> mutual_information(members).round(4)
    array([0.6931])
    """
    member_probabilities = _checks.probabilities(
        member_probabilities, min_rank=3, name="member_probabilities"
    )
    total = predictive_entropy(member_probabilities.mean(axis=0))
    aleatoric = predictive_entropy(member_probabilities).mean(axis=0)
    return np.maximum(total - aleatoric, 0.0)


def auroc(in_scores, out_scores):
    """Area under the ROC curve separating two sets by a score.

    The probability that a random in-distribution example scores higher
    than a random out-of-distribution one, ties counting 1/2 (the
    Mann-Whitney U statistic / (n_in n_out)). 1 separates perfectly, 0.5 is
    chance.

    Args:
        in_scores: (n_in,) scores of in-distribution examples (higher means
            "more in-distribution", e.g. the maximum class probability).
        out_scores: (n_out,) scores of out-of-distribution examples.

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: when either set is empty or not finite.

    Example:

    >>> from keras_pmm.uq.metrics import auroc
    >>> auroc([0.9, 0.8], [0.3, 0.85])
    0.75
    """
    in_scores = _checks.scores(in_scores, "in_scores")
    out_scores = _checks.scores(out_scores, "out_scores")
    scores = np.concatenate([in_scores, out_scores])
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # Average ranks over ties (1-based).
    starts = np.flatnonzero(np.r_[True, np.diff(sorted_scores) != 0])
    ends = np.r_[starts[1:], len(scores)]
    for start, end in zip(starts, ends):
        ranks[order[start:end]] = (start + end + 1) / 2
    n_in, n_out = len(in_scores), len(out_scores)
    u = ranks[:n_in].sum() - n_in * (n_in + 1) / 2
    return float(u / (n_in * n_out))


def ood_auroc(in_probabilities, out_probabilities):
    """AUROC of the maximum class probability as an in-distribution score.

    Hendrycks & Gimpel, ICLR 2017: in-distribution examples should get a
    higher top-class probability than out-of-distribution ones.

    Args:
        in_probabilities: (n_in, num_classes) probabilities on in-distribution
            data.
        out_probabilities: (n_out, num_classes) probabilities on
            out-of-distribution data.

    Returns:
        A float in [0, 1]; 0.5 is chance.
    """
    in_probabilities = _checks.probabilities(
        in_probabilities, name="in_probabilities"
    )
    out_probabilities = _checks.probabilities(
        out_probabilities, name="out_probabilities"
    )
    return auroc(in_probabilities.max(-1), out_probabilities.max(-1))


def classification_report(y_true, probabilities, num_bins=15):
    """Accuracy, NLL, ECE and Brier score of class probabilities at once.

    Args:
        y_true: (batch,) integer labels.
        probabilities: (batch, num_classes) class probabilities.
        num_bins: ECE bins.

    Returns:
        A dict of floats: `"accuracy"`, `"nll"`, `"ece"`, `"brier"`.
    """
    y_true, probabilities = _checks.labelled_probabilities(
        y_true, probabilities
    )
    return {
        "accuracy": float(np.mean(probabilities.argmax(-1) == y_true)),
        "nll": negative_log_likelihood(y_true, probabilities),
        "ece": expected_calibration_error(y_true, probabilities, num_bins),
        "brier": brier_score(y_true, probabilities),
    }
