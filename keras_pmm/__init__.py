"""keras-pmm: Parametric Matrix Models for Keras 3.

The public surface is `keras_pmm.layers`, `keras_pmm.models`,
`keras_pmm.linalg`, `keras_pmm.initializers`, `keras_pmm.datasets`,
`keras_pmm.export`, `keras_pmm.training`,
`keras_pmm.zoo` and `keras_pmm.uq`.

The subpackages are imported on first use (PEP 562), so that `import
keras_pmm` and the `keras-pmm` command's `--help` do not start Keras and its
backend: `keras_pmm.layers` and `from keras_pmm import layers` work as usual.
The Keras classes still register themselves as soon as Keras is imported
(`_registration`), so `keras.saving.load_model` finds them after a bare
`import keras_pmm`, in either import order.
"""

from keras_pmm import _registration
from keras_pmm import _subpackages

_subpackages.ensure_mapped_subpackages()
_registration.register_when_keras_loads(finished=__name__)

__version__ = "0.1.0"

__all__ = [
    "datasets",
    "export",
    "initializers",
    "layers",
    "linalg",
    "models",
    "training",
    "uq",
    "zoo",
]


def __getattr__(name):
    if name in __all__:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})
