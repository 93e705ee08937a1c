"""Image PMM classifier: block Gram encoding, class Hamiltonians, decoders."""

import keras
from keras import ops

from keras_pmm import _validation
from keras_pmm.layers import BlockGramEncoder
from keras_pmm.layers import ClassHamiltonians
from keras_pmm.layers import Deskew
from keras_pmm.layers import ObservableReadout
from keras_pmm.linalg.selection import check_selection
from keras_pmm.models.pmm_classifier_task import PMMClassifierTask
from keras_pmm.models.pmm_task import image_batch


@keras.saving.register_keras_serializable(package="keras_pmm")
class ImagePMMClassifier(PMMClassifierTask):
    """Pure PMM image classifier taking raw images, returning probabilities.

    The image is rescaled by `input_scale` and raised to `intensity_exponent`
    elementwise (X -> X^gamma), optionally deskewed (`Deskew`, no weights),
    encoded as
    M = sum_b K_b R_b K_b^T + L_b C_b L_b^T from block Gram matrices
    (`BlockGramEncoder`); each class c gets H_c = D_c M D_c^T + B_c
    (`ClassHamiltonians`), and z_c comes from an observable read-out of H_c's
    eigenvectors with class-specific decoders and bias:

        p_c = softmax((z_c + b_c) / temperature).

    Compiled with Adam(1e-2), sparse categorical cross-entropy and accuracy.

    Parameters, with B blocks of shape (h, w), L_m = m(m+1)/2:
        B n (h + w) + C (m n + L_m) + C (P L_m + 1),   P = r(r+1)/2 or 1.

    Args:
        num_classes: number of classes.
        image_shape: (H, W) of the input images.
        block_shape: (h, w) blocks, dividing `image_shape`.
        n: size of the image encoding M.
        hamiltonian_size: m, size of each H_c (defaults to n).
        r, decoder, which, method: read-out settings (see `ObservableReadout`).
        normalization: `BlockGramEncoder` normalisation.
        temperature: softmax temperature, > 0.
        input_scale: factor applied to raw pixels (1/255 for uint8 images).
        intensity_exponent: gamma > 0 applied to the rescaled pixels. The
            Gram encoding is quadratic in X, so gamma < 1 lifts faint strokes
            and textures relative to bright areas; 1 leaves pixels as they
            are. Pixels must be non-negative.
        deskew: remove each image's slant first (`Deskew`); worth it for
            handwriting, not for photographs of objects.
        **kwargs: `keras.Model` arguments.

    The model is built at construction, so `count_params()` needs no
    forward pass. `fit`, `evaluate` and `predict` raise a ValueError naming
    the expected and the received shape for anything but a batch of
    (H, W) or (H, W, 1) images (a single image needs `image[None]`).

    Call arguments:
        inputs: (batch, H, W) or (batch, H, W, 1) images, uint8 or float.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.models import ImagePMMClassifier
    >>> model = ImagePMMClassifier(num_classes=10, n=4)
    >>> model.predict(np.zeros((2, 28, 28), "uint8"), verbose=0).shape
    (2, 10)
    """

    def __init__(
        self,
        num_classes,
        image_shape=(28, 28),
        block_shape=(7, 7),
        n=6,
        hamiltonian_size=None,
        r=2,
        decoder="pairwise",
        which="lowest",
        method="lapack",
        normalization="image",
        temperature=1.0,
        input_scale=1.0 / 255.0,
        intensity_exponent=1.0,
        deskew=False,
        **kwargs,
    ):
        super().__init__(
            num_classes=num_classes, temperature=temperature, **kwargs
        )
        self.image_shape = tuple(
            _validation.check_positive_int(d, "image_shape[]")
            for d in image_shape
        )
        self.block_shape = tuple(block_shape)
        self.n = _validation.check_positive_int(n, "n")
        self.hamiltonian_size = hamiltonian_size
        self.r = check_selection(
            r, n if hamiltonian_size is None else hamiltonian_size, which
        )
        self.decoder = decoder
        self.which = which
        self.method = method
        self.normalization = normalization
        self.input_scale = _validation.check_positive(
            input_scale, "input_scale"
        )
        self.intensity_exponent = _validation.check_positive(
            intensity_exponent, "intensity_exponent"
        )
        if not isinstance(deskew, bool):
            raise ValueError(
                f"`deskew` must be True or False. Received: deskew={deskew!r}"
            )
        self.deskew = deskew
        policy = self.dtype_policy
        self.deskewer = Deskew(dtype=policy, name="deskew") if deskew else None
        self.encoder = BlockGramEncoder(
            n,
            block_shape=block_shape,
            normalization=normalization,
            dtype=policy,
            name="encoder",
        )
        self.hamiltonians = self.make_hamiltonians(
            ClassHamiltonians,
            self.num_classes,
            size=hamiltonian_size,
            dtype=policy,
            name="hamiltonians",
        )
        self.readout = self.make_readout(
            ObservableReadout,
            1,
            r,
            which=which,
            decoder=decoder,
            method=method,
            dtype=policy,
            name="readout",
        )
        self.build((None,) + self.image_shape)
        self.compile()

    def make_hamiltonians(self, layer_class, *args, **kwargs):
        """Creates the class-Hamiltonian layer (a hook for subclasses)."""
        return layer_class(*args, **kwargs)

    def make_readout(self, layer_class, *args, **kwargs):
        """Creates the observable read-out layer (a hook for subclasses)."""
        return layer_class(*args, **kwargs)

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        if (
            self.built
        ):  # built at construction; a later build only checks the shape
            return
        image_shape = (None,) + self.image_shape
        self.encoder.build(image_shape)
        encoding_shape = self.encoder.compute_output_shape(image_shape)
        self.hamiltonians.build(encoding_shape)
        self.readout.build(
            self.hamiltonians.compute_output_shape(encoding_shape)
        )

    def check_input_shape(self, shape):
        _validation.check_image_batch_shape(
            shape, self.image_shape, type(self).__name__
        )

    def call(self, inputs):
        encodings = self.encode(inputs)
        return self.probabilities(self.class_logits(encodings))

    def encode(self, inputs):
        """(batch, n, n) block Gram encodings M of raw images."""
        images = image_batch(self, inputs)
        if self.intensity_exponent != 1.0:
            images = ops.power(images, self.intensity_exponent)
        if self.deskewer is not None:
            images = self.deskewer(images)
        return self.encoder(images)

    def class_logits(self, encodings, **layer_kwargs):
        """(batch, num_classes) logits z_c from the encodings.

        Args:
            encodings: (batch, n, n) outputs of `encode`.
            **layer_kwargs: call arguments of the Hamiltonian and read-out
                layers (the variational ones take `sample`).
        """
        hamiltonians = self.hamiltonians(encodings, **layer_kwargs)
        logits = self.readout(hamiltonians, **layer_kwargs)
        return ops.reshape(logits, (-1, self.num_classes))

    def check_inputs(self, x):
        """Rejects NaN/inf and pixels outside 0..1/input_scale (0..255)."""
        super().check_inputs(x)
        _validation.check_pixel_range(x, self.input_scale)

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "block_shape": self.block_shape,
            "n": self.n,
            "hamiltonian_size": self.hamiltonian_size,
            "r": self.r,
            "decoder": self.decoder,
            "which": self.which,
            "method": self.method,
            "normalization": self.normalization,
            "input_scale": self.input_scale,
            "intensity_exponent": self.intensity_exponent,
            "deskew": self.deskew,
        }
