"""Labels and orientations at the `keras_pmm.uq` doors (issue 31, items 1-2).

Before, `uq.coverage(y, probabilities)` returned 1.0 (every positive
probability counted as "in the set"), and a transposed calibration set gave
a threshold of 2.18 instead of 0.017 with no error.
"""

import numpy as np
import pytest

from keras_pmm import uq
from tests.test_case import TestCase

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 3, 200)
P = RNG.dirichlet(np.ones(3), size=200)

LABELLED_METRICS = [
    uq.expected_calibration_error,
    uq.negative_log_likelihood,
    uq.brier_score,
    uq.calibration_curve,
    uq.classification_report,
    uq.fit_temperature,
    lambda y, p: uq.SplitConformalClassifier(None).calibrate_from_predictions(
        y, p
    ),
]

BAD_LABELS = [
    (np.full(200, 7), r"0\.\.2.*7"),
    (Y - 3, ">= 0"),
    (Y + 0.5, "fractions"),
    (np.eye(3)[Y], "look like one-hot rows"),
]


class TestLabels(TestCase):
    @pytest.mark.parametrize("metric", LABELLED_METRICS)
    @pytest.mark.parametrize("labels,message", BAD_LABELS)
    def test_every_labelled_metric_refuses_bad_labels(
        self, metric, labels, message
    ):
        with pytest.raises(ValueError, match=message):
            metric(labels, P)

    def test_coverage_refuses_probabilities_for_sets(self):
        with pytest.raises(ValueError, match="not probabilities"):
            uq.coverage(Y, P)

    def test_coverage_of_sets_is_right_and_checks_labels(self):
        sets = P >= P.max(-1, keepdims=True)  # the top class only
        expected = np.mean(P.argmax(-1) == Y)
        assert uq.coverage(Y, sets) == pytest.approx(expected)
        assert uq.coverage(Y, sets.astype("int32")) == pytest.approx(expected)
        with pytest.raises(ValueError, match=r"0\.\.2"):
            uq.coverage(np.full(200, 3), sets)


class TestOrientation(TestCase):
    def test_transposed_calibration_targets_are_refused(self):
        rng = np.random.default_rng(1)
        y = rng.normal(size=(500, 2))
        y_hat = y + 0.01 * rng.normal(size=(500, 2))
        conformal = uq.SplitConformalRegressor(None)
        with pytest.raises(ValueError, match="transposed"):
            conformal.calibrate_from_predictions(y.T, y_hat)
        conformal.calibrate_from_predictions(y, y_hat)
        # |N(0, 0.01^2)| at 90%: 0.01 * 1.645.
        assert conformal.quantile == pytest.approx(0.0165, rel=0.1)
        lower, upper = conformal.interval_from_predictions(y_hat)
        assert uq.coverage(y, (lower, upper)) == pytest.approx(0.9, abs=0.03)
        with pytest.raises(ValueError, match="transposed"):
            uq.coverage(y.T, (lower, upper))

    def test_a_trailing_axis_of_one_may_differ(self):
        y = np.linspace(0, 1, 50)
        conformal = uq.SplitConformalRegressor(None)
        conformal.calibrate_from_predictions(y, y[:, None] + 0.1)
        assert conformal.quantile == pytest.approx(0.1)
