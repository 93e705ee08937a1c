"""A preset on disk: config, weights (sha256-checked) and metadata in one folder.

    <folder>/config.json        the model, as `keras.saving.serialize_keras_object`
    <folder>/model.weights.h5   its weights, without optimizer state
    <folder>/metadata.json      figures and provenance (see `keras_pmm.zoo.metadata`)

`keras-pmm train` writes this layout, the shipped presets use it, and
`keras_pmm.zoo.load` reads it from a name or any folder.
"""

import json
import pathlib

import keras
import numpy as np

from keras_pmm.datasets.idx import sha256_of

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"


def _build(model):
    """Creates the variables of an image model by calling it on one blank image."""
    model(np.zeros((1,) + tuple(model.image_shape), "uint8"))


def read_metadata(folder):
    path = pathlib.Path(folder) / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"No {METADATA_FILE} in {folder}: not a keras-pmm preset folder."
        )
    return json.loads(path.read_text())


def write_metadata(folder, metadata):
    path = pathlib.Path(folder) / METADATA_FILE
    path.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return path


def save(model, folder, metadata):
    """Writes `model` (config and weights, no optimizer) and `metadata` to `folder`.

    The weights' sha256 and the parameter count are added to the metadata.

    Returns:
        The metadata as written.
    """
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # The training run's compile settings (its schedule, its backend's
    # jit_compile) are not part of the shipped model; the recipe is in the metadata.
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    (folder / CONFIG_FILE).write_text(
        json.dumps(config, indent=2, sort_keys=True) + "\n"
    )
    # A fresh model compiled with the defaults, so that the weights file
    # carries no optimizer state (loading it then warns about nothing).
    fresh = keras.saving.deserialize_keras_object(config)
    _build(fresh)
    fresh.set_weights(model.get_weights())
    fresh.save_weights(folder / WEIGHTS_FILE)
    metadata = {
        **metadata,
        "parameters": int(model.count_params()),
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": sha256_of(folder / WEIGHTS_FILE),
    }
    write_metadata(folder, metadata)
    return metadata


def load(folder):
    """Builds the model in `folder`, checks its weights' sha256 and loads them.

    Raises:
        FileNotFoundError: a file of the layout is missing.
        ValueError: the weights do not match the sha256 in the metadata.
    """
    folder = pathlib.Path(folder)
    metadata = read_metadata(folder)
    weights = folder / metadata.get("weights_file", WEIGHTS_FILE)
    if not weights.is_file():
        raise FileNotFoundError(f"No weights file {weights}.")
    actual = sha256_of(weights)
    if actual != metadata["weights_sha256"]:
        raise ValueError(
            f"The weights {weights} are corrupt or were replaced: their sha256 is {actual}, "
            f"the metadata expects {metadata['weights_sha256']}. Reinstall keras-pmm or retrain "
            "the preset with `keras-pmm train`."
        )
    config = json.loads((folder / CONFIG_FILE).read_text())
    config.pop("compile_config", None)  # older folders kept the training run's
    # Built below with a real batch: Keras' symbolic build from this entry
    # fails (with a warning) on PyTorch, whose eigh needs concrete tensors.
    config.pop("build_config", None)
    model = keras.saving.deserialize_keras_object(config)
    model.compile()
    _build(model)
    model.load_weights(weights)
    return model
