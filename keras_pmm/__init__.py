"""keras-pmm: Parametric Matrix Models for Keras 3.

The public surface is `keras_pmm.layers`, `keras_pmm.models`,
`keras_pmm.linalg`, `keras_pmm.initializers`, `keras_pmm.datasets`,
`keras_pmm.zoo` and `keras_pmm.uq`.
"""

from keras_pmm import _subpackages

_subpackages.ensure_mapped_subpackages()

from keras_pmm import datasets  # noqa: E402
from keras_pmm import initializers  # noqa: E402
from keras_pmm import layers  # noqa: E402
from keras_pmm import linalg  # noqa: E402
from keras_pmm import models  # noqa: E402
from keras_pmm import uq  # noqa: E402
from keras_pmm import zoo  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "datasets",
    "initializers",
    "layers",
    "linalg",
    "models",
    "uq",
    "zoo",
]
