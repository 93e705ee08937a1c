"""Run an exported `.tflite` classifier with LiteRT alone, as a phone app would.

Imports numpy and `ai_edge_litert` only: no Keras, no TensorFlow.
"""

import pathlib

import numpy as np

from keras_pmm.export import _files


class TFLiteModel:
    """An exported `.tflite` model in the LiteRT interpreter (builtins only).

    The interpreter uses the builtin op resolver without the Flex delegate,
    so a file that needs TensorFlow ops fails to load here as on a phone.

    Args:
        path: the `.tflite` file (its class names, if any, beside it in
            `NAME.labels.txt`).
        num_threads: interpreter threads.

    Attributes:
        class_names: list of class names, or None.
        input_shape: the input shape with -1 for the (resizable) batch.
        input_dtype: numpy dtype of the input.
        output_names: the file's output names (`outputs`, plus `entropy`,
            `mutual_information` or `std` for uncertainty models).
        output_indices: {output name: the interpreter's tensor index}.

    Example:
    >>> from keras_pmm.export.litert import TFLiteModel
    >>> model = TFLiteModel("pmm_mnist.tflite")  # doctest: +SKIP
    >>> model.predict(images).argmax(-1)  # doctest: +SKIP
    """

    def __init__(self, path, num_threads=1):
        from ai_edge_litert.interpreter import Interpreter

        self.path = pathlib.Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"No such file: {self.path}")
        self.interpreter = Interpreter(
            model_path=str(self.path), num_threads=num_threads
        )
        self._input = self.interpreter.get_input_details()[0]
        self.output_indices = _named_outputs(self.interpreter)
        self.output_names = sorted(self.output_indices)
        self.input_shape = tuple(int(d) for d in self._input["shape_signature"])
        self.input_dtype = np.dtype(self._input["dtype"])
        self.class_names = _files.read_labels(self.path)
        self._batch = None

    def predict(self, inputs):
        """The `outputs` output (class probabilities) for a batch of inputs.

        Args:
            inputs: array of shape `input_shape` with any batch size; cast
                to the model's input dtype.

        Returns:
            numpy array (batch, outputs).

        Raises:
            ValueError: inputs of the wrong shape.
        """
        return self.predict_all(inputs)["outputs"]

    def predict_all(self, inputs):
        """Every named output for a batch of inputs, as a dict.

        A plain model has `outputs` only; an exported ensemble adds
        `entropy` and `mutual_information` (batch,) in nats (or `std` for
        regression), a Bayesian model `entropy`.

        Args:
            inputs: as for `predict`.

        Returns:
            dict of numpy arrays, keyed by `output_names`.

        Raises:
            ValueError: inputs of the wrong shape.
        """
        inputs = np.asarray(inputs)
        expected = self.input_shape[1:]
        if inputs.shape[1:] != expected or inputs.ndim != len(self.input_shape):
            raise ValueError(
                f"{self.path.name} takes inputs shaped (batch,) + {expected}. "
                f"Received: shape={inputs.shape}"
            )
        if self.input_dtype == np.uint8 and (
            inputs.min(initial=0) < 0 or inputs.max(initial=0) > 255
        ):
            raise ValueError(f"{self.path.name} takes uint8 pixels 0..255.")
        if inputs.shape[0] != self._batch:
            self.interpreter.resize_tensor_input(
                self._input["index"], inputs.shape
            )
            self.interpreter.allocate_tensors()
            self._batch = inputs.shape[0]
        self.interpreter.set_tensor(
            self._input["index"], inputs.astype(self.input_dtype)
        )
        self.interpreter.invoke()
        return {
            name: np.array(self.interpreter.get_tensor(index))
            for name, index in self.output_indices.items()
        }


def _named_outputs(interpreter):
    """{output name: tensor index}: the serving signature's names (the
    output tensors' own order is not theirs), or `outputs` for a file
    without a signature."""
    signatures = interpreter.get_signature_list()
    if not signatures:
        return {"outputs": interpreter.get_output_details()[0]["index"]}
    runner = interpreter.get_signature_runner(next(iter(signatures)))
    return {
        name: details["index"]
        for name, details in runner.get_output_details().items()
    }
