"""Gaussian negative log-likelihood for mean / variance heads."""

import math

import keras
from keras import ops

from keras_pmm import _precision

# Floor of the predicted variance, so that a member cannot drive it to 0.
MIN_VARIANCE = 1e-6


def gaussian_parameters(outputs):
    """Splits (..., 2k) outputs into k means and k variances.

    The first k columns are means mu; the last k are variance logits v,
    sigma^2 = softplus(v) + 1e-6 (Lakshminarayanan et al. 2017, sec. 2.2.1).

    Args:
        outputs: (..., 2k) tensor.

    Returns:
        (means, variances), each (..., k).
    """
    width = outputs.shape[-1]
    if width is None or width % 2:
        raise ValueError(
            "A Gaussian head outputs 2k columns (k means, then k variance "
            f"logits). Received {width} columns."
        )
    half = width // 2
    means = outputs[..., :half]
    variances = ops.softplus(outputs[..., half:]) + MIN_VARIANCE
    return means, variances


@keras.saving.register_keras_serializable(package="keras_pmm")
class GaussianNLL(keras.losses.Loss):
    """Gaussian negative log-likelihood of a mean / variance head.

    For targets y (batch, k) and outputs (batch, 2k) read by
    `gaussian_parameters`:

        NLL = 1/2 log(2 pi sigma^2) + (y - mu)^2 / (2 sigma^2),

    averaged over the k targets (nats per target).

    Example:

    >>> from keras_pmm.uq.losses import GaussianNLL
    >>> import numpy as np
    >>> loss = GaussianNLL()
    >>> outputs = np.array([[0.0, np.log(np.e - 1)]], "float32")  # var ~ 1
    >>> round(float(loss(np.zeros((1, 1), "float32"), outputs)), 3)
    0.919
    """

    def __init__(self, name="gaussian_nll", reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)

    def call(self, y_true, y_pred):
        means, variances = gaussian_parameters(y_pred)
        y_true = ops.reshape(ops.cast(y_true, means.dtype), ops.shape(means))
        nll = 0.5 * (
            ops.log(variances)
            + ops.square(y_true - means) / variances
            + math.log(2 * math.pi)
        )
        return _precision.mean(nll, axis=-1)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}
