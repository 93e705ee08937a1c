"""Per-feature affine scaling fitted to data (min-max or standard)."""

import keras
import numpy as np
from keras import ops

from keras_pmm import _validation

MODES = ("minmax", "standard")


@keras.saving.register_keras_serializable(package="keras_pmm")
class FeatureScaling(keras.layers.Layer):
    """Scales each feature with statistics fitted by `adapt`, and back.

    `call` maps x to (x - offset) / scale and `inverse` maps it back:

        minmax:   scale = (max(x) - min(x)) / (b - a),
                  offset = min(x) - a * scale          (to [a, b])
        standard: offset = mean(x), scale = std(x)     (zero mean, unit
                                                        variance)

    over the samples given to `adapt` (the last axis is the feature axis).
    A constant feature gets scale 1. Before `adapt` the layer is the
    identity (offset 0, scale 1). The statistics are non-trainable weights:
    they are saved, loaded and exported with the model. [a, b] =
    `feature_range`, (0, 1) by default as in scikit-learn's `MinMaxScaler`.

    Args:
        mode: `"minmax"` or `"standard"`.
        feature_range: (a, b), a < b, the min-max target interval.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: (batch, ..., d) features.

    Returns:
        (batch, ..., d) scaled features in the compute dtype.

    Raises:
        ValueError: an unknown mode or an empty `feature_range`; `adapt`
            data with no samples, NaN/inf, or a feature count other than
            the built one.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.layers import FeatureScaling
    >>> layer = FeatureScaling("minmax")
    >>> layer.adapt(np.array([[0.0, 10.0], [2.0, 30.0]]))
    >>> np.asarray(layer(np.array([[1.0, 20.0]]))).tolist()
    [[0.5, 0.5]]
    >>> np.asarray(layer.inverse(np.array([[1.0, 0.0]]))).tolist()
    [[2.0, 10.0]]
    """

    def __init__(self, mode="minmax", feature_range=(0.0, 1.0), **kwargs):
        super().__init__(**kwargs)
        self.mode = _validation.check_choice(mode, "mode", MODES)
        low, high = (float(v) for v in feature_range)
        if not low < high:
            raise ValueError(
                "`feature_range` must be (a, b) with a < b. Received: "
                f"feature_range={feature_range!r}"
            )
        self.feature_range = (low, high)
        self.adapted = False

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                "The last axis (the features) must be known. "
                f"Received: input_shape={input_shape}"
            )
        self.offset = self.add_weight(
            name="offset",
            shape=(features,),
            initializer="zeros",
            trainable=False,
        )
        self.scale = self.add_weight(
            name="scale",
            shape=(features,),
            initializer="ones",
            trainable=False,
        )

    def adapt(self, data):
        """Fits offset and scale to `data`, (samples, ..., d).

        Args:
            data: a NumPy array or tensor, or an iterable of such batches
                (e.g. a `tf.data.Dataset` of feature batches).
        """
        statistics = _Moments()
        batches = [data] if _validation.is_array_like(data) else data
        for batch in batches:
            statistics.update(np.asarray(keras.ops.convert_to_numpy(batch)))
        offset, scale = statistics.result(self.mode, self.feature_range)
        if not self.built:
            self.build((None, offset.shape[0]))
        elif self.offset.shape[0] != offset.shape[0]:
            raise ValueError(
                f"The layer was built for {self.offset.shape[0]} features; "
                f"the data have {offset.shape[0]}."
            )
        self.offset.assign(offset.astype(self.offset.dtype))
        self.scale.assign(scale.astype(self.scale.dtype))
        self.adapted = True

    def drift(self, data):
        """How far `data` lies from the fitted scaling, in units of it.

        The largest, over features, of |offset' - offset| / scale and
        |log(scale' / scale)|, where offset' and scale' are what `adapt`
        would fit to `data`: 0 for the data the layer was adapted to.

        Args:
            data: a NumPy array or tensor, (samples, ..., d).

        Returns:
            A float >= 0 (0 when the layer is not adapted yet).
        """
        if not self.adapted:
            return 0.0
        statistics = _Moments()
        statistics.update(np.asarray(keras.ops.convert_to_numpy(data)))
        offset, scale = statistics.result(self.mode, self.feature_range)
        old_offset = keras.ops.convert_to_numpy(self.offset).astype("float64")
        old_scale = keras.ops.convert_to_numpy(self.scale).astype("float64")
        shift = np.abs(offset - old_offset) / old_scale
        stretch = np.abs(np.log(scale / old_scale))
        return float(max(shift.max(initial=0.0), stretch.max(initial=0.0)))

    def call(self, inputs):
        inputs = ops.cast(inputs, self.compute_dtype)
        offset = ops.cast(self.offset, self.compute_dtype)
        return (inputs - offset) / ops.cast(self.scale, self.compute_dtype)

    def inverse(self, outputs):
        """Maps scaled values back: outputs * scale + offset."""
        outputs = ops.cast(outputs, self.compute_dtype)
        scale = ops.cast(self.scale, self.compute_dtype)
        return outputs * scale + ops.cast(self.offset, self.compute_dtype)

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self.adapted = True

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "mode": self.mode,
            "feature_range": self.feature_range,
        }


# Spreads below float32's smallest normal number count as constant
# features: dividing by a subnormal spread stored in float32 gave inf/NaN
# (minmax of [0, 1e-45]).
_TINY_SPREAD = float(np.finfo("float32").tiny)


class _Moments:
    """Running min, max, mean and variance over batches (float64)."""

    def __init__(self):
        self.count = 0

    def update(self, batch):
        if batch.ndim == 0 or batch.shape[-1] == 0:
            raise ValueError(
                "`adapt` data must be (samples, ..., d) with d >= 1 "
                f"features. Received: shape={batch.shape}"
            )
        if batch.ndim == 1:
            batch = batch[:, None]
        batch = batch.reshape(-1, batch.shape[-1]).astype("float64")
        if not np.all(np.isfinite(batch)):
            raise ValueError("`adapt` data contain NaN or inf.")
        if batch.shape[0] == 0:
            return
        if self.count and batch.shape[1] != self.minimum.shape[0]:
            raise ValueError(
                "`adapt` batches have different feature counts: "
                f"{self.minimum.shape[0]} and {batch.shape[1]}."
            )
        count = batch.shape[0]
        mean = batch.mean(axis=0)
        m2 = ((batch - mean) ** 2).sum(axis=0)
        if not self.count:
            self.minimum, self.maximum = batch.min(0), batch.max(0)
            self.mean, self.m2 = mean, m2
        else:  # Chan et al.'s parallel update of mean and variance
            total = self.count + count
            delta = mean - self.mean
            self.mean = self.mean + delta * count / total
            self.m2 = self.m2 + m2 + delta**2 * self.count * count / total
            self.minimum = np.minimum(self.minimum, batch.min(0))
            self.maximum = np.maximum(self.maximum, batch.max(0))
        self.count += count

    def result(self, mode, feature_range):
        if not self.count:
            raise ValueError("`adapt` needs at least one sample.")
        if mode == "standard":
            scale = np.sqrt(self.m2 / self.count)
            return self.mean, np.where(scale > _TINY_SPREAD, scale, 1.0)
        low, high = feature_range
        spread = self.maximum - self.minimum
        scale = np.where(spread > _TINY_SPREAD, spread / (high - low), 1.0)
        return self.minimum - low * scale, scale
