"""Fuzz of `keras_pmm.uq`'s metrics, conformal prediction, coverage and
calibration: wrong inputs are refused naming the argument, right ones give
finite results of the documented shape (see strategies.py)."""

import numpy as np
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from keras_pmm import uq
from tests.fuzz import strategies as fz

LABELLED = (
    uq.expected_calibration_error,
    uq.negative_log_likelihood,
    uq.brier_score,
    uq.classification_report,
    uq.fit_temperature,
)
NAMES = ("y_true", "probabilities")

# Corruptions that must be refused whatever the draw.
WRONG = (
    "nan",
    "negative",
    "unnormalised",
    "label_too_big",
    "label_negative",
    "fractional_labels",
    "one_hot",
    "fewer_labels",
    "empty",
    "none",
    "string_labels",
    "rank_3",
)
# Corruptions a function may accept (with a right answer) or refuse.
DOUBTFUL = ("whole_float_labels", "bool_labels", "column_labels", "transposed")


@st.composite
def classification_sets(draw, corruption=None):
    """(y_true, probabilities, corruption) with one drawn corruption (or
    None: a valid set)."""
    p = draw(fz.probabilities())
    rows, classes = p.shape
    y = draw(fz.labels(rows, classes))
    kind = draw(st.sampled_from((None,) + WRONG + DOUBTFUL))
    kind = corruption or kind
    index = draw(st.integers(0, rows - 1))
    if kind == "nan":
        p = p.copy()
        p[index, draw(st.integers(0, classes - 1))] = draw(
            st.sampled_from(fz.NON_FINITE)
        )
    elif kind == "negative":
        p = p.copy()
        p[index, 0] = -draw(st.floats(1e-6, 1e30))
    elif kind == "unnormalised":
        p = p * draw(st.floats(1.01, 1e6))
    elif kind == "label_too_big":
        y = y.astype("int64")
        y[index] = classes + draw(st.integers(0, 2**40))
    elif kind == "label_negative":
        y = y.astype("int64")
        y[index] = -draw(st.integers(1, 2**40))
    elif kind == "fractional_labels":
        y = y.astype("float64")
        y[index] += draw(st.floats(0.01, 0.99))
    elif kind == "one_hot":
        y = np.eye(classes, dtype=draw(st.sampled_from(("int64", "float32"))))[
            y
        ]
        if classes == 1:
            kind = "doubtful"
    elif kind == "fewer_labels":
        y = y[:-1] if rows > 1 else np.concatenate([y, y])
    elif kind == "empty":
        y, p = y[:0], p[:0]
    elif kind == "none":
        if draw(st.booleans()):
            y = None
        else:
            p = None
    elif kind == "string_labels":
        y = y.astype(str)
    elif kind == "rank_3":
        p = p[None]
    elif kind == "whole_float_labels":
        y = y.astype(draw(st.sampled_from(("float16", "float32", "float64"))))
    elif kind == "bool_labels":
        y = y.astype(bool)
    elif kind == "column_labels":
        y = y[:, None]
    elif kind == "transposed":
        p = p.T
    return y, p, kind


@fz.budget(300)
@given(classification_sets(), st.sampled_from(LABELLED))
def test_labelled_metrics(case, function):
    y, p, kind = case
    if kind is None:
        fz.check_result(function(y, p))
    elif kind in WRONG:
        fz.refused(function, y, p, names=NAMES)
    else:
        fz.outcome(function, y, p, names=NAMES)


@fz.budget(200)
@given(classification_sets(), st.integers(-2, 40))
def test_calibration_curve(case, num_bins):
    y, p, kind = case
    try:
        curve = uq.calibration_curve(y, p, num_bins=num_bins)
    except (ValueError, TypeError) as error:
        assert kind is not None or num_bins < 1, error
        assert any(n in str(error) for n in NAMES + ("num_bins",)), error
        return
    assert kind not in WRONG and num_bins >= 1
    assert curve["edges"].shape == (num_bins + 1,)
    count = curve["count"]
    assert count.shape == (num_bins,) and count.sum() == len(p)
    for key in ("accuracy", "confidence"):
        # NaN only in the empty bins, as documented.
        assert np.array_equal(np.isnan(curve[key]), count == 0)


@fz.budget(200)
@given(st.one_of(fz.arrays(), fz.junk()))
def test_probability_functions_on_any_array(x):
    for function, name in (
        (uq.predictive_entropy, "probabilities"),
        (uq.mutual_information, "member_probabilities"),
    ):
        result = fz.outcome(function, x, names=(name,))
        if result is not None:
            assert (
                result.shape == np.shape(x)[:-1][-1:]
                or result.shape == (np.shape(x)[:-1])
            )


@fz.budget(200)
@given(fz.probabilities(), st.integers(1, 4))
def test_entropy_and_mutual_information_of_valid_members(p, members):
    stacked = np.stack([np.roll(p, k, axis=0) for k in range(members)])
    entropy = fz.outcome(uq.predictive_entropy, p, shape=p.shape[:1])
    assert np.all(entropy >= -1e-12)
    info = fz.outcome(uq.mutual_information, stacked, shape=p.shape[:1])
    assert np.all(info >= 0)


@fz.budget(200)
@given(st.one_of(fz.arrays(), fz.junk()), st.one_of(fz.arrays(), fz.junk()))
def test_auroc(in_scores, out_scores):
    result = fz.outcome(
        uq.auroc, in_scores, out_scores, names=("in_scores", "out_scores")
    )
    if result is not None:
        assert 0.0 <= result <= 1.0


@fz.budget(150)
@given(classification_sets(), classification_sets())
def test_ood_auroc(in_case, out_case):
    names = ("in_probabilities", "out_probabilities")
    in_p, out_p = in_case[1], out_case[1]
    valid = in_case[2] is None and out_case[2] is None
    if valid:
        assert 0.0 <= uq.ood_auroc(in_p, out_p) <= 1.0
    else:
        fz.outcome(uq.ood_auroc, in_p, out_p, names=names)


@fz.budget(200)
@given(
    st.one_of(fz.arrays(), fz.junk()),
    st.one_of(st.floats(allow_nan=True), st.sampled_from([0, 1, "0.1", None])),
)
def test_conformal_quantile(scores, alpha):
    result = fz.outcome(
        uq.conformal_quantile,
        scores,
        alpha,
        names=("scores", "alpha"),
        allow_inf=True,
    )
    if result is not None:
        assert result == np.inf or result in np.asarray(scores, "float64")


@fz.budget(250)
@given(
    classification_sets(),
    st.sampled_from(("aps", "raps")),
    st.booleans(),
    st.floats(0.01, 0.99),
)
def test_conformal_classifier(case, score, randomized, alpha):
    y, p, kind = case
    conformal = uq.SplitConformalClassifier(
        None, alpha=alpha, score=score, randomized=randomized, seed=0
    )
    if kind in WRONG:
        fz.refused(conformal.calibrate_from_predictions, y, p, names=NAMES)
        return
    if fz.outcome(conformal.calibrate_from_predictions, y, p, names=NAMES):
        assert not np.isnan(conformal.quantile)
        sets = conformal.sets_from_predictions(p)
        assert sets.shape == p.shape and sets.dtype == bool
        covered = uq.coverage(y, sets)
        assert 0.0 <= covered <= 1.0


@fz.budget(150)
@given(classification_sets())
def test_coverage_of_sets(case):
    y, p, kind = case
    sets = (p > 0.2) if p is not None else None
    if kind in WRONG and kind not in ("nan", "negative", "unnormalised"):
        fz.refused(uq.coverage, y, sets, names=("y_true", "sets"))
    else:
        result = fz.outcome(uq.coverage, y, sets, names=("y_true", "sets"))
        if result is not None:
            assert 0.0 <= result <= 1.0
    # Probabilities or scores are not sets.
    if p is not None and p.size and not np.all((p == 0) | (p == 1)):
        fz.refused(uq.coverage, y, p, names=("y_true", "sets"))


@st.composite
def regression_sets(draw):
    """(y_true, y_pred, corruption) for regression with (n, k) targets."""
    rows, outputs = draw(st.integers(1, 10)), draw(st.integers(1, 3))
    y = draw(fz.arrays((rows, outputs), fz.FLOAT_DTYPES, finite=True))
    with np.errstate(over="ignore"):
        y_hat = y + draw(
            fz.arrays((rows, outputs), ("float32", "float64"), finite=True)
        )
    # Two finite float32 values near the limit can sum to inf: such a set
    # is not a valid one (it is drawn on purpose as kind "nan").
    y_hat = np.where(np.isfinite(y_hat), y_hat, y).astype(y_hat.dtype)
    kind = draw(
        st.sampled_from(
            (None, "nan", "transposed", "fewer", "empty", "flat", "column")
        )
    )
    if kind == "nan":
        target = draw(st.booleans())
        array = (y if target else y_hat).astype("float64")
        array[draw(st.integers(0, rows - 1)), 0] = draw(
            st.sampled_from(fz.NON_FINITE)
        )
        y, y_hat = (array, y_hat) if target else (y, array)
    elif kind == "transposed":
        y = y.T
    elif kind == "fewer":
        y = y[:-1] if rows > 1 else np.concatenate([y, y])
    elif kind == "empty":
        y, y_hat = y[:0], y_hat[:0]
    elif kind == "flat":
        y = y.reshape(-1)
    elif kind == "column":
        y = y[:, :1]
    # Shapes that describe the same examples in the same order.
    same = y.size and (
        y.shape == y_hat.shape
        or tuple(s for s in y.shape if s != 1)
        == tuple(s for s in y_hat.shape if s != 1)
        and y.reshape(-1).shape == y_hat.reshape(-1).shape
        and (y.ndim < 2 or y.shape[0] == y_hat.shape[0])
    )
    return y, y_hat, kind if not same or kind == "nan" else None


@fz.budget(250)
@given(
    regression_sets(),
    st.sampled_from(("absolute", "normalized")),
    st.floats(0.01, 0.99),
)
# (2,) targets against (1, 2) predictions: refused, not reshaped.
@example((np.zeros(2), np.zeros((1, 2)), None), "absolute", 0.1)
def test_conformal_regressor(case, score, alpha):
    y, y_hat, kind = case
    conformal = uq.SplitConformalRegressor(None, alpha=alpha, score=score)
    scale = None if score == "absolute" else np.ones_like(y_hat) + 0.5
    names = ("y_true", "y_pred", "scale", "calibration set")
    calibrate = conformal.calibrate_from_predictions
    if kind is not None:
        fz.refused(calibrate, y, y_hat, scale, names=names)
        return
    if _squeezed(y.shape) != _squeezed(y_hat.shape):
        # Only a trailing axis of one may differ: (2,) against (1, 2) pairs
        # the wrong numbers if reshaped, so it is refused.
        fz.refused(calibrate, y, y_hat, scale, names=names)
        return
    calibrate(y, y_hat, scale)
    assert not np.isnan(conformal.quantile)
    lower, upper = conformal.interval_from_predictions(y_hat, scale)
    assert lower.shape == upper.shape == y_hat.shape
    assert not np.any(np.isnan(lower)) and np.all(lower <= upper)
    if np.isfinite(conformal.quantile):
        assert 0.0 <= uq.coverage(y, (lower, upper)) <= 1.0


@fz.budget(200)
@given(
    st.one_of(fz.probabilities(), fz.arrays()),
    st.one_of(st.floats(allow_nan=True), st.sampled_from([0, -1, "2", None])),
)
# A subnormal temperature gave NaN (log p / T overflowed to -inf - -inf).
@example(np.array([[0.5, 0.5]], "float32"), 2.225073858507e-311)
def test_apply_temperature(p, temperature):
    result = fz.outcome(
        uq.apply_temperature,
        p,
        temperature,
        names=("probabilities", "temperature"),
        shape=np.shape(p),
    )
    if result is not None:
        np.testing.assert_allclose(result.sum(-1), 1.0, rtol=1e-6)


def _squeezed(shape):
    shape = tuple(shape)
    while shape and shape[-1] == 1:
        shape = shape[:-1]
    return shape
