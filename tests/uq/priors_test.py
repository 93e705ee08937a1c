"""Priors: ensemble variances, log densities and closed-form KL, checked
against tensorflow-probability on the TensorFlow backend."""

import keras
import numpy as np
import pytest

from keras_pmm import uq
from keras_pmm.linalg import hermitian_from_packed
from tests.test_case import to_numpy

needs_tfp = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="tensorflow-probability's distributions run on TensorFlow tensors "
    "only (its JAX substrate fails with JAX 0.10, DESIGN section 6)",
)


def _tfd():
    return pytest.importorskip("tensorflow_probability").distributions


def test_goe_density_is_exp_of_trace_of_h_squared():
    """log p(H) = -tr(H^2) / (2 sigma^2) + const for every symmetric H."""
    sigma, n = 0.7, 4
    prior = uq.GOEPrior(sigma)
    rng = np.random.default_rng(0)
    packed = rng.normal(size=(5, n * (n + 1) // 2)).astype("float64")
    matrices = to_numpy(hermitian_from_packed(packed))
    traces = np.einsum("bij,bji->b", matrices, matrices)
    log_p = to_numpy(prior.log_prob(keras.ops.convert_to_tensor(packed)))
    differences = log_p + traces / (2 * sigma**2)
    # JAX computes in float32 here.
    np.testing.assert_allclose(differences, differences[0], rtol=1e-5)


def test_gue_density_is_exp_of_trace_of_h_squared():
    sigma, n = 1.3, 3
    prior = uq.GUEPrior(sigma)
    rng = np.random.default_rng(1)
    packed = rng.normal(size=(4, n * n))
    matrices = to_numpy(hermitian_from_packed(packed, "complex"))
    traces = np.real(np.einsum("bij,bji->b", matrices, matrices))
    log_p = to_numpy(prior.log_prob(keras.ops.convert_to_tensor(packed)))
    differences = log_p + traces / (2 * sigma**2)
    # JAX computes in float32 here.
    np.testing.assert_allclose(differences, differences[0], rtol=1e-5)


@needs_tfp
@pytest.mark.parametrize(
    "prior, length",
    [(uq.GaussianPrior(0.5), 7), (uq.GOEPrior(2.0), 10), (uq.GUEPrior(0.3), 9)],
)
def test_log_prob_matches_tfp(prior, length):
    tfd = _tfd()
    rng = np.random.default_rng(2)
    packed = rng.normal(size=(3, length)).astype("float32")
    reference = tfd.MultivariateNormalDiag(
        loc=np.zeros(length, "float32"),
        scale_diag=np.sqrt(prior.variances((length,))).astype("float32"),
    ).log_prob(packed)
    np.testing.assert_allclose(
        to_numpy(prior.log_prob(keras.ops.convert_to_tensor(packed))),
        reference.numpy(),
        rtol=1e-5,
    )


@needs_tfp
@pytest.mark.parametrize("rank", [0, 2])
@pytest.mark.parametrize(
    "prior, length", [(uq.GOEPrior(0.8), 6), (uq.GUEPrior(1.5), 9)]
)
def test_kl_matches_tfp(prior, length, rank):
    tfd = _tfd()
    rng = np.random.default_rng(3)
    loc = rng.normal(size=(4, length))
    scale = rng.uniform(0.1, 0.9, size=(4, length))
    factor = rng.normal(0, 0.3, size=(4, length, rank)) if rank else None
    prior_dist = tfd.MultivariateNormalDiag(
        loc=np.zeros(length), scale_diag=np.sqrt(prior.variances((length,)))
    )
    if rank:
        # TFP registers KL between linear-operator normals of one kind: the
        # full covariance diag(s^2) + F F^T through its Cholesky factor.
        covariance = np.einsum("bl,lm->blm", scale**2, np.eye(length))
        covariance += np.einsum("blk,bmk->blm", factor, factor)
        posterior = tfd.MultivariateNormalTriL(
            loc=loc, scale_tril=np.linalg.cholesky(covariance)
        )
        prior_dist = tfd.MultivariateNormalTriL(
            loc=np.zeros(length),
            scale_tril=np.diag(np.sqrt(prior.variances((length,)))),
        )
    else:
        posterior = tfd.MultivariateNormalDiag(loc=loc, scale_diag=scale)
    expected = float(np.sum(tfd.kl_divergence(posterior, prior_dist)))
    ours = prior.kl_divergence(
        keras.ops.convert_to_tensor(loc),
        keras.ops.convert_to_tensor(scale),
        None if factor is None else keras.ops.convert_to_tensor(factor),
    )
    assert float(to_numpy(ours)) == pytest.approx(expected, rel=1e-8)


def test_kl_is_zero_at_the_prior():
    prior = uq.GOEPrior(1.0)
    loc = np.zeros((2, 6))
    scale = np.sqrt(np.tile(prior.variances((6,)), (2, 1)))
    kl = prior.kl_divergence(
        keras.ops.convert_to_tensor(loc), keras.ops.convert_to_tensor(scale)
    )
    assert float(to_numpy(kl)) == pytest.approx(0.0, abs=1e-12)


def test_bad_priors_are_refused():
    for make in (uq.GaussianPrior, uq.GOEPrior, uq.GUEPrior):
        with pytest.raises(ValueError, match="> 0"):
            make(-1.0)
        with pytest.raises(ValueError, match="> 0"):
            make(0.0)
    with pytest.raises(ValueError, match="real matrices"):
        uq.VariationalAffineHermitian(3, field="complex", prior=uq.GOEPrior(1))
    with pytest.raises(ValueError, match="GaussianPrior"):
        uq.VariationalClassHamiltonians(2, projection_prior=uq.GOEPrior(1))
    with pytest.raises(ValueError, match="prior"):
        uq.VariationalObservableReadout(1, 1, prior="goe")
