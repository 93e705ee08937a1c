"""The matrix-input primary matrix H(X) = B + K X K^H."""

import keras
from keras import ops

from keras_pmm import _precision
from keras_pmm import _validation
from keras_pmm._inference import weight_constant
from keras_pmm.initializers import FanInNormal
from keras_pmm.initializers import random_matrix_initializer
from keras_pmm.layers.affine_hermitian import output_dtype
from keras_pmm.linalg.hermitian import FIELDS
from keras_pmm.linalg.hermitian import hermitian_from_packed
from keras_pmm.linalg.hermitian import is_complex
from keras_pmm.linalg.hermitian import packed_size


@keras.saving.register_keras_serializable(package="keras_pmm")
class MatrixInputHermitian(keras.layers.Layer):
    """Primary matrix for matrix-valued inputs: H(X) = B + K X K^H.

    X is a real symmetric m x m input, K an n x m trainable map (complex when
    `field="complex"`) and B a trainable n x n Hermitian offset. H(X) is
    Hermitian because X is, and congruence by K preserves the inertia of X
    when K has full rank. Weights: n*m (real) or 2*n*m (complex) for K plus
    packed_size(n, field) for B.

    Args:
        n: output matrix size, >= 1.
        field: `"real"` or `"complex"` (K and B complex; complex64 output,
            complex128 for a float64 layer).
        projection_initializer: initializer of K; normal with stddev
            1/sqrt(m) by default (`FanInNormal`).
        bias_initializer: initializer of B (packed); GOE/GUE of scale 1.
        projection_regularizer, bias_regularizer: optional regularizers.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: (batch, ..., m, m) real symmetric matrices, finite (not
            checked in every call; `keras_pmm.linalg.eigh` checks what it
            is given directly).

    Returns:
        (batch, ..., n, n) Hermitian matrices.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.layers import MatrixInputHermitian
    >>> layer = MatrixInputHermitian(n=3)
    >>> tuple(layer(np.eye(2, dtype="float32")[None]).shape)
    (1, 3, 3)
    """

    def __init__(
        self,
        n,
        field="real",
        projection_initializer=None,
        bias_initializer=None,
        projection_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.n = _validation.check_positive_int(n, "n")
        self.field = _validation.check_choice(field, "field", FIELDS)
        self.projection_initializer = keras.initializers.get(
            projection_initializer or FanInNormal(1.0, fan_in_axis=-1)
        )
        self.bias_initializer = keras.initializers.get(
            bias_initializer or random_matrix_initializer(field, 1.0)
        )
        self.projection_regularizer = keras.regularizers.get(
            projection_regularizer
        )
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)

    def build(self, input_shape):
        _validation.check_square(input_shape, "inputs")
        m = input_shape[-1]
        if m is None:
            raise ValueError(
                "The input matrix size must be known. Received: "
                f"input_shape={input_shape}"
            )
        parts = () if self.field == "real" else (2,)
        self.projection = self.add_weight(
            name="projection",
            shape=parts + (self.n, m),
            initializer=self.projection_initializer,
            regularizer=self.projection_regularizer,
        )
        self.bias_matrix = self.add_weight(
            name="bias_matrix",
            shape=(packed_size(self.n, self.field),),
            initializer=self.bias_initializer,
            regularizer=self.bias_regularizer,
        )
        self.input_spec = keras.InputSpec(min_ndim=3, axes={-2: m, -1: m})

    def call(self, inputs):
        if is_complex(inputs):
            raise TypeError(
                "MatrixInputHermitian takes real symmetric matrices X. "
                f"Received: inputs.dtype={inputs.dtype}"
            )
        bias = weight_constant(
            self,
            "bias_matrix",
            lambda: hermitian_from_packed(self.bias_matrix, self.field),
        )

        batch_shape = tuple(ops.shape(inputs)[:-2])
        size = inputs.shape[-1]
        matrices = ops.reshape(inputs, (-1, size, size))

        def congruence(left, right):
            # No ellipsis: tf2onnx's einsum rewriter rejects "..." equations.
            product = ops.einsum("am,zmk,bk->zab", left, matrices, right)
            return ops.reshape(product, batch_shape + (self.n, self.n))

        if self.field == "real":
            return bias + congruence(self.projection, self.projection)
        k_re, k_im = self.projection[0], self.projection[1]
        real_part = congruence(k_re, k_re) + congruence(k_im, k_im)
        imag_part = congruence(k_im, k_re) - congruence(k_re, k_im)
        return bias + _precision.complex_from_parts(real_part, imag_part)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-2]) + (self.n, self.n)

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
            "projection_initializer": keras.initializers.serialize(
                self.projection_initializer
            ),
            "bias_initializer": keras.initializers.serialize(
                self.bias_initializer
            ),
            "projection_regularizer": keras.regularizers.serialize(
                self.projection_regularizer
            ),
            "bias_regularizer": keras.regularizers.serialize(
                self.bias_regularizer
            ),
        }
