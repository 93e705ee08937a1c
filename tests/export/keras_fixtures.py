"""Ordinary Keras models exported with Keras' own `model.export(format=
"litert")` (output named `output_0`, no class names): the `.tflite` files
in `data/`, written by `write_fixtures` (TensorFlow backend), which a test
marked large checks still match what Keras writes.

- `keras_softmax.tflite`: Dense(3, softmax) on 4 features;
- `keras_linear.tflite`: Dense(2) (a regressor) on 4 features.
"""

import pathlib

import numpy as np

DATA = pathlib.Path(__file__).resolve().parent / "data"
SOFTMAX = DATA / "keras_softmax.tflite"
LINEAR = DATA / "keras_linear.tflite"
SOFTMAX_WEIGHTS = (
    np.arange(12, dtype="float32").reshape(4, 3) / 10 - 0.5,
    np.array([0.1, -0.2, 0.3], "float32"),
)
LINEAR_WEIGHTS = (
    np.arange(8, dtype="float32").reshape(4, 2) / 10,
    np.array([1.0, -1.0], "float32"),
)


def softmax_reference(x):
    """What `keras_softmax.tflite` computes, in numpy."""
    logits = x @ SOFTMAX_WEIGHTS[0] + SOFTMAX_WEIGHTS[1]
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def linear_reference(x):
    """What `keras_linear.tflite` computes, in numpy."""
    return x @ LINEAR_WEIGHTS[0] + LINEAR_WEIGHTS[1]


def write_fixtures(folder):
    """Writes both files to `folder` with Keras (TensorFlow backend)."""
    import keras

    folder = pathlib.Path(folder)
    for name, activation, weights in (
        ("keras_softmax.tflite", "softmax", SOFTMAX_WEIGHTS),
        ("keras_linear.tflite", None, LINEAR_WEIGHTS),
    ):
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(len(weights[1]), activation=activation),
            ]
        )
        model.layers[0].set_weights(list(weights))
        model.export(str(folder / name), format="litert", verbose=False)
