"""Fuzz of the models' fit/predict on drawn data: wrong data refused with
a ValueError naming it, right data fitted and predicted with finite
outputs of the documented shape (see strategies.py). Sizes are tiny and
examples few: each fit compiles."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from keras_pmm import models
from tests.fuzz import strategies as fz

NAMES = ("`x", "`y", "x_", "y_", "features", "labels", "empty", "shape")


@st.composite
def tabular(draw, classes=None):
    """(x, y, valid): (rows, 2) features and targets, maybe corrupted."""
    rows = draw(st.integers(1, 6))
    x = draw(fz.arrays((rows, 2), ("float32", "float64"), finite=True))
    x = np.clip(x, -1e3, 1e3)  # documented range: finite, moderate
    if classes:
        y = draw(fz.labels(rows, classes))
    else:
        y = draw(fz.arrays((rows, 1), ("float32",), finite=True))
        y = np.clip(y, -1e3, 1e3)
    kind = draw(
        st.sampled_from(
            (None, None, "nan_x", "nan_y", "empty", "rank", "fewer")
            + (("label", "fraction") if classes else ())
        )
    )
    if kind == "nan_x":
        x = x.astype("float32")
        x[0, draw(st.integers(0, 1))] = draw(st.sampled_from(fz.NON_FINITE))
    elif kind == "nan_y" and not classes:
        y = y.copy()
        y[0, 0] = draw(st.sampled_from(fz.NON_FINITE))
    elif kind == "nan_y":
        y = y.astype("float32")
        y[0] = np.nan
    elif kind == "empty":
        x, y = x[:0], y[:0]
    elif kind == "rank":
        x = x[:, :, None]
    elif kind == "fewer":
        y = y[:-1] if rows > 1 else np.concatenate([y, y])
    elif kind == "label":
        y = y.astype("int64")
        y[0] = classes + draw(st.integers(0, 10))
    elif kind == "fraction":
        y = y.astype("float32")
        y[0] += 0.5
    return x, y, kind


def _fit_predict(model, x, y, kind, shape):
    fit = lambda: model.fit(x, y, epochs=1, batch_size=4, verbose=0)  # noqa: E731
    if kind is None:
        fit()
    elif kind == "fewer":
        try:
            fit()
        except ValueError:
            return
        raise AssertionError("fit accepted x and y of different lengths")
    else:
        fz.refused(fit, names=NAMES)
    if kind in (None, "nan_y", "label", "fraction", "fewer"):
        xs = x if kind is not None else x
        out = fz.outcome(model.predict, xs, verbose=0, shape=(len(xs),) + shape)
        assert out is not None
    else:
        fz.refused(model.predict, x, verbose=0, names=NAMES)


@fz.budget(12)
@given(tabular())
def test_regressor(case):
    x, y, kind = case
    model = models.PMMRegressor(n=2, r=1)
    _fit_predict(model, x, y, kind, (1,))


@fz.budget(12)
@given(tabular(classes=3))
def test_classifier(case):
    x, y, kind = case
    model = models.PMMClassifier(num_classes=3, n=2, r=1)
    _fit_predict(model, x, y, kind, (3,))


@fz.budget(10)
@given(
    batch=st.integers(0, 3),
    low=st.sampled_from((0, -1, -255)),
    high=st.sampled_from((0, 1, 255, 256, 65535)),
    dtype=st.sampled_from(("uint8", "float32", "float64", "int32")),
    side=st.sampled_from((8, 7, 0)),
    nan=st.booleans(),
)
def test_image_classifier_predict(batch, low, high, dtype, side, nan):
    """Pixels in 0..255 are classified, anything else refused (item 6)."""
    model = models.ImagePMMClassifier(
        num_classes=2, image_shape=(8, 8), block_shape=(4, 4), n=2, r=1
    )
    rng = np.random.default_rng(batch)
    x = rng.uniform(low, high, size=(batch, side, side))
    if nan and x.size and dtype.startswith("float"):
        x[0, 0, 0] = np.nan
    with np.errstate(invalid="ignore"):
        x = x.astype(dtype)
    valid = (
        batch
        and side == 8
        and np.all(np.isfinite(x))
        and x.min() >= 0
        and x.max() <= 255
    )
    names = NAMES + ("pixel", "0..255", "images")
    if valid:
        out = fz.outcome(model.predict, x, verbose=0, shape=(batch, 2))
        assert out is not None
        np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)
    else:
        fz.refused(model.predict, x, verbose=0, names=names)
