"""Strategies and the one property of the fuzz of the public API (issue 31).

Every entry is called on drawn inputs (shapes, dtypes, ranges, NaN/inf,
empty and huge arrays) and must either raise a `ValueError`/`TypeError`
whose message names the argument at fault, or return a finite result of
the documented shape: never a silent NaN, never a wrong shape, never
another exception (IndexError, KeyError, ZeroDivisionError, a backend's
own error...). `outcome` checks exactly that.

`budget(n)` sets an entry's number of drawn inputs: n in the default "ci"
profile, ten times n in the "deep" one (see tests/conftest.py).
"""

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# The ci profile's max_examples: budget(n) is n under it.
_CI_EXAMPLES = 100

# Values that break arithmetic: NaN, infinities, float32 overflow,
# underflow to zero, subnormals.
NON_FINITE = (np.nan, np.inf, -np.inf)
EXTREME = (0.0, -0.0, 1e-30, -1e-30, 1e30, -1e30, 3e38, 1e-45, 65504.0)

FLOAT_DTYPES = ("float16", "float32", "float64")
INT_DTYPES = ("int8", "int32", "int64", "uint8")


def budget(examples):
    """Hypothesis settings drawing `examples` inputs under the ci profile
    (scaled with the loaded profile's max_examples)."""
    scale = settings.default.max_examples / _CI_EXAMPLES
    return settings(max_examples=max(1, round(examples * scale)))


def shapes(min_dims=0, max_dims=4, min_side=0, max_side=5):
    return hnp.array_shapes(
        min_dims=min_dims,
        max_dims=max_dims,
        min_side=min_side,
        max_side=max_side,
    )


def floats(finite=False, low=-1e6, high=1e6):
    """Float elements: ordinary values, extremes and (unless `finite`)
    NaN/inf."""
    ordinary = st.floats(low, high, allow_nan=False, width=32)
    special = EXTREME if finite else EXTREME + NON_FINITE
    return st.one_of(ordinary, st.sampled_from(special))


@st.composite
def arrays(draw, shape=None, dtypes=FLOAT_DTYPES + INT_DTYPES, finite=False):
    """An array of a drawn dtype and shape whose elements include
    extremes and, unless `finite`, NaN/inf (float dtypes)."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(shapes()) if shape is None else shape
    if dtype.kind == "f":
        values = draw(hnp.arrays("float64", shape, elements=floats(finite)))
        if finite:  # extremes of float64 stay finite in `dtype`
            largest = np.finfo(dtype).max
            values = np.clip(values, -largest, largest)
        with np.errstate(over="ignore"):
            return values.astype(dtype)
    if dtype.kind == "b":
        return draw(hnp.arrays(dtype, shape))
    return draw(hnp.arrays(dtype, shape))


def junk():
    """Things that are not arrays of numbers."""
    return st.sampled_from(
        [None, "abc", {"a": 1}, object(), [[1.0, 2.0], [3.0]], np.array(["x"])]
    )


@st.composite
def probabilities(draw, rows=None, classes=None, dtype=None):
    """(rows, classes) valid class probabilities, zeros included."""
    rows = draw(st.integers(1, 12)) if rows is None else rows
    classes = draw(st.integers(2, 6)) if classes is None else classes
    raw = draw(
        hnp.arrays("float64", (rows, classes), elements=st.floats(0.0, 1e3))
    )
    top = draw(
        hnp.arrays("int64", (rows,), elements=st.integers(0, classes - 1))
    )
    raw[np.arange(rows), top] += 1.0
    p = raw / raw.sum(-1, keepdims=True)
    dtype = dtype or draw(st.sampled_from(("float32", "float64")))
    return p.astype(dtype)


@st.composite
def labels(draw, rows, classes):
    """(rows,) valid integer labels of a drawn integer dtype."""
    dtype = draw(st.sampled_from(INT_DTYPES))
    return draw(
        hnp.arrays(dtype, (rows,), elements=st.integers(0, classes - 1))
    )


def _names(message, names):
    return any(name in message for name in names)


def check_result(result, shape=None, allow_inf=False):
    """Asserts a result is finite (no NaN; no inf unless `allow_inf`) and,
    for arrays, has `shape`."""
    if isinstance(result, dict):
        for value in result.values():
            check_result(value, allow_inf=allow_inf)
        return
    if isinstance(result, (tuple, list)):
        for value in result:
            check_result(value, shape, allow_inf)
        return
    if hasattr(result, "shape") and not isinstance(result, np.ndarray):
        from keras import ops

        result = ops.convert_to_numpy(result)
    array = np.asarray(result)
    if shape is not None:
        assert array.shape == tuple(shape), (array.shape, shape)
    if array.dtype.kind in "fc":
        assert not np.any(np.isnan(array)), f"silent NaN in {array!r}"
        if not allow_inf:
            assert np.all(np.isfinite(array)), f"silent inf in {array!r}"


def outcome(function, *args, names=(), shape=None, allow_inf=False, **kw):
    """`function(*args, **kw)`: a ValueError/TypeError naming one of
    `names` (returns None), or a result checked by `check_result`."""
    try:
        result = function(*args, **kw)
    except (ValueError, TypeError) as error:
        message = str(error)
        assert message, f"{type(error).__name__} without a message"
        if names:
            assert _names(message, names), (
                f"{type(error).__name__} names none of {names}: {message}"
            )
        return None
    check_result(result, shape, allow_inf)
    return result


def refused(function, *args, names=(), **kw):
    """Asserts `function(*args, **kw)` raises a ValueError/TypeError naming
    one of `names` (a wrong input must never pass)."""
    try:
        result = function(*args, **kw)
    except (ValueError, TypeError) as error:
        message = str(error)
        if names:
            assert _names(message, names), (
                f"{type(error).__name__} names none of {names}: {message}"
            )
        return
    raise AssertionError(f"accepted a wrong input, returned {result!r}")
