"""Registers keras-pmm's Keras classes as soon as Keras is imported.

`import keras_pmm` loads its subpackages on first use, so that the
`keras-pmm` command's `--help` does not start Keras. Keras finds a custom
class on `keras.saving.load_model` only once the class's module has run its
`register_keras_serializable` decorator, so a bare `import keras_pmm` must
still register every class before a model is loaded. This module imports the
registering subpackages the moment Keras is there: at once when Keras is
already imported, otherwise right after `import keras` finishes (a one-shot
`sys.meta_path` finder wraps Keras's loader; nothing else is touched).
"""

import importlib
import importlib.util
import sys

REGISTERING = (
    "keras_pmm.initializers",
    "keras_pmm.layers",
    "keras_pmm.models",
)


def register_when_keras_loads(finished=None):
    """Imports `REGISTERING` now if Keras is loaded, else just after it is.

    Keras is often first imported from inside a keras-pmm module (`import
    keras_pmm.linalg` runs `from keras import ops`); importing `REGISTERING`
    right then would meet that module half-initialised (an ImportError). So
    registration waits until no keras-pmm module is mid-import, and every
    subpackage calls this at the end of its `__init__` with its own name as
    `finished` (it is complete then, though Python still marks it as
    initialising).
    """
    if "keras" in sys.modules:
        if not _importing(finished):
            _register()
    elif not any(isinstance(f, _AfterKeras) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKeras())


def _importing(finished=None):
    """Whether a keras-pmm module other than `finished` is mid-import."""
    for name, module in list(sys.modules.items()):
        if name != finished and (
            name == "keras_pmm" or name.startswith("keras_pmm.")
        ):
            spec = getattr(module, "__spec__", None)
            if getattr(spec, "_initializing", False):
                return True
    return False


def _register():
    for name in REGISTERING:
        importlib.import_module(name)


class _AfterKeras:
    """Finds `keras` as usual and registers keras-pmm once it has run."""

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            if not _importing():
                _register()

        spec.loader.exec_module = exec_then_register
        return spec
