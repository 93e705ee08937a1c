"""Calibration metrics and temperature scaling, against netcal and sklearn."""

import numpy as np
import pytest

from keras_pmm import uq


def _overconfident(num=4000, num_classes=5, seed=0):
    """Labels and sharp probabilities that are right ~70% of the time."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, num_classes, num)
    logits = rng.normal(size=(num, num_classes))
    predicted = np.where(rng.random(num) < 0.7, y, rng.integers(0, 5, num))
    logits[np.arange(num), predicted] += 4.0
    p = np.exp(3.0 * logits)
    return y, p / p.sum(-1, keepdims=True)


def test_ece_matches_netcal():
    netcal_metrics = pytest.importorskip("netcal.metrics")
    y, p = _overconfident()
    expected = netcal_metrics.ECE(bins=15).measure(p, y)
    assert uq.expected_calibration_error(y, p) == pytest.approx(
        expected, abs=1e-9
    )
    assert uq.expected_calibration_error(y, p) > 0.1  # really miscalibrated


def test_ece_of_calibrated_predictions_is_small():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(3), size=20000)
    y = (rng.random((20000, 1)) > p.cumsum(-1)).sum(-1)  # y ~ Categorical(p)
    assert uq.expected_calibration_error(y, p) < 0.015


def test_calibration_curve_counts_every_example():
    y, p = _overconfident()
    curve = uq.calibration_curve(y, p, num_bins=10)
    assert curve["count"].sum() == len(y)
    filled = curve["count"] > 0
    assert np.all(curve["confidence"][filled] <= curve["edges"][1:][filled])


def test_nll_and_brier_by_hand():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    y = np.array([0, 1])
    assert uq.negative_log_likelihood(y, p) == pytest.approx(
        -(np.log(0.7) + np.log(0.1)) / 2
    )
    brier = ((0.3**2 + 0.2**2 + 0.1**2) + (0.1**2 + 0.9**2 + 0.8**2)) / 2
    assert uq.brier_score(y, p) == pytest.approx(brier)
    # A confident wrong answer is finite, not inf.
    assert np.isfinite(uq.negative_log_likelihood([1], [[1.0, 0.0]]))


def test_entropy_and_mutual_information():
    uniform = np.full((1, 4), 0.25)
    assert uq.predictive_entropy(uniform)[0] == pytest.approx(np.log(4))
    agreeing = np.stack([uniform, uniform])
    assert uq.mutual_information(agreeing)[0] == pytest.approx(0.0)
    disagreeing = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert uq.mutual_information(disagreeing)[0] == pytest.approx(np.log(2))


def test_auroc_matches_sklearn_with_ties():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    inside = np.round(rng.normal(1.0, 1.0, 300), 1)  # rounding makes ties
    outside = np.round(rng.normal(0.0, 1.0, 200), 1)
    labels = np.r_[np.ones(300), np.zeros(200)]
    expected = sklearn_metrics.roc_auc_score(labels, np.r_[inside, outside])
    assert uq.auroc(inside, outside) == pytest.approx(expected, abs=1e-12)


def test_ood_auroc_uses_top_probability():
    confident = np.tile([0.95, 0.05], (10, 1))
    unsure = np.tile([0.55, 0.45], (10, 1))
    assert uq.ood_auroc(confident, unsure) == 1.0
    assert uq.ood_auroc(unsure, confident) == 0.0


def test_temperature_matches_netcal_and_lowers_nll():
    netcal_scaling = pytest.importorskip("netcal.scaling")
    y, p = _overconfident()
    temperature = uq.fit_temperature(y, p)
    reference = netcal_scaling.TemperatureScaling()
    reference.fit(p, y)
    # netcal fits the inverse temperature 1/T as its weight.
    netcal_temperature = 1.0 / float(np.ravel(reference.weights)[0])
    assert temperature == pytest.approx(netcal_temperature, rel=1e-3)
    scaled = uq.apply_temperature(p, temperature)
    assert uq.negative_log_likelihood(y, scaled) < uq.negative_log_likelihood(
        y, p
    )
    assert uq.expected_calibration_error(
        y, scaled
    ) < uq.expected_calibration_error(y, p)
    np.testing.assert_array_equal(scaled.argmax(-1), p.argmax(-1))


def test_reliability_diagram_writes_a_png(tmp_path):
    y, p = _overconfident(num=500)
    path = uq.reliability_diagram(
        y,
        {"raw": p, "scaled": uq.apply_temperature(p, 2.0)},
        tmp_path / "r.png",
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: uq.expected_calibration_error([], np.zeros((0, 3))), "empty"),
        (
            lambda: uq.expected_calibration_error([0, 1], [[0.5, 0.5]]),
            "same set",
        ),
        (lambda: uq.brier_score([0], [[2.0, -1.0]]), "non-negative"),
        (lambda: uq.negative_log_likelihood([0], [[3.0, 1.0]]), "sum to 1"),
        (lambda: uq.negative_log_likelihood([5], [[0.5, 0.5]]), "0..1"),
        (lambda: uq.expected_calibration_error([0], [[1, 0]], 0), "num_bins"),
        (lambda: uq.mutual_information(np.full((2, 3), 0.5)), "3 axes"),
        (lambda: uq.auroc([], [0.5]), "empty"),
        (lambda: uq.fit_temperature([0], np.zeros((1, 0))), "empty"),
        (lambda: uq.apply_temperature([[0.5, 0.5]], -1.0), "> 0"),
    ],
)
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
