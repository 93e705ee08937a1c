"""Uncertainty figures as `keras.ops` tensors, for exported graphs.

`keras_pmm.uq.metrics` computes the same figures on numpy arrays; these
versions run inside a model's graph (SavedModel, TFLite: builtins `LOG`,
`GREATER`, `SELECT_V2`, `MAXIMUM`, `MUL`, `SUM` only).
"""

from keras import ops

from keras_pmm import _precision


def predictive_entropy(probabilities):
    """H[p] = -sum_c p_c log p_c in nats, (...,) from (..., C).

    p log p = 0 at p = 0 through log(1), not a floor: a floor such as 1e-12
    is 0 in a float16 `.tflite`, where 0 * log(0) would be NaN.
    """
    log_p = ops.log(_precision.positive_or_one(probabilities))
    return -ops.sum(probabilities * log_p, axis=-1)


def mutual_information(member_probabilities):
    """I = H[mean_m p_m] - mean_m H[p_m] >= 0 in nats, (batch,) from
    (M, batch, C) member (or posterior-draw) probabilities."""
    total = predictive_entropy(_precision.mean(member_probabilities, axis=0))
    aleatoric = _precision.mean(
        predictive_entropy(member_probabilities), axis=0
    )
    return ops.maximum(total - aleatoric, 0.0)
