"""Moment-based deskewing of images: a fixed, weight-free preprocessing step."""

import keras
from keras import ops

from keras_pmm import _precision
from keras_pmm import _validation


@keras.saving.register_keras_serializable(package="keras_pmm")
class Deskew(keras.layers.Layer):
    """Removes the slant of each image with a horizontal shear.

    Handwriting leans: the same digit comes upright or slanted, and a small
    model spends capacity on that nuisance. With pixel weights
    p(y, x) = X[y, x] / sum X, centroid (y0, x0), the image's slant is

        alpha = sum p (x - x0)(y - y0) / sum p (y - y0)^2,

    and the output reads row y at the shifted column x + alpha (y - y0) with
    linear interpolation (zero outside the image):

        X'[y, x] = sum_k X[y, k] max(0, 1 - |k - x - alpha (y - y0)|).

    X' has zero slant and the same centroid row. The shear is a fixed
    function of the image (no weights), built from elementwise ops and one
    batched contraction, so it runs, differentiates and exports like the rest
    of the model. Blank images and images without vertical extent (a
    single row of ink) come back unchanged. The moments are computed in
    float32 (or float64) whatever the layer's compute dtype, so the layer
    stays finite under `mixed_float16` and `mixed_bfloat16`. The classic
    MNIST preprocessing (LeCun et al. 1998, "deskewing") is this with an
    affine resampler. Having no weights, the layer is built at construction
    and takes any image size.

    Args:
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: (batch, H, W) or (batch, H, W, 1) non-negative images.

    Returns:
        (batch, H, W) deskewed images in the layer's compute dtype.

    Raises:
        ValueError: the input is not shaped (batch, H, W) or (batch, H, W, 1)
            with known H and W.

    Example:
    >>> import keras
    >>> import numpy as np
    >>> from keras_pmm.layers import Deskew
    >>> slanted = np.eye(8, dtype="float32")[None]  # a 45-degree stroke
    >>> upright = Deskew()(slanted)
    >>> np.round(keras.ops.convert_to_numpy(upright)[0].sum(axis=0), 3)
    array([0., 0., 0., 4., 4., 0., 0., 0.], dtype=float32)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._build_at_init()

    def call(self, inputs):
        height, width = _validation.check_image_shape(
            _validation.static_shape(inputs), "Deskew"
        )
        working = _precision.working_dtype(self.compute_dtype)
        images = ops.reshape(ops.cast(inputs, working), (-1, height, width))
        rows = ops.reshape(ops.arange(height, dtype=working), (1, height, 1))
        columns = ops.reshape(ops.arange(width, dtype=working), (1, 1, width))
        # Blank images (total 0) and images without vertical extent (row
        # variance 0) divide by 1, not by a floor: see positive_or_one.
        total = _precision.positive_or_one(
            ops.sum(images, axis=(1, 2), keepdims=True)
        )
        row_mean = ops.sum(images * rows, axis=(1, 2), keepdims=True) / total
        column_mean = (
            ops.sum(images * columns, axis=(1, 2), keepdims=True) / total
        )
        row_offsets = rows - row_mean
        row_variance = ops.sum(
            images * ops.square(row_offsets), axis=(1, 2), keepdims=True
        )
        covariance = ops.sum(
            images * row_offsets * (columns - column_mean),
            axis=(1, 2),
            keepdims=True,
        )
        slant = covariance / _precision.positive_or_one(row_variance)
        # Where each output pixel reads, (batch, H, 1, W), against the input
        # columns k, (1, 1, W, 1): hat weights max(0, 1 - |k - source|).
        sources = ops.expand_dims(columns + slant * row_offsets, axis=2)
        input_columns = ops.reshape(columns, (1, 1, width, 1))
        interpolation = ops.relu(1.0 - ops.abs(input_columns - sources))
        deskewed = ops.einsum("zhk,zhkw->zhw", images, interpolation)
        return ops.cast(deskewed, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        height, width = _validation.check_image_shape(input_shape, "Deskew")
        return (tuple(input_shape)[0], height, width)
