"""Shared behaviour of the PMM task models."""

import keras
from keras import ops

from keras_pmm import _backend
from keras_pmm import _validation


class PMMTask(keras.Model):
    """Base of the PMM models: self-compiling, with checked array inputs.

    Subclasses create their layers in `__init__` and define `call`,
    `get_config`, `default_loss()` and `default_metrics()`. The model is
    compiled at construction with `compile()`'s defaults (Adam at
    `default_learning_rate`, the task's loss and metrics); call `compile`
    again to override any of them.

    `fit`, `evaluate` and `predict` reject NaN/inf and wrongly shaped numpy
    or eager tensor inputs before training starts, and `call` runs the same
    `check_inputs` where data enters the model (shapes always; values only
    for concrete tensors, so eager calls and PyTorch's eager training steps,
    at 0.2% of a step: `benchmarks/input_check_bench.py`). The layers inside
    do not check again.

    The model's dtype policy (`dtype=` argument, or the global policy)
    reaches every sublayer: `PMMRegressor(dtype="float64")` computes and
    returns float64, and under `mixed_float16` the eigensolver runs in
    float32 and the outputs come back in float16.

    Build rule: a model whose input shape is known at construction builds
    there (`count_params()` then works at once); one whose input size is
    only known from data (`AffinePMMTask`) builds on its first call.
    """

    default_learning_rate = 1e-2

    @classmethod
    def from_preset(cls, preset):
        """A pretrained model of this class from the zoo, compiled.

        The keras-hub convention: `ImagePMMClassifier.from_preset("pmm_mnist")`.
        `keras_pmm.zoo.load` is the generic entry that loads any preset.

        Args:
            preset: a name from `keras_pmm.zoo.list()`, or a folder written
                by `keras-pmm train` (`config.json`, `model.weights.h5`,
                `metadata.json`).

        Returns:
            An instance of `cls` with the preset's weights (sha256-checked).

        Raises:
            ValueError: unknown preset, weights that fail their sha256, or a
                preset of another model class (the message names it).
            FileNotFoundError: a preset shipped without weights, or an
                incomplete folder.

        Example:
        >>> from keras_pmm.models import ImagePMMClassifier
        >>> model = ImagePMMClassifier.from_preset("pmm_mnist")
        >>> model.count_params()
        2494
        """
        from keras_pmm import zoo  # the zoo imports the models

        return zoo.load(preset, model_class=cls)

    def default_loss(self):
        raise NotImplementedError

    def default_metrics(self):
        raise NotImplementedError

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Configures training; `"auto"` picks the task's defaults.

        Args:
            optimizer: optimizer or `"auto"` for Adam at
                `default_learning_rate`.
            loss: loss or `"auto"` for the task's loss.
            metrics: list of metrics or `"auto"` for the task's metrics.
            **kwargs: other `keras.Model.compile` arguments.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(
                learning_rate=self.default_learning_rate
            )
        if loss == "auto":
            loss = self.default_loss()
        if metrics == "auto":
            metrics = self.default_metrics()
        super().compile(
            optimizer=optimizer, loss=loss, metrics=metrics, **kwargs
        )

    def compile_from_config(self, config):
        """Restores the saved compile settings (and optimizer slots) on load.

        Keras skips this for models with a custom `compile`; the PMM models'
        `compile` only fills in defaults, so the saved settings apply as is.
        """
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def check_inputs(self, x):
        """Raises on invalid numpy or eager-tensor inputs `x`.

        Runs before `fit`, `evaluate` and `predict` start and at the start of
        `call`: checks the (static) shape with `check_input_shape` and, for
        concrete values, rejects NaN or inf. Subclasses extend it with their
        own input contract.
        """
        if _validation.is_array_like(x):
            self.check_input_shape(_validation.static_shape(x))
        _validation.check_finite(x, "x")

    def check_input_shape(self, shape):
        """Raises a ValueError unless `shape` (None: unknown rank) fits."""

    def check_targets(self, y, name="y"):
        """Raises on invalid numpy or eager-tensor targets `y`.

        Runs before `fit` and `evaluate` (and on `validation_data`): rejects
        NaN or inf. Classifiers extend it with their label contract.
        """
        _validation.check_finite(y, name)

    def _check_data(self, x, y, name=""):
        _validation.check_not_empty(x, f"x{name}")
        self.check_inputs(x)
        self.check_targets(y, f"y{name}")

    def fit(self, x=None, y=None, *args, **kwargs):
        self._check_data(x, y)
        validation_data = kwargs.get("validation_data")
        if isinstance(validation_data, (tuple, list)) and len(
            validation_data
        ) in (2, 3):
            self._check_data(*validation_data[:2], name="_val")
        x = _backend.finite_dataset(x)
        validation_data = _backend.finite_dataset(
            validation_data, prefix="validation_data "
        )
        if validation_data is not None:
            kwargs["validation_data"] = validation_data
        with _backend.dataset_errors(self, x, validation_data):
            return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        self._check_data(x, y)
        x = _backend.finite_dataset(x)
        with _backend.dataset_errors(self, x):
            return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        _validation.check_not_empty(x, "x")
        self.check_inputs(x)
        x = _backend.finite_dataset(x)
        with _backend.dataset_errors(self, x):
            return super().predict(x, *args, **kwargs)


class AffinePMMTask(PMMTask):
    """Base of the models with an affine primary matrix on (batch, p) inputs.

    Subclasses create `self.primary` (`AffineHermitian`) and
    `self.readout_layer` (the read-out layer) in `__init__`; this class
    builds them from the feature count and checks that inputs are
    (batch, p) with the p the model was built for.

    Build rule: p is unknown until data is seen, so these models build on
    their first call (or `fit`/`predict`), like `keras.layers.Dense`;
    `count_params()` works after that. Models whose input shape is known at
    construction (the image classifiers) build in `__init__` instead.
    """

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        self.primary.build(input_shape)
        self.readout_layer.build(self.primary.compute_output_shape(input_shape))

    def check_input_shape(self, shape):
        if shape is None:
            return
        expected = self.primary.num_features
        if len(shape) != 2 or (
            None not in (expected, shape[-1]) and shape[-1] != expected
        ):
            features = "p" if expected is None else expected
            raise ValueError(
                f"{type(self).__name__} expects features shaped (batch, "
                f"{features}). Received: shape={tuple(shape)}"
            )


def image_batch(model, inputs):
    """Images of an image model as (batch, H, W) in its compute dtype, rescaled.

    Runs the model's `check_inputs` (an unknown rank, as TensorFlow traces
    `predict` after a call with another rank, passes the shape check) and
    reshapes, so (batch, H, W) and (batch, H, W, 1) give the same result.
    """
    model.check_inputs(inputs)
    images = ops.reshape(
        ops.cast(inputs, model.compute_dtype), (-1,) + model.image_shape
    )
    return images * ops.cast(model.input_scale, model.compute_dtype)
