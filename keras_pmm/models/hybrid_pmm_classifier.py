"""Hybrid image classifier: small convolutional features, an AO-PMM head."""

import keras
from keras import ops

from keras_pmm import _validation
from keras_pmm.layers import AffineHermitian
from keras_pmm.layers import ObservableReadout
from keras_pmm.linalg.selection import check_selection
from keras_pmm.models.pmm_classifier_task import PMMClassifierTask
from keras_pmm.models.pmm_task import image_batch


def _check_conv_filters(conv_filters):
    if isinstance(conv_filters, (int, str)) or conv_filters is None:
        raise ValueError(
            "`conv_filters` must be a sequence of positive integers (possibly "
            f"empty). Received: conv_filters={conv_filters!r}"
        )
    return tuple(
        _validation.check_positive_int(filters, "conv_filters[]")
        for filters in conv_filters
    )


def _check_image_shape(image_shape, num_poolings):
    shape = (
        tuple(image_shape) if isinstance(image_shape, (tuple, list)) else None
    )
    if shape is None or len(shape) != 2:
        raise ValueError(
            "`image_shape` must be (height, width). Received: "
            f"image_shape={image_shape!r}"
        )
    shape = tuple(
        _validation.check_positive_int(d, "image_shape[]") for d in shape
    )
    if min(shape) < 2**num_poolings:
        raise ValueError(
            "`image_shape` must be at least "
            f"2**len(conv_filters)={2**num_poolings} on each "
            "side, since each convolution stage halves it. Received: "
            f"image_shape={shape}"
        )
    return shape


def _check_activation(feature_activation):
    try:
        keras.activations.get(feature_activation)
    except (ValueError, TypeError):
        raise ValueError(
            "`feature_activation` must be the name of a Keras activation or "
            f"None. Received: feature_activation={feature_activation!r}"
        ) from None
    return feature_activation


@keras.saving.register_keras_serializable(package="keras_pmm")
class HybridPMMClassifier(PMMClassifierTask):
    """Image classifier with convolutional features and an AO-PMM head.

    The image is rescaled by `input_scale`, passed through convolution stages
    (`Conv2D(c_i, 3, padding="same", activation="relu")`, then
    `MaxPooling2D(2)`, one per entry of `conv_filters`), flattened and
    projected to p = `features` features x = act(W f + w) (act =
    `feature_activation`, tanh by default so x stays O(1)). The PMM head is
    the affine primary matrix

        H(x) = A_0 + sum_{i=1..p} x_i A_i,   A real symmetric n x n,

    and an observable read-out of its r selected eigenvectors with one set
    of decoders per class (see `ObservableReadout`), for pairwise decoders

        z_c = b_c + sum_{i<=j<=r} ( |v_i^T D_cij v_j|^2 - 1/2 ||D_cij||_2^2 ),
        p_c = softmax(z_c / temperature).

    Compiled with Adam(1e-2), sparse categorical cross-entropy and accuracy.

    Parameters, for k = len(conv_filters) stages of c_1..c_k filters
    (c_0 = 1), images (H, W), L = n(n+1)/2 and C classes:

        sum_{i=1..k} (9 c_{i-1} + 1) c_i              convolutions
        + (floor(H / 2^k) floor(W / 2^k) c_k + 1) p    feature projection
        + (p + 1) L                                    primary matrix
        + C (P L + 1),   P = r(r+1)/2 or 1             read-out

    (16,403 for the defaults on 28 x 28 images: 80 + 1,168 + 12,560 + 935
    + 1,660.) An empty `conv_filters` is allowed: the features are then
    act(W x + w) of the raw pixels (k = 0, c_0 = 1). The model is built at
    construction, so `count_params()` needs no forward pass.

    Args:
        num_classes: number of classes, >= 2.
        image_shape: (H, W) of the input images; each side at least 2^k.
        conv_filters: filters c_1..c_k of the convolution stages, each a
            positive integer; may be empty.
        features: p, the number of PMM input features.
        feature_activation: Keras activation of the feature projection, or
            None for a linear projection.
        n: size of the primary matrix H(x).
        r, decoder, which, method: read-out settings (see `ObservableReadout`);
            `method="jacobi"` gives a model that exports to TFLite builtins.
        temperature: softmax temperature, > 0.
        input_scale: factor applied to raw pixels (1/255 for uint8 images).
        random_flip: mirror each training image left-right with probability
            1/2 (`keras.layers.RandomFlip`; inactive at inference), for data
            sets whose classes are mirror-symmetric (Fashion-MNIST, not digits).
        **kwargs: `keras.Model` arguments.

    Call arguments:
        inputs: (batch, H, W) or (batch, H, W, 1) images, uint8 or float.

    Returns:
        (batch, num_classes) class probabilities.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.models import HybridPMMClassifier
    >>> model = HybridPMMClassifier(num_classes=10)
    >>> model.count_params()
    16403
    >>> model.predict(np.zeros((2, 28, 28), "uint8"), verbose=0).shape
    (2, 10)

    References:
        Cook, Jammooa, Hjorth-Jensen, Lee, Lee, "Parametric matrix models",
        Nat. Commun. 16, 5929 (2025), arXiv:2401.11694.
    """

    def __init__(
        self,
        num_classes,
        image_shape=(28, 28),
        conv_filters=(8, 16),
        features=16,
        feature_activation="tanh",
        n=10,
        r=2,
        decoder="pairwise",
        which="lowest",
        method="lapack",
        temperature=1.0,
        input_scale=1.0 / 255.0,
        random_flip=False,
        **kwargs,
    ):
        super().__init__(
            num_classes=num_classes, temperature=temperature, **kwargs
        )
        self.conv_filters = _check_conv_filters(conv_filters)
        self.image_shape = _check_image_shape(
            image_shape, len(self.conv_filters)
        )
        self.features = _validation.check_positive_int(features, "features")
        self.feature_activation = _check_activation(feature_activation)
        self.n = _validation.check_positive_int(n, "n")
        self.r = check_selection(r, n, which)
        self.decoder = decoder
        self.which = which
        self.method = method
        self.input_scale = _validation.check_positive(
            input_scale, "input_scale"
        )
        if not isinstance(random_flip, bool):
            raise ValueError(
                "`random_flip` must be True or False. Received: "
                f"{random_flip!r}"
            )
        self.random_flip = random_flip
        policy = self.dtype_policy
        self.flip = (
            keras.layers.RandomFlip("horizontal", dtype=policy, name="flip")
            if random_flip
            else None
        )
        self.convolutions = [
            keras.layers.Conv2D(
                filters,
                3,
                padding="same",
                activation="relu",
                dtype=policy,
                name=f"conv_{index}",
            )
            for index, filters in enumerate(self.conv_filters)
        ]
        self.poolings = [
            keras.layers.MaxPooling2D(2, dtype=policy, name=f"pool_{index}")
            for index in range(len(self.conv_filters))
        ]
        self.flatten = keras.layers.Flatten(dtype=policy, name="flatten")
        self.projection = keras.layers.Dense(
            self.features,
            activation=feature_activation,
            dtype=policy,
            name="projection",
        )
        self.primary = AffineHermitian(n, dtype=policy, name="primary")
        self.readout = ObservableReadout(
            self.num_classes,
            r,
            which=which,
            decoder=decoder,
            method=method,
            dtype=policy,
            name="readout",
        )
        self.build((None,) + self.image_shape)
        self.compile()

    def check_inputs(self, x):
        """Rejects NaN/inf and pixels outside 0..1/input_scale (0..255)."""
        super().check_inputs(x)
        _validation.check_pixel_range(x, self.input_scale)

    def check_input_shape(self, shape):
        _validation.check_image_batch_shape(
            shape, self.image_shape, type(self).__name__
        )

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        if (
            self.built
        ):  # built at construction; a later build only checks the shape
            return
        shape = (None,) + self.image_shape + (1,)
        for convolution, pooling in zip(self.convolutions, self.poolings):
            convolution.build(shape)
            shape = pooling.compute_output_shape(
                convolution.compute_output_shape(shape)
            )
        self.projection.build(self.flatten.compute_output_shape(shape))
        self.primary.build((None, self.features))
        self.readout.build((None, self.n, self.n))

    def call(self, inputs, training=None):
        images = ops.expand_dims(image_batch(self, inputs), -1)
        if self.flip is not None:
            images = self.flip(images, training=training)
        for convolution, pooling in zip(self.convolutions, self.poolings):
            images = pooling(convolution(images))
        features = self.projection(self.flatten(images))
        logits = self.readout(self.primary(features))
        return self.probabilities(logits)

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "conv_filters": self.conv_filters,
            "features": self.features,
            "feature_activation": keras.activations.serialize(
                keras.activations.get(self.feature_activation)
            ),
            "n": self.n,
            "r": self.r,
            "decoder": self.decoder,
            "which": self.which,
            "method": self.method,
            "input_scale": self.input_scale,
            "random_flip": self.random_flip,
        }
