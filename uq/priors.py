"""Priors over packed PMM weights, with closed-form Gaussian KL divergences.

A prior here is a zero-mean Gaussian with independent entries over a
weight's packed free parameters (the layout of
`keras_pmm.linalg.hermitian_from_packed` for Hermitian matrices), given by
one variance per packed entry:

- `GaussianPrior(scale)`: every parameter ~ N(0, scale^2); for any weight.
- `GOEPrior(sigma)`: the Gaussian Orthogonal Ensemble over real symmetric
  n x n matrices, p(H) proportional to exp(-tr(H^2) / (2 sigma^2)): diagonal
  entries N(0, sigma^2), off-diagonal entries N(0, sigma^2 / 2).
- `GUEPrior(sigma)`: the Gaussian Unitary Ensemble over complex Hermitian
  matrices, the same density exp(-tr(H^2) / (2 sigma^2)): diagonal entries
  N(0, sigma^2), and the real and imaginary parts of each off-diagonal entry
  stored separately, each N(0, sigma^2 / 2) (Mehta, "Random Matrices",
  ch. 2-3).

The densities are exact: `log_prob` is the log density of the packed
parameters, i.e. of the independent matrix entries. `kl_divergence` gives
KL(q || p) in closed form for a Gaussian posterior q with diagonal
covariance, or diagonal plus low rank (`DiagonalPlusLowRank`).
"""

import math

import keras
import numpy as np
from keras import ops

from keras_pmm import _backend
from keras_pmm.linalg.hermitian import size_from_packed

_LOG_2PI = math.log(2.0 * math.pi)


class _Prior:
    """A zero-mean Gaussian with one variance per packed entry."""

    field = None  # the Hermitian field of the packed layout, None for any

    def __init__(self, scale):
        try:
            scale = float(scale)
        except (TypeError, ValueError):
            raise ValueError(
                f"{type(self).__name__} needs a number > 0. Received: {scale!r}"
            ) from None
        if not scale > 0 or not math.isfinite(scale):
            raise ValueError(
                f"{type(self).__name__}'s scale must be finite and > 0. "
                f"Received: {scale}"
            )
        self.scale = scale

    def variances(self, shape):
        """(shape[-1],) numpy prior variances of the packed entries."""
        raise NotImplementedError

    def log_prob(self, packed):
        """Log density of packed parameters, summed over the last axis.

        Args:
            packed: (..., L) tensor of packed parameters.

        Returns:
            (...) log densities.
        """
        variances = ops.convert_to_tensor(
            self.variances(packed.shape), packed.dtype
        )
        return -0.5 * ops.sum(
            ops.square(packed) / variances + ops.log(variances) + _LOG_2PI,
            axis=-1,
        )

    def kl_divergence(self, loc, scale, factor=None):
        """KL(q || p) of a Gaussian posterior q, summed over all entries.

        q has mean `loc` and covariance diag(scale^2) + factor factor^T per
        row of the last axis (each packed matrix):

            KL = 1/2 sum_rows [ tr(V^-1 S) + mu^T V^-1 mu - L
                                + log det V - log det S ],

        V the prior's diagonal covariance; log det S by the matrix
        determinant lemma, log det diag(s^2) + log det(I + F^T diag(s^-2) F).

        Args:
            loc: (..., L) posterior means.
            scale: (..., L) posterior standard deviations, > 0.
            factor: None, or (..., L, k) low-rank covariance factors.

        Returns:
            A scalar tensor.
        """
        variances = ops.convert_to_tensor(self.variances(loc.shape), loc.dtype)
        trace = ops.square(scale) / variances
        log_det_q = ops.log(ops.square(scale))
        total = ops.sum(
            trace
            + ops.square(loc) / variances
            - 1.0
            + ops.log(variances)
            - log_det_q
        )
        if factor is not None:
            total = total + ops.sum(ops.square(factor) / variances[:, None])
            rank = factor.shape[-1]
            scaled = factor / scale[..., None]
            capacitance = ops.einsum(
                "...lk,...lj->...kj", scaled, scaled
            ) + ops.eye(rank, dtype=loc.dtype)
            cholesky = _backend.sequenced(ops.cholesky, capacitance)
            diagonal = ops.diagonal(cholesky, axis1=-2, axis2=-1)
            total = total - 2.0 * ops.sum(ops.log(diagonal))
        return 0.5 * total

    def get_config(self):
        return {"scale": self.scale}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.scale})"

    def __eq__(self, other):
        return type(self) is type(other) and self.scale == other.scale

    def __hash__(self):
        return hash((type(self), self.scale))


@keras.saving.register_keras_serializable(package="keras_pmm")
class GaussianPrior(_Prior):
    """Independent N(0, scale^2) on every parameter.

    Args:
        scale: the standard deviation, > 0.

    Example:

    >>> from keras_pmm.uq.priors import GaussianPrior
    >>> prior = GaussianPrior(2.0)
    >>> prior.variances((3,)).tolist()
    [4.0, 4.0, 4.0]
    """

    def variances(self, shape):
        return np.full(shape[-1], self.scale**2)


class _EnsemblePrior(_Prior):
    """p(H) proportional to exp(-tr(H^2) / (2 sigma^2)) on packed matrices:
    diagonal entries N(0, sigma^2), each stored part (real; real and
    imaginary for `field="complex"`) of an off-diagonal entry N(0,
    sigma^2 / 2)."""

    def __init__(self, sigma):
        super().__init__(sigma)

    @property
    def sigma(self):
        return self.scale

    def variances(self, shape):
        n = size_from_packed(shape[-1], self.field)
        parts = 1 if self.field == "real" else 2
        upper = parts * (n * (n - 1) // 2)
        return np.concatenate(
            [np.full(n, self.scale**2), np.full(upper, self.scale**2 / 2)]
        )

    def get_config(self):
        return {"sigma": self.scale}


@keras.saving.register_keras_serializable(package="keras_pmm")
class GOEPrior(_EnsemblePrior):
    """Gaussian Orthogonal Ensemble prior on packed real symmetric matrices.

    p(H) proportional to exp(-tr(H^2) / (2 sigma^2)): H_ii ~ N(0, sigma^2),
    H_ij ~ N(0, sigma^2 / 2) for i < j.

    Args:
        sigma: the diagonal standard deviation, > 0.

    Example:

    >>> from keras_pmm.uq.priors import GOEPrior
    >>> GOEPrior(1.0).variances((6,)).tolist()  # a 3 x 3 matrix
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    """

    field = "real"


@keras.saving.register_keras_serializable(package="keras_pmm")
class GUEPrior(_EnsemblePrior):
    """Gaussian Unitary Ensemble prior on packed complex Hermitian matrices.

    p(H) proportional to exp(-tr(H^2) / (2 sigma^2)): H_ii ~ N(0, sigma^2),
    Re H_ij and Im H_ij ~ N(0, sigma^2 / 2) each for i < j.

    Args:
        sigma: the diagonal standard deviation, > 0.

    Example:

    >>> from keras_pmm.uq.priors import GUEPrior
    >>> GUEPrior(1.0).variances((4,)).tolist()  # a 2 x 2 matrix
    [1.0, 1.0, 0.5, 0.5]
    """

    field = "complex"


PRIORS = {"gaussian": GaussianPrior, "goe": GOEPrior, "gue": GUEPrior}


def matrix_prior(field, sigma=1.0):
    """`GOEPrior(sigma)` for real symmetric, `GUEPrior(sigma)` for complex
    Hermitian weights."""
    return GOEPrior(sigma) if field == "real" else GUEPrior(sigma)


def get(prior, field=None):
    """A prior from an instance, a config dict or None (None stays None).

    Raises:
        ValueError: for anything else, or a matrix prior of the wrong field
            (GOE needs real symmetric, GUE complex Hermitian weights).
    """
    if prior is None:
        return None
    if isinstance(prior, dict):
        prior = keras.saving.deserialize_keras_object(prior)
    if not isinstance(prior, _Prior):
        raise ValueError(
            "A prior must be GaussianPrior(scale), GOEPrior(sigma) or "
            f"GUEPrior(sigma). Received: {prior!r}"
        )
    if prior.field is not None and field is not None and prior.field != field:
        raise ValueError(
            f"{prior!r} is a prior on {prior.field} matrices, but the weight "
            f"holds {field} ones: use "
            f"{'GOEPrior' if field == 'real' else 'GUEPrior'} or "
            "GaussianPrior."
        )
    return prior


def serialize(prior):
    return None if prior is None else keras.saving.serialize_keras_object(prior)
