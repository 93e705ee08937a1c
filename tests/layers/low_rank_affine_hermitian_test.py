"""LowRankAffineHermitian: the low-rank affine primary matrix."""

import numpy as np
import pytest

from keras_pmm import layers
from keras_pmm import models
from tests.test_case import to_numpy


@pytest.mark.parametrize("field", ["real", "complex"])
def test_output_is_the_affine_sum_of_rank_k_hermitian_matrices(field):
    layer = layers.LowRankAffineHermitian(n=5, rank=2, field=field)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    h = to_numpy(layer(x))
    matrices = to_numpy(layer.matrices())
    # The same sum built in NumPy from the weights: A_i = U_i diag(s_i) U_i^H.
    u = to_numpy(layer.kernel_vectors).astype("complex128")
    if field == "complex":
        u = u + 1j * to_numpy(layer.kernel_vectors_imag)
    s = to_numpy(layer.kernel_spectra)
    couplings = np.einsum("pak,pk,pbk->pab", u, s, u.conj())
    np.testing.assert_allclose(matrices[1:], couplings, atol=1e-5)
    expected = matrices[0] + np.einsum("bi,iac->bac", x, couplings)
    np.testing.assert_allclose(h, expected, atol=1e-5)
    np.testing.assert_allclose(h, np.conj(np.swapaxes(h, -1, -2)), atol=1e-6)
    assert all(np.linalg.matrix_rank(a, tol=1e-5) == 2 for a in couplings)


def test_regressor_with_rank_counts_the_documented_parameters():
    model = models.PMMRegressor(n=6, r=2, rank=2, field="complex")
    model.predict(np.zeros((2, 4), "float32"), verbose=0)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    packed = 6 * 6
    readout = 2 * 3 // 2 * packed + 1  # 3 pairwise decoders and a bias
    assert trainable == packed + 4 * 2 * (2 * 6 + 1) + readout


@pytest.mark.parametrize("rank", [0, 5, 2.5])
def test_bad_rank_is_refused(rank):
    with pytest.raises(ValueError, match="rank"):
        layers.LowRankAffineHermitian(n=4, rank=rank)
