"""Pretrained PMM presets (`keras_pmm.zoo`).

Every image preset takes raw images as the data sets store them (uint8 or
float 0..255, shape (batch, 28, 28)) and returns class probabilities; the
scaling and the softmax live inside the model. The array presets (an
eigenvalue problem, regression surfaces, matrix functions) take float
arrays and return their outputs in the data's own units; `metadata(name)`
says which (`input`, `output`), and their data are computed, never
downloaded (`keras_pmm.zoo.registry.ArrayData`).

Example:
>>> import keras_pmm
>>> keras_pmm.zoo.list()  # doctest: +NORMALIZE_WHITESPACE
['pmm_anharmonic_oscillator', 'pmm_emnist_balanced', 'pmm_fashion_mnist',
 'pmm_fashion_mnist_bayes', 'pmm_fashion_mnist_ensemble', 'pmm_franke',
 'pmm_hybrid_fashion_mnist',
 'pmm_hybrid_mnist', 'pmm_matrix_exp_5x5', 'pmm_matrix_sign_5x5', 'pmm_mnist',
 'pmm_mnist_bayes', 'pmm_mnist_ensemble']
>>> model = keras_pmm.zoo.load("pmm_mnist")
>>> _, (x_test, y_test) = keras_pmm.datasets.load_mnist()
>>> model.predict(x_test[:8], verbose=0).argmax(-1)
array([7, 2, 1, 0, 4, 1, 4, 9])
>>> y_test[:8].tolist()
[7, 2, 1, 0, 4, 1, 4, 9]
>>> keras_pmm.zoo.metadata("pmm_mnist")["evaluation"]["test_accuracy"]
0.9772
"""

import pathlib

from keras_pmm import _registration
from keras_pmm.zoo import storage
from keras_pmm.zoo.registry import DATASETS
from keras_pmm.zoo.registry import PRESETS
from keras_pmm.zoo.registry import Preset
from keras_pmm.zoo.registry import Recipe

PRESETS_DIR = pathlib.Path(__file__).resolve().parent / "presets"

__all__ = [
    "DATASETS",
    "PRESETS",
    "PRESETS_DIR",
    "Preset",
    "Recipe",
    "list",
    "load",
    "metadata",
]


def list():  # noqa: A001 - `keras_pmm.zoo.list()` is the public name
    """Names of the presets, sorted (trained or recipe-only; see `metadata`)."""
    return sorted(PRESETS)


def _unknown(name):
    return ValueError(
        f"Unknown preset {name!r}: neither a preset name nor a folder with a "
        f"{storage.METADATA_FILE}. Known presets: {', '.join(sorted(PRESETS))}."
    )


def metadata(name):
    """The shipped metadata of a preset: parameters, test accuracy, provenance.

    Keys include `parameters`, `test_accuracy`, `trained` (False for
    recipe-only presets), `training_command`, `training_date`,
    `training_wall_time_s`, `keras_version`, `backend` and `weights_sha256`.
    """
    if name not in PRESETS:
        raise _unknown(name)
    return storage.read_metadata(PRESETS_DIR / name)


def load(name_or_dir, model_class=None):
    """A compiled Keras model from a preset name or a `keras-pmm train` folder.

    The config and the weights are checked against the sha256 in the
    metadata before they are used. `ImagePMMClassifier.from_preset(name)`
    (any model class) calls this with `model_class` set.

    Args:
        name_or_dir: a name from `list()`, or a folder holding `config.json`,
            `model.weights.h5` and `metadata.json`.
        model_class: when given, the preset must hold a model of this class.

    Returns:
        A compiled `keras.Model` mapping (batch, 28, 28) raw images to class
        probabilities.

    Raises:
        ValueError: unknown name, a config or weights that fail their
            sha256, a JSON file that is not valid JSON, or a preset of
            another class than `model_class`.
        FileNotFoundError: a recipe-only preset (no weights shipped; the
            message says how to train it) or an incomplete folder.
    """
    name_or_dir = str(name_or_dir)
    if name_or_dir in PRESETS:
        preset = PRESETS[name_or_dir]
        if model_class is not None and not issubclass(
            preset.model_class, model_class
        ):
            storage.check_model_class(
                {"registered_name": _registered_name(preset.model_class)},
                model_class,
                name_or_dir,
            )
        folder = PRESETS_DIR / name_or_dir
        info = storage.read_metadata(folder)
        if not info.get("trained", True):
            raise FileNotFoundError(
                f"{name_or_dir} ships without weights: it was not trained "
                f"here ({info.get('note', 'its data set is not available')})."
                f" Train it with `keras-pmm train {name_or_dir} --data-dir DIR"
                f" --output OUT` (DIR holding the {preset.data.name} IDX "
                "files), then `keras_pmm.zoo.load('OUT')`."
            )
        return storage.load(folder, model_class)
    folder = pathlib.Path(name_or_dir).expanduser()
    if folder.is_dir() and (folder / storage.METADATA_FILE).is_file():
        return storage.load(folder, model_class)
    raise _unknown(name_or_dir)


def _registered_name(cls):
    import keras

    return keras.saving.get_registered_name(cls)


# Complete now: register the Keras classes if Keras came in mid-import.
_registration.register_when_keras_loads(finished=__name__)
