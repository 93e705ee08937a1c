"""Normal initializer scaled by one axis of the weight shape."""

import keras

from keras_pmm import _validation


@keras.saving.register_keras_serializable(package="keras_pmm")
class FanInNormal(keras.initializers.RandomNormal):
    """Zero-mean normal weights with stddev = scale / sqrt(shape[fan_in_axis]).

    The projections of the PMM layers contract one axis of their weight
    with the input (K X K^T contracts K's last axis with the m x m input),
    so scaling by that axis keeps the output O(1) for O(1) inputs. Unlike
    `keras.initializers.VarianceScaling`, the axis is named explicitly,
    which also covers stacked weights such as (classes, m, n). The scale is
    worked out when the weight is created, so a layer rebuilt from its config
    on another input size gets the scale for that size.

    Args:
        scale: multiplier of the stddev, > 0.
        fan_in_axis: axis of the weight shape whose length is the fan-in.
        seed: int, `keras.random.SeedGenerator` or None, as for
            `keras.initializers.RandomNormal`.

    Example:
    >>> from keras_pmm.initializers import FanInNormal
    >>> weights = FanInNormal(seed=1)(shape=(3, 4, 16))  # stddev 1/4
    >>> tuple(weights.shape)
    (3, 4, 16)
    """

    def __init__(self, scale=1.0, fan_in_axis=-1, seed=None):
        self.scale = _validation.check_positive(scale, "scale")
        if isinstance(fan_in_axis, bool) or not isinstance(fan_in_axis, int):
            raise ValueError(
                "`fan_in_axis` must be an int. Received: "
                f"fan_in_axis={fan_in_axis!r}"
            )
        self.fan_in_axis = fan_in_axis
        super().__init__(mean=0.0, stddev=self.scale, seed=seed)

    def __call__(self, shape, dtype=None):
        fan_in = max(int(shape[self.fan_in_axis]), 1)
        return keras.random.normal(
            shape,
            mean=0.0,
            stddev=self.scale / fan_in**0.5,
            seed=self.seed,
            dtype=dtype,
        )

    def get_config(self):
        return {
            "scale": self.scale,
            "fan_in_axis": self.fan_in_axis,
            "seed": super().get_config()["seed"],
        }
