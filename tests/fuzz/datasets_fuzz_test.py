"""Fuzz of the IDX reader on drawn bytes: corrupt, truncated, padded,
gzipped and valid files give a ValueError saying what is wrong, or the
array written (see strategies.py)."""

import gzip

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from keras_pmm.datasets import idx
from tests.datasets.idx_writer import idx_bytes
from tests.fuzz import strategies as fz


@fz.budget(300)
@given(content=st.binary(max_size=64), gzipped=st.booleans())
def test_read_idx_of_any_bytes(tmp_path_factory, content, gzipped):
    path = tmp_path_factory.mktemp("idx") / "x.idx"
    path.write_bytes(gzip.compress(content) if gzipped else content)
    try:
        array = idx.read_idx(path)
    except ValueError as error:
        assert str(path) in str(error), error
        return
    assert isinstance(array, np.ndarray)


@fz.budget(200)
@given(
    array=fz.arrays(
        dtypes=("uint8", "int8", "int32", "float32", "float64"), finite=False
    ),
    cut=st.integers(-3, 3),
    gzipped=st.booleans(),
)
def test_read_idx_round_trip_or_truncation(
    tmp_path_factory, array, cut, gzipped
):
    content = idx_bytes(array)
    if cut < 0:
        content = content[:cut]
    elif cut > 0:
        content = content + bytes(cut)
    path = tmp_path_factory.mktemp("idx") / "x.idx"
    path.write_bytes(gzip.compress(content) if gzipped else content)
    if cut:
        fz.refused(idx.read_idx, path, names=(str(path),))
        return
    read = idx.read_idx(path, expected_shape=array.shape)
    np.testing.assert_array_equal(read, array)
    assert read.dtype == array.dtype
    wrong = tuple(s + 1 for s in array.shape) or (1,)
    fz.refused(idx.read_idx, path, expected_shape=wrong, names=(str(path),))
