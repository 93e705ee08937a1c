"""Layers whose exports `keras_pmm.export` must refuse.

Importable by module, so that the TensorFlow export subprocess used under
JAX and PyTorch can load models that contain them.
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


@keras.saving.register_keras_serializable(package="keras_pmm_tests")
class FlooredNormalization(keras.layers.Layer):
    """x / max(sum x, 1e-12): the floor is 0 once stored in float16, so a
    float16 `.tflite` returns 0 / 0 = NaN on a zero input."""

    def call(self, inputs):
        total = ops.sum(inputs, axis=-1, keepdims=True)
        return inputs / ops.maximum(total, 1e-12)


def floored_model():
    inputs = keras.Input((4,))
    outputs = FlooredNormalization(name="floored")(inputs)
    return keras.Model(inputs, outputs)
