"""Split-conformal intervals and sets: coverage, and crepes on the same
scores."""

import functools

import numpy as np
import pytest

from keras_pmm import uq


def _binomial_floor(alpha, n, z=3.0):
    """Coverage 1 - alpha minus z binomial standard errors on n examples."""
    return 1 - alpha - z * np.sqrt(alpha * (1 - alpha) / n)


def test_quantile_rank_and_infinite_case():
    scores = np.arange(1.0, 11.0)  # n = 10
    assert uq.conformal_quantile(scores, 0.2) == 9.0  # ceil(11 * 0.8) = 9
    assert uq.conformal_quantile(scores, 0.05) == float("inf")  # rank 11


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.3])
def test_regression_quantile_matches_crepes(alpha):
    crepes = pytest.importorskip("crepes")
    rng = np.random.default_rng(0)
    residuals = np.abs(rng.standard_t(3, size=777))
    sigmas = rng.uniform(0.5, 2.0, size=777)
    reference = crepes.ConformalRegressor().fit(residuals)
    lower, upper = reference.predict_int(np.zeros(1), confidence=1 - alpha).T
    conformal = uq.SplitConformalRegressor(None, alpha=alpha)
    conformal.calibrate_from_predictions(residuals, np.zeros(777))
    assert conformal.quantile == pytest.approx(upper[0])
    normalized = crepes.ConformalRegressor().fit(residuals * sigmas, sigmas)
    interval = normalized.predict_int(
        np.zeros(2), sigmas=np.array([1.0, 3.0]), confidence=1 - alpha
    )
    ours = uq.SplitConformalRegressor(None, alpha=alpha, score="normalized")
    ours.calibrate_from_predictions(residuals * sigmas, np.zeros(777), sigmas)
    lower, upper = ours.interval_from_predictions(
        np.zeros(2), np.array([1.0, 3.0])
    )
    np.testing.assert_allclose(np.c_[lower, upper], interval)


@pytest.mark.parametrize("score", ["aps", "raps"])
def test_classification_sets_match_crepes(score):
    crepes = pytest.importorskip("crepes")
    rng = np.random.default_rng(1)
    p_cal = rng.dirichlet(np.ones(6) * 0.5, size=600)
    y_cal = (rng.random((600, 1)) > p_cal.cumsum(-1)).sum(-1)
    p_test = rng.dirichlet(np.ones(6) * 0.5, size=300)
    ours = uq.SplitConformalClassifier(None, alpha=0.1, score=score)
    ours.calibrate_from_predictions(y_cal, p_cal)
    cal_scores = ours.class_scores(p_cal)[np.arange(600), y_cal]
    reference = crepes.ConformalClassifier().fit(cal_scores)
    expected = reference.predict_set(
        ours.class_scores(p_test), confidence=0.9, smoothing=False
    )
    sets = ours.sets_from_predictions(p_test)
    # crepes keeps class c when its p-value > alpha; ours keeps scores <= q
    # and always the top class: the two agree except where ours adds it.
    top = p_test.argmax(-1)
    expected = expected.astype(bool)
    expected[np.arange(300), top] = True
    np.testing.assert_array_equal(sets, expected)


@pytest.mark.parametrize("score", ["aps", "raps"])
def test_classification_coverage_on_held_out_data(score):
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.ones(10) * 0.3, size=6000)
    y = (rng.random((6000, 1)) > p.cumsum(-1)).sum(-1)
    y = np.minimum(y, 9)
    conformal = uq.SplitConformalClassifier(None, alpha=0.1, score=score)
    conformal.calibrate_from_predictions(y[:2000], p[:2000])
    sets = conformal.sets_from_predictions(p[2000:])
    assert uq.coverage(y[2000:], sets) >= _binomial_floor(0.1, 4000)
    assert sets.sum(-1).mean() < 10  # informative, not every class


@functools.cache
def _mnist_probabilities(data_dir):
    """pmm_mnist's probabilities on the MNIST test set, and its labels."""
    from keras_pmm import zoo

    _, (x, y) = zoo.PRESETS["pmm_mnist"].data.load(data_dir)
    return zoo.load("pmm_mnist").predict(x, batch_size=1000, verbose=0), y


@pytest.mark.parametrize("score", ["aps", "raps"])
def test_classification_coverage_of_a_trained_preset(score, data_dir):
    """pmm_mnist on a random half of the MNIST test set: coverage is
    1 - alpha within sampling error on either side, not far above it (the
    inclusive-mass APS score reached 1.000 at alpha = 0.1 on MNIST,
    benchmarks/conformal_scores.py)."""
    p, y = _mnist_probabilities(data_dir)
    order = np.random.default_rng(4).permutation(len(y))  # exchangeable
    calibration, test = order[:5000], order[5000:]
    alpha = 0.01  # below pmm_mnist's 2.3% error, so sets are not all top-1
    conformal = uq.SplitConformalClassifier(None, alpha=alpha, score=score)
    conformal.calibrate_from_predictions(y[calibration], p[calibration])
    sets = conformal.sets_from_predictions(p[test])
    covered = uq.coverage(y[test], sets)
    error = 3 * np.sqrt(alpha * (1 - alpha) / 5000)
    assert _binomial_floor(alpha, 5000) <= covered
    assert covered <= 1 - alpha + 1 / 5001 + error
    assert sets.sum(-1).mean() < 2  # mostly one class


@pytest.mark.parametrize("score", ["aps", "raps"])
def test_randomized_sets_cover_one_minus_alpha_on_mnist(score, data_dir):
    """At alpha = 0.1 pmm_mnist (97.7% accurate) gets one-class sets and
    coverage 0.977 from the U = 0 score; the randomised score covers 0.9
    within sampling error with sets of 0, 1 and 2+ classes."""
    p, y = _mnist_probabilities(data_dir)
    order = np.random.default_rng(5).permutation(len(y))
    calibration, test = order[:5000], order[5000:]
    plain = uq.SplitConformalClassifier(None, alpha=0.1, score=score)
    plain.calibrate_from_predictions(y[calibration], p[calibration])
    plain_sets = plain.sets_from_predictions(p[test])
    assert np.all(plain_sets.sum(-1) == 1)
    accuracy = np.mean(p[test].argmax(-1) == y[test])
    assert uq.coverage(y[test], plain_sets) == pytest.approx(accuracy)
    conformal = uq.SplitConformalClassifier(
        None, alpha=0.1, score=score, randomized=True, seed=7
    )
    conformal.calibrate_from_predictions(y[calibration], p[calibration])
    sets = conformal.sets_from_predictions(p[test])
    error = 3 * np.sqrt(0.1 * 0.9 / 5000)
    assert abs(uq.coverage(y[test], sets) - 0.9) <= error + 1 / 5001
    sizes = np.bincount(sets.sum(-1), minlength=3)
    assert sizes[0] > 0 and sizes[1] > 0 and sizes[2:].sum() > 0, sizes


def test_randomized_sets_are_reproducible_from_the_seed():
    rng = np.random.default_rng(6)
    p = rng.dirichlet(np.ones(5), size=400)
    y = rng.integers(0, 5, size=400)

    def fitted(seed):
        conformal = uq.SplitConformalClassifier(
            None, alpha=0.2, randomized=True, seed=seed
        )
        return conformal.calibrate_from_predictions(y, p)

    first, second, other = fitted(3), fitted(3), fitted(4)
    assert first.quantile == second.quantile != other.quantile
    sets = first.sets_from_predictions(p)
    np.testing.assert_array_equal(sets, first.sets_from_predictions(p))
    np.testing.assert_array_equal(sets, second.sets_from_predictions(p))
    assert np.any(sets != other.sets_from_predictions(p))
    # The draw U adds U p(y) to each class's score: U = 1 is the inclusive
    # mass, and U = 0 the default score.
    plain = uq.SplitConformalClassifier(None)
    np.testing.assert_allclose(
        plain.class_scores(p, np.ones(400)) - plain.class_scores(p), p
    )
    with pytest.raises(ValueError, match="randomized"):
        uq.SplitConformalClassifier(None, randomized="yes")
    with pytest.raises(ValueError, match="seed"):
        uq.SplitConformalClassifier(None, randomized=True, seed=1.5)
    with pytest.raises(ValueError, match="`u`"):
        plain.class_scores(p, np.full(400, 2.0))


def test_regression_coverage_with_a_real_model():
    from keras_pmm.models import PMMRegressor

    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(3000, 1)).astype("float32")
    y = (np.sin(3 * x) + rng.normal(0, 0.1 + 0.2 * np.abs(x))).astype("float32")
    model = PMMRegressor(n=4, r=2)
    model.fit(x[:1000], y[:1000], epochs=3, batch_size=64, verbose=0)
    conformal = uq.SplitConformalRegressor(model, alpha=0.1)
    conformal.calibrate(x[1000:2000], y[1000:2000])
    mean, lower, upper = conformal.predict_interval(x[2000:])
    assert mean.shape == lower.shape == (1000, 1)
    assert uq.coverage(y[2000:], (lower, upper)) >= _binomial_floor(0.1, 1000)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        uq.SplitConformalRegressor(None, alpha=1.0)
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        uq.SplitConformalClassifier(None, alpha=0)
    with pytest.raises(ValueError, match="score"):
        uq.SplitConformalClassifier(None, score="lac")
    conformal = uq.SplitConformalRegressor(None)
    with pytest.raises(ValueError, match="empty"):
        conformal.calibrate_from_predictions([], [])
    with pytest.raises(ValueError, match="same set"):
        conformal.calibrate_from_predictions([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="calibrate"):
        conformal.interval_from_predictions([0.0])
    with pytest.raises(ValueError, match="spread"):
        uq.SplitConformalRegressor(
            None, score="normalized"
        ).calibrate_from_predictions([1.0], [1.0])
    with pytest.raises(ValueError, match="logits"):
        uq.SplitConformalClassifier(None).calibrate_from_predictions(
            [0], [[2.0, 1.0]]
        )
    with pytest.raises(TypeError, match="predict"):
        uq.SplitConformalClassifier(object()).calibrate([[0.0]], [0])
