"""Selection of r eigenpairs."""

import numpy as np
import pytest

from keras_pmm import linalg
from tests.test_case import to_numpy
from tests.test_case import with_spectrum


@pytest.mark.parametrize(
    "which, expected",
    [
        ("lowest", [-3.0, -1.0]),
        ("highest", [2.0, 4.0]),
        ("largest_magnitude", [4.0, -3.0]),
    ],
)
def test_select_eigenpairs(which, expected):
    h = with_spectrum([-3.0, -1.0, 0.5, 2.0, 4.0]).astype("float32")
    values, vectors = linalg.eigh(h)
    selected_values, selected_vectors = linalg.select_eigenpairs(
        values, vectors, 2, which
    )
    np.testing.assert_allclose(to_numpy(selected_values), expected, atol=1e-5)
    v = to_numpy(selected_vectors)
    np.testing.assert_allclose(h @ v, v * np.asarray(expected), atol=1e-4)


def test_selection_rejects_bad_r_and_which():
    values, vectors = linalg.eigh(np.eye(3, dtype="float32"))
    with pytest.raises(ValueError, match="n=3. Received: r=4"):
        linalg.select_eigenpairs(values, vectors, 4)
    with pytest.raises(ValueError, match="r=0"):
        linalg.select_eigenpairs(values, vectors, 0)
    with pytest.raises(ValueError, match="which='middle'"):
        linalg.select_eigenpairs(values, vectors, 1, "middle")
