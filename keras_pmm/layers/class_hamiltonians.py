"""Per-class Hamiltonians of the image PMM."""

import keras
from keras import ops

from keras_pmm import _validation
from keras_pmm._inference import weight_constant
from keras_pmm.initializers import GOE
from keras_pmm.initializers import FanInNormal
from keras_pmm.linalg.hermitian import hermitian_from_packed
from keras_pmm.linalg.hermitian import packed_size


@keras.saving.register_keras_serializable(package="keras_pmm")
class ClassHamiltonians(keras.layers.Layer):
    """One Hamiltonian per class from a shared encoding M.

    H_c = D_c M D_c^T + B_c.

    M is the (n x n) symmetric encoding of an input (for images, from
    `BlockGramEncoder`); each class c has its own map D_c (m x n) and
    symmetric offset B_c (m x m). Weights: C * (m*n + m(m+1)/2).

    Args:
        num_classes: number of Hamiltonians C, >= 1.
        size: m, the size of each H_c; defaults to n.
        projection_initializer: initializer of D_c; normal with stddev
            1/sqrt(n) by default (`FanInNormal`).
        offset_initializer: initializer of B_c (packed); GOE of scale 1.
        projection_regularizer, offset_regularizer: optional regularizers.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: (batch, n, n) symmetric matrices.

    Returns:
        (batch, C, m, m) symmetric matrices.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.layers import ClassHamiltonians
    >>> layer = ClassHamiltonians(num_classes=10)
    >>> tuple(layer(np.zeros((2, 5, 5), "float32")).shape)
    (2, 10, 5, 5)
    """

    def __init__(
        self,
        num_classes,
        size=None,
        projection_initializer=None,
        offset_initializer=None,
        projection_regularizer=None,
        offset_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_classes = _validation.check_positive_int(
            num_classes, "num_classes"
        )
        self.size = (
            None
            if size is None
            else _validation.check_positive_int(size, "size")
        )
        self.projection_initializer = keras.initializers.get(
            projection_initializer or FanInNormal(1.0, fan_in_axis=-1)
        )
        self.offset_initializer = keras.initializers.get(
            offset_initializer or GOE(1.0)
        )
        self.projection_regularizer = keras.regularizers.get(
            projection_regularizer
        )
        self.offset_regularizer = keras.regularizers.get(offset_regularizer)

    def build(self, input_shape):
        _validation.check_square(input_shape, "inputs")
        n = input_shape[-1]
        if n is None:
            raise ValueError(
                "The input matrix size must be known. Received: "
                f"input_shape={input_shape}"
            )
        size = self.size or n
        self.projections = self.add_weight(
            name="projections",
            shape=(self.num_classes, size, n),
            initializer=self.projection_initializer,
            regularizer=self.projection_regularizer,
        )
        self.offsets = self.add_weight(
            name="offsets",
            shape=(self.num_classes, packed_size(size)),
            initializer=self.offset_initializer,
            regularizer=self.offset_regularizer,
        )
        self.input_spec = keras.InputSpec(ndim=3, axes={-2: n, -1: n})

    def call(self, inputs):
        offsets = weight_constant(
            self, "offsets", lambda: hermitian_from_packed(self.offsets)
        )
        return self.hamiltonians(inputs, self.projections, offsets)

    def hamiltonians(self, inputs, projections, offsets):
        """H_c = D_c M D_c^T + B_c from given weights.

        Args:
            inputs: (batch, n, n) encodings M.
            projections: (C, m, n) maps D_c.
            offsets: (C, m, m) symmetric offsets B_c (unpacked).
        """
        projected = ops.einsum(
            "cam,zmk,cbk->zcab", projections, inputs, projections
        )
        return projected + offsets

    def compute_output_shape(self, input_shape):
        size = self.size or input_shape[-1]
        return (input_shape[0], self.num_classes, size, size)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "size": self.size,
            "projection_initializer": keras.initializers.serialize(
                self.projection_initializer
            ),
            "offset_initializer": keras.initializers.serialize(
                self.offset_initializer
            ),
            "projection_regularizer": keras.regularizers.serialize(
                self.projection_regularizer
            ),
            "offset_regularizer": keras.regularizers.serialize(
                self.offset_regularizer
            ),
        }
