"""AE-PMM read-out: selected eigenvalues, optionally mapped affinely."""

import keras
from keras import ops

from keras_pmm import _precision
from keras_pmm import _validation
from keras_pmm.linalg.eigh import METHODS
from keras_pmm.linalg.eigh import eigh
from keras_pmm.linalg.selection import check_selection
from keras_pmm.linalg.selection import select_eigenpairs


@keras.saving.register_keras_serializable(package="keras_pmm")
class EigenvalueReadout(keras.layers.Layer):
    """Eigenvalue read-out of an AE-PMM.

    Diagonalises H = V diag(l) V^H and keeps r eigenvalues (the lowest by
    default). With `units`, they are mapped affinely: z = l_sel W + b.
    Weights: 0, or r * units + units with `units`.

    Args:
        r: eigenvalues to keep, 1 <= r <= n.
        which: `"lowest"`, `"highest"` or `"largest_magnitude"`.
        units: size of an affine map applied to the r eigenvalues; None keeps
            the eigenvalues themselves.
        method: eigensolver, `"lapack"` or `"jacobi"` (see
            `keras_pmm.linalg.eigh`).
        kernel_initializer, bias_initializer: initializers of the affine map.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: (batch, ..., n, n) Hermitian matrices.

    Returns:
        (batch, ..., r), or (batch, ..., units).

    Example:
    >>> import numpy as np
    >>> from keras_pmm.layers import EigenvalueReadout
    >>> readout = EigenvalueReadout(r=2)
    >>> tuple(readout(np.diag([3.0, 1.0, 2.0]).astype("float32")[None]).shape)
    (1, 2)
    """

    def __init__(
        self,
        r,
        which="lowest",
        units=None,
        method="lapack",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.r = check_selection(r, None, which)
        self.which = which
        self.units = (
            None
            if units is None
            else _validation.check_positive_int(units, "units")
        )
        self.method = _validation.check_choice(method, "method", METHODS)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        _validation.check_square(input_shape, "inputs")
        check_selection(self.r, input_shape[-1], self.which)
        if self.units is not None:
            self.kernel = self.add_weight(
                name="kernel",
                shape=(self.r, self.units),
                initializer=self.kernel_initializer,
            )
            self.bias = self.add_weight(
                name="bias",
                shape=(self.units,),
                initializer=self.bias_initializer,
            )
        self.input_spec = keras.InputSpec(
            min_ndim=3, axes={-1: input_shape[-1]}
        )

    def call(self, inputs):
        eigenvalues, eigenvectors = eigh(
            inputs, method=self.method, validate=False
        )
        values, _ = select_eigenpairs(
            eigenvalues, eigenvectors, self.r, self.which
        )
        values = ops.cast(values, self.compute_dtype)
        if self.units is None:
            return values
        return _precision.matmul(values, self.kernel) + self.bias

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-2]) + (self.units or self.r,)

    def get_config(self):
        return {
            **super().get_config(),
            "r": self.r,
            "which": self.which,
            "units": self.units,
            "method": self.method,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
            "bias_initializer": keras.initializers.serialize(
                self.bias_initializer
            ),
        }
