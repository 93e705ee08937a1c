"""The low-rank affine primary H(x) = A_0 + sum_i x_i U_i diag(s_i) U_i^H."""

import math

import keras
from keras import ops

from keras_pmm import _precision
from keras_pmm import _validation
from keras_pmm.layers.affine_hermitian import AffineHermitian
from keras_pmm.linalg.hermitian import hermitian_from_packed


@keras.saving.register_keras_serializable(package="keras_pmm")
class LowRankAffineHermitian(AffineHermitian):
    """Affine primary matrix with rank-k couplings (cheaper for large n).

        H(x) = A_0 + sum_{i=1..p} x_i U_i diag(s_i) U_i^H

    A_0 is a full Hermitian matrix (packed, as in `AffineHermitian`); each
    coupling A_i = U_i diag(s_i) U_i^H is Hermitian of rank <= k, with U_i an
    n x k matrix (real, or complex for `field="complex"`) and s_i k real
    numbers. Weights, for p features and L = packed_size(n, field):

        L + p k (n + 1)     (real)
        L + p k (2 n + 1)   (complex)

    against L (p + 1) for the full form, so rank k < n / 2 saves weights
    once n is large. The layer computes H(x) as A_0 + W diag(x (x) s) W^H
    with W = [U_1 ... U_p], never forming the A_i. Gradients of the output
    do not depend on U_i's phase; the same form is in the PMM paper's
    supplementary material and in pyPMM.

    Args:
        n: matrix size, >= 1.
        rank: k, 1 <= k <= n.
        field: `"real"` or `"complex"`.
        commutator_penalty: as in `AffineHermitian`, over A_0..A_p.
        bias_initializer: initializer of A_0 (packed); GOE/GUE by default.
        kernel_initializer: initializer of U (real and imaginary parts);
            normal with standard deviation 1/sqrt(n) by default, so the
            columns have about unit norm.
        spectrum_initializer: initializer of s; normal with standard
            deviation 1/sqrt(p k) by default.
        bias_regularizer, kernel_regularizer, bias_constraint,
        kernel_constraint: on A_0 and on U and s.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: (batch, ..., p) features.

    Returns:
        (batch, ..., n, n) Hermitian matrices (complex for `"complex"`).

    Raises:
        ValueError: `rank` not an integer in [1, n].

    Example:
    >>> import numpy as np
    >>> from keras_pmm.layers import LowRankAffineHermitian
    >>> layer = LowRankAffineHermitian(n=8, rank=2)
    >>> tuple(layer(np.zeros((3, 4), "float32")).shape)
    (3, 8, 8)
    >>> layer.count_params()  # 36 + 4 * 2 * (8 + 1)
    108

    References:
        Cook et al., "Parametric matrix models", Nat. Commun. 16, 5929
        (2025), arXiv:2401.11694 (supplementary, low-rank primaries).
    """

    def __init__(
        self,
        n,
        rank,
        field="real",
        commutator_penalty=0.0,
        spectrum_initializer=None,
        kernel_initializer=None,
        **kwargs,
    ):
        n = _validation.check_positive_int(n, "n")
        rank = _validation.check_positive_int(rank, "rank")
        if rank > n:
            raise ValueError(
                f"`rank` must be at most n = {n}. Received: rank={rank}"
            )
        super().__init__(
            n,
            field=field,
            commutator_penalty=commutator_penalty,
            kernel_initializer=kernel_initializer
            or keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(n)),
            **kwargs,
        )
        self.rank = rank
        # Standard deviation 1/sqrt(p k) (fan_in = p of the (p, k) weight).
        self.spectrum_initializer = keras.initializers.get(
            spectrum_initializer
            or keras.initializers.VarianceScaling(
                1.0 / rank, mode="fan_in", distribution="untruncated_normal"
            )
        )

    def build_couplings(self, num_features):
        vectors = dict(
            shape=(num_features, self.n, self.rank),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.kernel_vectors = self.add_weight(name="kernel_vectors", **vectors)
        self.kernel_vectors_imag = (
            self.add_weight(name="kernel_vectors_imag", **vectors)
            if self.field == "complex"
            else None
        )
        self.kernel_spectra = self.add_weight(
            name="kernel_spectra",
            shape=(num_features, self.rank),
            initializer=self.spectrum_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )

    @property
    def num_features(self):
        return self.kernel_vectors.shape[0] if self.built else None

    def affine_sum(self, inputs):
        inputs = ops.cast(inputs, self.compute_dtype)
        # c[..., i k] = x_i s_ik; W = [U_1 ... U_p] as (n, p k).
        coefficients = inputs[..., :, None] * ops.cast(
            self.kernel_spectra, self.compute_dtype
        )
        shape = ops.shape(coefficients)
        coefficients = ops.reshape(
            coefficients, tuple(shape[:-2]) + (1, self.num_features * self.rank)
        )
        coupling = self._coupling(coefficients)
        return hermitian_from_packed(self.bias_matrix, self.field) + coupling

    def _columns(self, vectors):
        """(p, n, k) vectors as W, (n, p k), in the compute dtype."""
        vectors = ops.cast(vectors, self.compute_dtype)
        vectors = ops.transpose(vectors, (1, 0, 2))
        return ops.reshape(vectors, (self.n, self.num_features * self.rank))

    def _coupling(self, coefficients):
        """W diag(c) W^H for (..., 1, p k) coefficients c."""
        real = self._columns(self.kernel_vectors)
        real_t = ops.transpose(real)
        result = _precision.matmul(real * coefficients, real_t)
        if self.field == "real":
            return result
        imag = self._columns(self.kernel_vectors_imag)
        imag_t = ops.transpose(imag)
        result = result + _precision.matmul(imag * coefficients, imag_t)
        imaginary = _precision.matmul(
            imag * coefficients, real_t
        ) - _precision.matmul(real * coefficients, imag_t)
        return _precision.complex_from_parts(result, imaginary)

    def matrices(self):
        """All matrices [A_0, A_1, ..., A_p] as a (p + 1, n, n) tensor."""
        p, k = self.num_features, self.rank
        # Coefficients of one-hot inputs: row i keeps s_i, zeros elsewhere.
        eye = ops.eye(p, dtype=self.compute_dtype)
        coefficients = eye[:, :, None] * ops.cast(
            self.kernel_spectra, self.compute_dtype
        )
        couplings = self._coupling(ops.reshape(coefficients, (p, 1, p * k)))
        bias = hermitian_from_packed(self.bias_matrix, self.field)
        return ops.concatenate([bias[None], couplings], axis=0)

    def get_config(self):
        config = super().get_config()
        config["rank"] = self.rank
        config["spectrum_initializer"] = keras.initializers.serialize(
            self.spectrum_initializer
        )
        return config
