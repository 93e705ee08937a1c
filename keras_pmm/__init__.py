"""keras-pmm: Parametric Matrix Models for Keras 3.

The public surface is `keras_pmm.layers`, `keras_pmm.models`,
`keras_pmm.linalg`, `keras_pmm.initializers`, `keras_pmm.datasets`,
`keras_pmm.zoo` and `keras_pmm.uq`.
"""

from keras_pmm import _subpackages

_subpackages.ensure_mapped_subpackages()

from keras_pmm import datasets, initializers, layers, linalg, models  # noqa: E402
from keras_pmm import uq, zoo  # noqa: E402

__version__ = "0.1.0"

__all__ = ["datasets", "initializers", "layers", "linalg", "models", "uq", "zoo"]
