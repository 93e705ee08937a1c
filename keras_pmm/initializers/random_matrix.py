"""Random-matrix initializers for packed Hermitian weights."""

import keras
import numpy as np

from keras_pmm import _validation
from keras_pmm.linalg.hermitian import size_from_packed


class _GaussianEnsemble(keras.initializers.Initializer):
    """Shared machinery: standard normals scaled entry by entry."""

    field = None

    def __init__(self, scale=1.0, seed=None, fan_in_axis=None):
        self.scale = _validation.check_positive(scale, "scale")
        if fan_in_axis is not None and (
            isinstance(fan_in_axis, bool) or not isinstance(fan_in_axis, int)
        ):
            raise ValueError(
                "`fan_in_axis` must be an int or None. Received: "
                f"fan_in_axis={fan_in_axis!r}"
            )
        self.fan_in_axis = fan_in_axis
        # Keras's own initializer checks the seed (int, SeedGenerator or a
        # serialised SeedGenerator) and serialises it.
        self._normal = keras.initializers.RandomNormal(
            mean=0.0, stddev=1.0, seed=seed
        )
        self.seed = self._normal.seed if isinstance(seed, dict) else seed

    def _entry_stddevs(self, n):
        raise NotImplementedError

    def __call__(self, shape, dtype=None):
        n = size_from_packed(shape[-1], self.field)
        scale = self.scale
        if self.fan_in_axis is not None:
            scale = scale / np.sqrt(max(shape[self.fan_in_axis], 1))
        stddevs = self._entry_stddevs(n) * (scale / np.sqrt(n))
        return self._normal(shape, dtype=dtype) * keras.ops.cast(
            stddevs, dtype or "float32"
        )

    def get_config(self):
        return {
            "scale": self.scale,
            "seed": self._normal.get_config()["seed"],
            "fan_in_axis": self.fan_in_axis,
        }


@keras.saving.register_keras_serializable(package="keras_pmm")
class GOE(_GaussianEnsemble):
    """Gaussian Orthogonal Ensemble for packed real symmetric matrices.

    Draws the packed weights (last axis n(n+1)/2, see
    `keras_pmm.linalg.hermitian_from_packed`) so that each matrix is GOE:

        H_ij ~ N(0, s^2) (i < j),   H_ii ~ N(0, 2 s^2),   s = scale / sqrt(n),

    whose eigenvalues fill Wigner's semicircle on [-2 scale, 2 scale] for
    large n: `scale` sets the spectral radius independently of n.

    Args:
        scale: half the spectral radius, > 0.
        seed: int or None, as for `keras.initializers.RandomNormal`.
        fan_in_axis: None, or an axis of the weight shape holding p matrices
            that are summed with O(1) coefficients (the p features of
            `AffineHermitian`'s kernel, axis 0); `scale` is then divided by
            sqrt(p) when the weight is created, so the sum keeps a spectral
            radius of about 2 * scale whatever p is.

    Example:
    >>> from keras_pmm.initializers import GOE
    >>> weights = GOE(scale=0.5, seed=1)(shape=(3, 10))  # three 4 x 4
    >>> tuple(weights.shape)
    (3, 10)
    """

    field = "real"

    def _entry_stddevs(self, n):
        return np.concatenate(
            [np.full(n, np.sqrt(2.0)), np.ones(n * (n - 1) // 2)]
        )


@keras.saving.register_keras_serializable(package="keras_pmm")
class GUE(_GaussianEnsemble):
    """Gaussian Unitary Ensemble for packed complex Hermitian matrices.

    Draws packed weights (last axis n^2) so that each matrix is GUE:

        Re H_ij, Im H_ij ~ N(0, s^2 / 2) (i < j),  H_ii ~ N(0, s^2),
        s = scale / sqrt(n),

    so E|H_ij|^2 = s^2 and the spectrum fills [-2 scale, 2 scale].

    Args:
        scale: half the spectral radius, > 0.
        seed: int or None.
        fan_in_axis: None or an axis to divide `scale` by sqrt of, as for `GOE`.

    Example:
    >>> from keras_pmm.initializers import GUE
    >>> weights = GUE(scale=1.0, seed=1)(shape=(16,))  # one 4 x 4 matrix
    >>> tuple(weights.shape)
    (16,)
    """

    field = "complex"

    def _entry_stddevs(self, n):
        off = np.full(n * (n - 1) // 2, np.sqrt(0.5))
        return np.concatenate([np.ones(n), off, off])


def random_matrix_initializer(field, scale=1.0, seed=None, fan_in_axis=None):
    """GOE for `field="real"`, GUE for `field="complex"`."""
    ensemble = GOE if field == "real" else GUE
    return ensemble(scale, seed, fan_in_axis=fan_in_axis)
