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

Keras reads its backend when it is first imported (`KERAS_BACKEND`, else
`keras.json`, else TensorFlow). When that backend is not installed (one
backend installed and `KERAS_BACKEND` unset), `import keras` after `import
keras_pmm` raises `BackendNotInstalledError` (a `ModuleNotFoundError`) with one
line naming the installed backends to pick and the extra to install, in
place of the backend's own traceback.
"""

import importlib.util
import json
import os
import sys

from keras_pmm import _registration
from keras_pmm import _subpackages

# Keras's backends: the module each imports and its name in messages.
_BACKEND_MODULES = {
    "tensorflow": "TensorFlow",
    "jax": "JAX",
    "torch": "PyTorch",
}


class BackendNotInstalledError(ModuleNotFoundError):
    """Keras is set to start a backend that is not installed.

    A `ModuleNotFoundError` whose `name` is the backend's module.
    """


def _installed(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: sys.modules[m] is None
        return False


def _keras_backend_setting():
    """(backend, where it is set) as Keras will read them when imported.

    `KERAS_BACKEND`, else the `backend` of `keras.json` in `$KERAS_HOME` or
    `~/.keras` (`/tmp/.keras` when the home folder is read-only), else
    TensorFlow, Keras's default.
    """
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"], "KERAS_BACKEND"
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = os.path.expanduser("~")
        base = base if os.access(base, os.W_OK) else "/tmp"
        home = os.path.join(base, ".keras")
    config = os.path.expanduser(os.path.join(home, "keras.json"))
    try:
        with open(config) as handle:
            backend = json.load(handle).get("backend")
    except (OSError, ValueError, AttributeError):
        backend = None
    if backend:
        return backend, config
    return "tensorflow", None


def _backend_problem():
    """One line saying why Keras cannot start its backend here, or None.

    With one backend installed (`pip install keras-pmm[jax]`) and
    `KERAS_BACKEND` unset, Keras starts TensorFlow, its default, and fails
    with a long traceback; this names the backends installed and the extra
    that installs the missing one. Imports nothing.

    Returns:
        str or None.
    """
    backend, source = _keras_backend_setting()
    if backend not in _BACKEND_MODULES or _installed(backend):
        return None
    name = _BACKEND_MODULES[backend]
    if source == "KERAS_BACKEND":
        setting = f"KERAS_BACKEND={backend}"
    elif source is not None:
        setting = f'Keras\'s backend is "{backend}" (set in {source})'
    else:
        setting = (
            "KERAS_BACKEND is unset, so Keras starts TensorFlow, its default"
        )
    installed = [b for b in _BACKEND_MODULES if _installed(b)]
    if installed:
        pick = " or ".join(f"KERAS_BACKEND={b}" for b in installed)
        advice = (
            f"set {pick} (installed), or pip install 'keras-pmm[{backend}]'"
        )
        return f"{setting}, but {name} is not installed: {advice}."
    return (
        f"{setting}, but {name} is not installed, nor any other Keras "
        f"backend: pip install 'keras-pmm[{backend}]' (or [jax], [torch], "
        "[tensorflow]), see the README's Install section."
    )


class _BackendCheck:
    """Raises `BackendNotInstalledError` on `import keras` when
    `_backend_problem()` finds one (only ever asked before Keras is
    imported)."""

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        problem = _backend_problem()
        if problem is not None:
            raise BackendNotInstalledError(
                problem, name=_keras_backend_setting()[0]
            )
        return None  # stays: removing itself here would skip the next finder


_subpackages.ensure_mapped_subpackages()
_registration.register_when_keras_loads(finished=__name__)
if "keras" not in sys.modules and not any(
    isinstance(finder, _BackendCheck) for finder in sys.meta_path
):
    sys.meta_path.insert(0, _BackendCheck())

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
