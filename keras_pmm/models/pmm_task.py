"""Shared behaviour of the PMM task models."""

import keras

from keras_pmm import _validation


class PMMTask(keras.Model):
    """Base of the PMM models: self-compiling, with checked array inputs.

    Subclasses create their layers in `__init__` and define `call`,
    `get_config`, `default_loss()` and `default_metrics()`. The model is
    compiled at construction with `compile()`'s defaults (Adam at
    `default_learning_rate`, the task's loss and metrics); call `compile`
    again to override any of them.

    `fit`, `evaluate` and `predict` reject NaN/inf in numpy or eager tensor
    inputs before training starts (`check_inputs`; datasets and generators
    are passed through unchecked).
    """

    default_learning_rate = 1e-2

    def default_loss(self):
        raise NotImplementedError

    def default_metrics(self):
        raise NotImplementedError

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Configures training; `"auto"` picks the task's defaults.

        Args:
            optimizer: optimizer or `"auto"` for Adam at `default_learning_rate`.
            loss: loss or `"auto"` for the task's loss.
            metrics: list of metrics or `"auto"` for the task's metrics.
            **kwargs: other `keras.Model.compile` arguments.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(learning_rate=self.default_learning_rate)
        if loss == "auto":
            loss = self.default_loss()
        if metrics == "auto":
            metrics = self.default_metrics()
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

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
        """Raises on invalid numpy or eager-tensor inputs `x` (NaN or inf here).

        Runs before `fit`, `evaluate` and `predict` start, outside any traced
        function; subclasses extend it with their own input contract.
        """
        _validation.check_finite(x, "x")

    def fit(self, x=None, y=None, *args, **kwargs):
        self.check_inputs(x)
        _validation.check_finite(y, "y")
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        self.check_inputs(x)
        _validation.check_finite(y, "y")
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        self.check_inputs(x)
        return super().predict(x, *args, **kwargs)
