"""Image encoder of the image PMM: block row/column Gram matrices."""

import keras
from keras import ops

from keras_pmm import _precision
from keras_pmm import _validation

NORMALIZATIONS = ("image", "block", "none")


@keras.saving.register_keras_serializable(package="keras_pmm")
class BlockGramEncoder(keras.layers.Layer):
    """Encodes an image as one n x n PSD matrix built from block Gram matrices.

    The image X (H x W) is cut into blocks X_b of shape (h, w). With the row
    and column Gram matrices R_b = X_b X_b^T (h x h) and C_b = X_b^T X_b
    (w x w), the encoding is

        M = sum_b K_b R_b K_b^T + L_b C_b L_b^T
          = sum_b (K_b X_b)(K_b X_b)^T + (L_b X_b^T)(L_b X_b^T)^T,

    with trainable K_b (n x h) and L_b (n x w); the second form is what is
    computed. M is symmetric positive semi-definite. Weights:
    (H/h)(W/w) * n * (h + w).

    Args:
        n: size of M, >= 1.
        block_shape: (h, w), dividing the image shape.
        normalization: `"image"` divides X by its Frobenius norm (so the Gram
            traces sum to 1 and brightness does not matter), `"block"` divides
            each block by its own norm, `"none"` uses X as given. Blank images
            or blocks give M = 0, never NaN. Norms are taken in float32 (or
            float64), also under mixed-precision policies.
        projection_initializer: initializer of K_b and L_b; normal with
            stddev 1 by default.
        projection_regularizer: optional regularizer of K_b and L_b.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: (batch, H, W) or (batch, H, W, 1) images.

    Returns:
        (batch, n, n) symmetric PSD matrices.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.layers import BlockGramEncoder
    >>> encoder = BlockGramEncoder(n=6, block_shape=(7, 7))
    >>> tuple(encoder(np.ones((2, 28, 28), "float32")).shape)
    (2, 6, 6)
    """

    def __init__(
        self,
        n,
        block_shape=(7, 7),
        normalization="image",
        projection_initializer=None,
        projection_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.n = _validation.check_positive_int(n, "n")
        block_shape = tuple(block_shape)
        if len(block_shape) != 2:
            raise ValueError(
                "`block_shape` must be (h, w). Received: "
                f"block_shape={block_shape}"
            )
        self.block_shape = tuple(
            _validation.check_positive_int(b, "block_shape")
            for b in block_shape
        )
        self.normalization = _validation.check_choice(
            normalization, "normalization", NORMALIZATIONS
        )
        self.projection_initializer = keras.initializers.get(
            projection_initializer
            or keras.initializers.RandomNormal(stddev=1.0)
        )
        self.projection_regularizer = keras.regularizers.get(
            projection_regularizer
        )

    def _image_shape(self, input_shape):
        height, width = _validation.check_image_shape(
            input_shape, "BlockGramEncoder"
        )
        if height % self.block_shape[0] or width % self.block_shape[1]:
            raise ValueError(
                f"`block_shape` {self.block_shape} must divide the image shape "
                f"({height}, {width})."
            )
        return height, width

    @property
    def num_blocks(self):
        return self._grid[0] * self._grid[1]

    def build(self, input_shape):
        height, width = self._image_shape(input_shape)
        block_h, block_w = self.block_shape
        self._grid = (height // block_h, width // block_w)
        self.row_projections = self.add_weight(
            name="row_projections",
            shape=(self.num_blocks, self.n, block_h),
            initializer=self.projection_initializer,
            regularizer=self.projection_regularizer,
        )
        self.column_projections = self.add_weight(
            name="column_projections",
            shape=(self.num_blocks, self.n, block_w),
            initializer=self.projection_initializer,
            regularizer=self.projection_regularizer,
        )
        self.input_spec = keras.InputSpec(
            min_ndim=3, max_ndim=4, axes={1: height, 2: width}
        )

    def _blocks(self, images):
        """(batch, H, W) -> (batch, blocks, h, w), blocks in row-major order."""
        (grid_h, grid_w), (block_h, block_w) = self._grid, self.block_shape
        blocks = ops.reshape(images, (-1, grid_h, block_h, grid_w, block_w))
        blocks = ops.transpose(blocks, (0, 1, 3, 2, 4))
        return ops.reshape(blocks, (-1, grid_h * grid_w, block_h, block_w))

    def call(self, inputs):
        height, width = self._image_shape(_validation.static_shape(inputs))
        working = _precision.working_dtype(self.compute_dtype)
        blocks = self._blocks(
            ops.reshape(ops.cast(inputs, working), (-1, height, width))
        )
        if self.normalization != "none":
            axes = (1, 2, 3) if self.normalization == "image" else (2, 3)
            # Blank blocks divide by 1, which keeps both the value (0 / 1)
            # and the gradient (no 1 / sqrt(0)) finite in every dtype,
            # float16 graphs included (see positive_or_one).
            squared_norms = ops.sum(
                ops.square(blocks), axis=axes, keepdims=True
            )
            blocks = blocks / ops.sqrt(
                _precision.positive_or_one(squared_norms)
            )
        blocks = ops.cast(blocks, self.compute_dtype)
        row_features = ops.einsum(
            "knh,zkhw->zknw", self.row_projections, blocks
        )
        column_features = ops.einsum(
            "knw,zkhw->zknh", self.column_projections, blocks
        )
        return ops.einsum(
            "zkaw,zkbw->zab", row_features, row_features
        ) + ops.einsum("zkah,zkbh->zab", column_features, column_features)

    def compute_output_shape(self, input_shape):
        self._image_shape(input_shape)
        return (input_shape[0], self.n, self.n)

    def get_config(self):
        return {
            **super().get_config(),
            "n": self.n,
            "block_shape": self.block_shape,
            "normalization": self.normalization,
            "projection_initializer": keras.initializers.serialize(
                self.projection_initializer
            ),
            "projection_regularizer": keras.regularizers.serialize(
                self.projection_regularizer
            ),
        }
