"""A layer that calls `keras.ops.eigh` directly (TensorFlow's eigh op).

Importable by module, so that the TensorFlow export subprocess used under
JAX and PyTorch can load models that contain it.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_pmm_tests")
class DirectEigh(keras.layers.Layer):
    """Eigenvalues by `keras.ops.eigh`, bypassing `keras_pmm.linalg.eigh`."""

    def call(self, inputs):
        matrices = ops.reshape(inputs, (-1, 2, 2))
        matrices = matrices + ops.swapaxes(matrices, -1, -2)
        return ops.eigh(matrices)[0]


def model():
    inputs = keras.Input((4,))
    outputs = DirectEigh(name="direct_eigh")(inputs)
    return keras.Model(inputs, outputs)
