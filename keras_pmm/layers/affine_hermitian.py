"""The affine primary matrix H(x) = A_0 + sum_i x_i A_i."""

import keras
from keras import ops

from keras_pmm import _precision
from keras_pmm import _validation
from keras_pmm.initializers import random_matrix_initializer
from keras_pmm.linalg.hermitian import FIELDS
from keras_pmm.linalg.hermitian import hermitian_from_packed
from keras_pmm.linalg.hermitian import packed_size


def output_dtype(field, dtype):
    """Dtype of Hermitian matrices of `field` built from `dtype` weights."""
    return dtype if field == "real" else _precision.complex_dtype(dtype)


@keras.saving.register_keras_serializable(package="keras_pmm")
class AffineHermitian(keras.layers.Layer):
    """Primary matrix of an affine PMM: H(x) = A_0 + sum_{i=1..p} x_i A_i.

    Each A is an n x n Hermitian matrix stored without redundant entries
    (n(n+1)/2 floats when real symmetric, n^2 when complex Hermitian), so the
    layer has (p + 1) * packed_size(n, field) weights for p input features.

    Optional commutator smoothing adds the training penalty

        penalty = c * mean_{0 <= i < j <= p} ||[A_i, A_j]||_F^2.

    The eigenvectors of H(x) rotate with x at the rate
    ||dV/dx_i|| <= ||[H(x), A_i]|| / gap, and [H(x), A_i] is a combination of
    the pairwise commutators, so the penalty keeps the eigenbasis from
    swinging through sharp avoided level crossings.

    Args:
        n: matrix size, >= 1.
        field: `"real"` (real symmetric H) or `"complex"` (complex Hermitian H:
            complex64 output, complex128 for a float64 layer).
        commutator_penalty: c >= 0 above; 0 disables it.
        bias_initializer: initializer of A_0 (packed); GOE/GUE of scale 1 by
            default.
        kernel_initializer: initializer of A_1..A_p (packed); GOE/GUE of scale
            1/sqrt(p) by default (`fan_in_axis=0`), so the spectrum of
            sum_i x_i A_i stays O(1) for O(1) inputs.
        bias_regularizer, kernel_regularizer, bias_constraint,
        kernel_constraint: as for `keras.layers.Dense`, on the packed weights.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: (batch, ..., p) features, finite (checked where data enters
            the PMM models, not in every call).

    Returns:
        (batch, ..., n, n) Hermitian matrices (complex for `field="complex"`).

    Example:
    >>> import numpy as np
    >>> from keras_pmm.layers import AffineHermitian
    >>> layer = AffineHermitian(n=4)
    >>> tuple(layer(np.zeros((2, 3), "float32")).shape)
    (2, 4, 4)

    References:
        Cook, Jammooa, Hjorth-Jensen, Lee, Lee, "Parametric matrix models",
        Nat. Commun. 16, 5929 (2025), arXiv:2401.11694.
    """

    def __init__(
        self,
        n,
        field="real",
        commutator_penalty=0.0,
        bias_initializer=None,
        kernel_initializer=None,
        bias_regularizer=None,
        kernel_regularizer=None,
        bias_constraint=None,
        kernel_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.n = _validation.check_positive_int(n, "n")
        self.field = _validation.check_choice(field, "field", FIELDS)
        if not commutator_penalty >= 0:
            raise ValueError(
                "`commutator_penalty` must be >= 0. "
                f"Received: commutator_penalty={commutator_penalty!r}"
            )
        self.commutator_penalty = float(commutator_penalty)
        self.bias_initializer = keras.initializers.get(
            bias_initializer or random_matrix_initializer(field, 1.0)
        )
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer
            or random_matrix_initializer(field, 1.0, fan_in_axis=0)
        )
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)

    def build(self, input_shape):
        num_features = input_shape[-1]
        if num_features is None:
            raise ValueError(
                "The last axis of the input (the p features) must be known. "
                f"Received: input_shape={input_shape}"
            )
        self.bias_matrix = self.add_weight(
            name="bias_matrix",
            shape=(packed_size(self.n, self.field),),
            initializer=self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )
        self.build_couplings(num_features)
        self.input_spec = keras.InputSpec(min_ndim=2, axes={-1: num_features})

    def build_couplings(self, num_features):
        """Creates the weights of A_1..A_p (`build` creates A_0's)."""
        self.kernel_matrices = self.add_weight(
            name="kernel_matrices",
            shape=(num_features, packed_size(self.n, self.field)),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )

    @property
    def num_features(self):
        """The p input features the layer was built for (None before)."""
        return self.kernel_matrices.shape[0] if self.built else None

    def call(self, inputs):
        if self.commutator_penalty > 0:
            self.add_loss(self.commutator_penalty * self.commutator_norm())
        return self.affine_sum(inputs)

    def affine_sum(self, inputs):
        """H(x) from the layer's own weights (`call` without the penalty)."""
        return self.hermitian(inputs, self.kernel_matrices, self.bias_matrix)

    def hermitian(self, inputs, kernel_matrices, bias_matrix):
        """H(x) = A_0 + sum_i x_i A_i from given packed weights.

        Args:
            inputs: (..., p) features x.
            kernel_matrices: (p, L) packed A_1..A_p.
            bias_matrix: (L,) packed A_0.
        """
        packed = _precision.matmul(inputs, kernel_matrices) + bias_matrix
        return hermitian_from_packed(packed, self.field)

    def matrices(self):
        """All matrices [A_0, A_1, ..., A_p] as a (p + 1, n, n) tensor."""
        packed = ops.concatenate(
            [
                self.bias_matrix[None, :],
                ops.convert_to_tensor(self.kernel_matrices),
            ],
            axis=0,
        )
        return hermitian_from_packed(packed, self.field)

    def commutator_norm(self):
        """mean_{i < j} ||[A_i, A_j]||_F^2 over all matrices of the layer."""
        matrices = self.matrices()
        count = matrices.shape[0]
        if count < 2:
            return ops.zeros((), dtype=self.compute_dtype)
        products = _precision.einsum("iab,jbc->ijac", matrices, matrices)
        commutators = products - ops.transpose(products, (1, 0, 2, 3))
        squared = (
            ops.real(commutators * ops.conj(commutators))
            if self.field == "complex"
            else ops.square(commutators)
        )
        per_pair = ops.sum(squared, axis=(-2, -1))
        return ops.sum(per_pair) / (count * (count - 1))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.n, self.n)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(
            self.compute_output_shape(inputs.shape),
            dtype=output_dtype(self.field, self.compute_dtype),
        )

    def get_config(self):
        return {
            **super().get_config(),
            "n": self.n,
            "field": self.field,
            "commutator_penalty": self.commutator_penalty,
            "bias_initializer": keras.initializers.serialize(
                self.bias_initializer
            ),
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
            "bias_regularizer": keras.regularizers.serialize(
                self.bias_regularizer
            ),
            "kernel_regularizer": keras.regularizers.serialize(
                self.kernel_regularizer
            ),
            "bias_constraint": keras.constraints.serialize(
                self.bias_constraint
            ),
            "kernel_constraint": keras.constraints.serialize(
                self.kernel_constraint
            ),
        }
