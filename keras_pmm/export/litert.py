"""Run an exported `.tflite` classifier with LiteRT alone, as a phone app would.

Imports numpy and `ai_edge_litert` only: no Keras, no TensorFlow. Reads
any builtins-only `.tflite` file: those `keras_pmm.export` writes (outputs
named `outputs`, class names in the file's metadata) and others, such as
Keras' own `model.export(format="litert")` (output `output_0`).
"""

import pathlib

import numpy as np

from keras_pmm.export import _files


class TFLiteModel:
    """An exported `.tflite` model in the LiteRT interpreter (builtins only).

    The interpreter uses the builtin op resolver without the Flex delegate,
    so a file that needs TensorFlow ops fails to load here as on a phone.

    Args:
        path: the `.tflite` file (its class names, if any, in its metadata
            entry `class_names`).
        num_threads: interpreter threads.

    Attributes:
        class_names: list of class names, or None.
        pixel_range: [low, high] raw pixel range of an image model exported
            by keras_pmm (metadata entry `pixel_range`, [0, 255] for the zoo's
            models; `predict` refuses inputs outside it), or None.
        input_shape: the input shape with -1 for the (resizable) batch.
        input_dtype: numpy dtype of the input.
        output_names: the file's output names (`outputs`, plus `entropy`,
            `mutual_information` or `std` for uncertainty models; whatever
            the serving signature names them in other files).
        output_indices: {output name: the interpreter's tensor index}.
        primary_output: the output `predict` returns: `outputs`, or the
            file's only output whatever its name, or None when a file has
            several outputs and none named `outputs`.

    Raises:
        FileNotFoundError: no such file.
        ModuleNotFoundError: `ai-edge-litert` is not installed (the message
            says what to install).
        ValueError: a file that is not a LiteRT model, or a model with
            several inputs.

    Example:
    >>> from keras_pmm.export.litert import TFLiteModel
    >>> model = TFLiteModel("pmm_mnist.tflite")  # doctest: +SKIP
    >>> model.predict(images).argmax(-1)  # doctest: +SKIP
    """

    def __init__(self, path, num_threads=1):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError(
                "Running a .tflite file needs the LiteRT interpreter: pip "
                "install ai-edge-litert",
                name=error.name,
            ) from None

        self.path = pathlib.Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"No such file: {self.path}")
        content = self.path.read_bytes()
        try:
            self.interpreter = Interpreter(
                model_content=content, num_threads=num_threads
            )
            self.class_names = _files.tflite_class_names(content)
            self.pixel_range = _files.tflite_metadata(
                content, _files.PIXEL_RANGE_KEY
            )
        except (ValueError, RuntimeError) as error:
            raise ValueError(
                f"Cannot read {self.path} as a LiteRT model: {error}"
            ) from None
        inputs = self.interpreter.get_input_details()
        if len(inputs) != 1:
            raise ValueError(
                f"{self.path.name} takes {len(inputs)} inputs; TFLiteModel "
                "runs single-input models."
            )
        self._input = inputs[0]
        self.output_indices = _named_outputs(self.interpreter)
        self.output_names = sorted(self.output_indices)
        if "outputs" in self.output_indices:
            self.primary_output = "outputs"
        elif len(self.output_indices) == 1:
            self.primary_output = self.output_names[0]
        else:
            self.primary_output = None
        self.input_shape = tuple(int(d) for d in self._input["shape_signature"])
        self.input_dtype = np.dtype(self._input["dtype"])
        self._batch = None

    def predict(self, inputs):
        """The primary output (`outputs`: class probabilities of a keras_pmm
        classifier; another file's only output) for a batch of inputs.

        Args:
            inputs: array of shape `input_shape` with any batch size >= 1;
                cast to the model's input dtype.

        Returns:
            numpy array (batch, ...) of the output's shape.

        Raises:
            ValueError: inputs of the wrong shape, an empty batch, or a file
                with several outputs and none named `outputs` (use
                `predict_all`).
        """
        if self.primary_output is None:
            raise ValueError(
                f"{self.path.name} has several outputs "
                f"({', '.join(self.output_names)}) and none named `outputs`; "
                "read them with predict_all."
            )
        return self.predict_all(inputs)[self.primary_output]

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
            ValueError: inputs of the wrong shape, an empty batch, or
                pixels outside `pixel_range` (negative, standardised or
                16-bit images given to an image model).
        """
        inputs = np.asarray(inputs)
        expected = self.input_shape[1:]
        if inputs.shape[1:] != expected or inputs.ndim != len(self.input_shape):
            raise ValueError(
                f"{self.path.name} takes inputs shaped (batch,) + {expected}. "
                f"Received: shape={inputs.shape}"
            )
        if inputs.shape[0] == 0:
            raise ValueError(
                f"{self.path.name} received an empty batch (0 inputs). "
                f"Received: shape={inputs.shape}"
            )
        if self.input_dtype == np.uint8 and (
            inputs.min(initial=0) < 0 or inputs.max(initial=0) > 255
        ):
            raise ValueError(f"{self.path.name} takes uint8 pixels 0..255.")
        if self.pixel_range is not None:
            _check_pixel_range(self.path.name, inputs, *self.pixel_range)
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


def _check_pixel_range(name, inputs, low, high):
    """Raises unless image `inputs` lie in the model's raw pixel range
    (metadata `pixel_range`, with the Keras models' slack for interpolation
    overshoot)."""
    if not np.issubdtype(inputs.dtype, np.number):
        raise ValueError(f"{name} takes numeric pixels in {low:g}..{high:g}.")
    slack = 1e-3 * (high - low)
    smallest, largest = float(inputs.min()), float(inputs.max())
    if not np.isfinite(smallest + largest):
        raise ValueError(f"{name} takes finite pixels; received NaN or inf.")
    if smallest < low - slack or largest > high + slack:
        raise ValueError(
            f"{name} takes raw pixels in {low:g}..{high:g}. Received values "
            f"in {smallest:g}..{largest:g} (standardised or 16-bit images "
            "give wrong answers: pass raw intensities)."
        )


def _named_outputs(interpreter):
    """{output name: tensor index}: the serving signature's names, whatever
    they are (the output tensors' own order is not theirs); for a file
    without a signature, `outputs` for its one output or the tensors' names.
    """
    signatures = interpreter.get_signature_list()
    if not signatures:
        details = interpreter.get_output_details()
        if len(details) == 1:
            return {"outputs": details[0]["index"]}
        return {d["name"]: d["index"] for d in details}
    key = (
        "serving_default"
        if "serving_default" in signatures
        else next(iter(signatures))
    )
    runner = interpreter.get_signature_runner(key)
    return {
        name: details["index"]
        for name, details in runner.get_output_details().items()
    }
