"""Packed Hermitian builders against a direct numpy construction."""

import numpy as np
import pytest

from keras_pmm import linalg
from tests.test_case import to_numpy


def _numpy_unpack(packed, n, field):
    """Fills the matrix entry by entry, independently of the library's
    gather."""
    matrix = np.zeros((n, n), dtype=complex if field == "complex" else float)
    upper = [(i, j) for i in range(n) for j in range(i + 1, n)]
    for i in range(n):
        matrix[i, i] = packed[i]
    for k, (i, j) in enumerate(upper):
        value = packed[n + k]
        if field == "complex":
            value = value + 1j * packed[n + len(upper) + k]
        matrix[i, j] = value
        matrix[j, i] = np.conj(value)
    return matrix


@pytest.mark.parametrize("field", ["real", "complex"])
@pytest.mark.parametrize("n", [1, 2, 5])
def test_hermitian_from_packed_matches_entrywise_construction(n, field):
    length = linalg.packed_size(n, field)
    assert length == (n * (n + 1) // 2 if field == "real" else n * n)
    packed = np.random.default_rng(n).normal(size=(3, length)).astype("float32")
    built = to_numpy(linalg.hermitian_from_packed(packed, field))
    assert built.shape == (3, n, n)
    for b in range(3):
        np.testing.assert_allclose(
            built[b], _numpy_unpack(packed[b], n, field), atol=1e-7
        )
    np.testing.assert_allclose(
        linalg.packed_from_hermitian(built, field), packed, atol=1e-7
    )


def test_size_from_packed_rejects_impossible_lengths():
    assert linalg.size_from_packed(10) == 4
    assert linalg.size_from_packed(16, "complex") == 4
    with pytest.raises(ValueError, match="length=11"):
        linalg.size_from_packed(11)
    with pytest.raises(ValueError, match="length=10"):
        linalg.size_from_packed(10, "complex")


@pytest.mark.parametrize("bad", [0, -2, 2.5, True])
def test_packed_size_rejects_bad_n(bad):
    with pytest.raises(ValueError, match=f"n={bad!r}"):
        linalg.packed_size(bad)


def test_unknown_field_is_rejected():
    with pytest.raises(ValueError, match="field='quaternion'"):
        linalg.packed_size(3, "quaternion")
