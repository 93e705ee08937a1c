"""Shared behaviour of the PMM classifiers."""

import keras
from keras import ops

from keras_pmm import _validation
from keras_pmm.models.pmm_task import PMMTask


class PMMClassifierTask(PMMTask):
    """Base of the PMM classifiers: class probabilities from logits.

    Holds what `PMMClassifier`, `ImagePMMClassifier` and
    `HybridPMMClassifier` share: `num_classes` (an int >= 2, checked by one
    rule with one message), the softmax `temperature`, the probability
    output p_c = softmax(z_c / temperature), and the training defaults
    (sparse categorical cross-entropy and accuracy).

    Build rule: a classifier whose input shape is known at construction
    (the image models, from `image_shape`) is built in `__init__`, so
    `count_params()` works before any data is seen; the affine
    `PMMClassifier` takes (batch, p) features with p unknown until data
    arrives and builds on its first call, like `keras.layers.Dense`.

    Args:
        num_classes: number of classes, >= 2.
        temperature: softmax temperature, > 0.
        **kwargs: `keras.Model` arguments.
    """

    def __init__(self, num_classes, temperature=1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = _validation.check_num_classes(num_classes)
        self.temperature = _validation.check_positive(
            temperature, "temperature"
        )

    def probabilities(self, logits):
        """(batch, num_classes) probabilities softmax(logits / temperature)."""
        return ops.softmax(logits / self.temperature, axis=-1)

    def check_targets(self, y, name="y"):
        """Also checks class labels against `num_classes` and the loss.

        Integer labels in 0..num_classes-1 for the default sparse loss;
        one-hot rows of `num_classes` for a categorical loss.

        Raises:
            ValueError: naming what was received, for labels out of range,
                negative, fractional, or in the other form (one-hot rows
                where indices are expected, or the reverse).
        """
        super().check_targets(y, name)
        _validation.check_class_targets(
            y, self.num_classes, getattr(self, "loss", None), name
        )

    def default_loss(self):
        return keras.losses.SparseCategoricalCrossentropy()

    def default_metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "temperature": self.temperature,
        }
