"""A preset on disk: sha256-checked config and weights, and metadata.

    <folder>/config.json       the model (`keras.saving.serialize_keras_object`)
    <folder>/model.weights.h5  its weights, without optimizer state
    <folder>/metadata.json     figures, provenance and the sha256 of the
                               other two (`keras_pmm.zoo.metadata`)

`keras-pmm train` writes this layout, the shipped presets use it, and
`keras_pmm.zoo.load` reads it from a name or any folder.
"""

import hashlib
import json
import pathlib
import re

import keras
import numpy as np

from keras_pmm.datasets.idx import sha256_of
from keras_pmm.zoo.registry import PRESETS
from keras_pmm.zoo.run_folder import write_atomically
from keras_pmm.zoo.run_folder import write_text_atomically

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"


def build_model(model, input_shape=None):
    """Creates a model's variables by calling it on one blank example.

    An image model is called on a blank image of its `image_shape`; any
    other model on zeros of `input_shape` (batch dimension first, as in
    its config's `build_config`).

    Raises:
        ValueError: a model without `image_shape` and no `input_shape`.
    """
    image_shape = getattr(model, "image_shape", None)
    if image_shape is not None:
        model(np.zeros((1,) + tuple(image_shape), "uint8"))
        return
    if input_shape is None:
        raise ValueError(
            f"{type(model).__name__} is no image model: its input shape "
            "must be given (the config's build_config has none)."
        )
    model(np.zeros((1,) + tuple(input_shape[1:]), "float32"))


def _input_shape(config):
    """The input shape a serialized model was built with, or None."""
    return (config.get("build_config") or {}).get("input_shape")


def _read_json(path):
    """The parsed JSON file at `path`.

    Raises:
        ValueError: the file is not valid JSON (the message names it).
    """
    try:
        return json.loads(pathlib.Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is not valid JSON ({error.msg}: line {error.lineno}, "
            f"column {error.colno}): it is corrupt or was edited. Reinstall "
            "keras-pmm, or retrain the preset with `keras-pmm train`."
        ) from None


def config_sha256(config):
    """The sha256 of a model config's content: its canonical JSON (keys
    sorted, no whitespace), so that re-indenting the file or changing its
    line endings keeps it, and any changed value changes it."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def record_config_sha256(folder):
    """Records the sha256 of `folder/config.json` in its `metadata.json`.

    For preset folders written before `save` recorded it; `load` checks it
    from then on.

    Returns:
        The sha256 recorded.
    """
    folder = pathlib.Path(folder)
    metadata = _read_json(folder / METADATA_FILE)
    metadata["config_sha256"] = config_sha256(_read_json(folder / CONFIG_FILE))
    write_metadata(folder, metadata)
    return metadata["config_sha256"]


def read_metadata(folder):
    """The metadata of a preset folder, with its preset's registry facts.

    `metadata.json` keeps what a run measured; the facts every run of a
    preset shares (`Preset.facts`: data set, class names, description,
    target) come from the registry.

    Raises:
        FileNotFoundError: the folder has no `metadata.json`.
        ValueError: `metadata.json` is not valid JSON.
    """
    path = pathlib.Path(folder) / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"No {METADATA_FILE} in {folder}: not a keras-pmm preset folder."
        )
    metadata = _read_json(path)
    preset = PRESETS.get(metadata.get("name"))
    return {**preset.facts, **metadata} if preset else metadata


def _compact_json(value):
    """Indented JSON with each list of numbers on one line."""
    text = json.dumps(value, indent=1, sort_keys=True)
    return _NUMBER_LIST.sub(
        lambda match: "[" + " ".join(match.group(1).split()) + "]", text
    )


_NUMBER_LIST = re.compile(
    r"\[\s*((?:-?[0-9][0-9.eE+-]*,\s*)*-?[0-9][0-9.eE+-]*)\s*\]"
)


def write_metadata(folder, metadata):
    """Writes `metadata` to `folder/metadata.json`, compactly.

    Entries equal to the preset's registry facts are left out (the reader
    adds them back), and lists of numbers take one line each.

    Returns:
        The path written.
    """
    preset = PRESETS.get(metadata.get("name"))
    facts = preset.facts if preset else {}
    stored = {
        key: value
        for key, value in metadata.items()
        if key not in facts or facts[key] != value
    }
    path = pathlib.Path(folder) / METADATA_FILE
    write_text_atomically(path, _compact_json(stored) + "\n")
    return path


def save(model, folder, metadata):
    """Writes `model` (config, weights, no optimizer) and `metadata`.

    The sha256 of the weights and of the config (`config_sha256`) and the
    parameter count are added to the metadata. Each file is written
    atomically, the metadata last.

    Returns:
        The metadata as written.
    """
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # The training run's compile settings (its schedule, its backend's
    # jit_compile) are not part of the shipped model; the metadata holds the
    # recipe.
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    write_text_atomically(folder / CONFIG_FILE, text)
    # A fresh model compiled with the defaults, so that the weights file
    # carries no optimizer state (loading it then warns about nothing).
    fresh = keras.saving.deserialize_keras_object(config)
    build_model(fresh, _input_shape(config))
    fresh.set_weights(model.get_weights())
    write_atomically(folder / WEIGHTS_FILE, fresh.save_weights)
    metadata = {
        **metadata,
        "parameters": int(model.count_params()),
        "config_sha256": config_sha256(json.loads(text)),
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": sha256_of(folder / WEIGHTS_FILE),
    }
    write_metadata(folder, metadata)
    return metadata


def load(folder, model_class=None):
    """Builds the model in `folder`, checks its config's and weights' sha256
    and loads them.

    Args:
        folder: a preset folder.
        model_class: when given, the folder's model must be an instance of
            this class (checked before anything is built).

    Raises:
        FileNotFoundError: a file of the layout is missing.
        ValueError: the config or the weights do not match the sha256 in
            the metadata (a folder written before the config's was recorded
            has only the weights checked), a JSON file is not valid JSON,
            or the model is not a `model_class`.
    """
    folder = pathlib.Path(folder)
    metadata = read_metadata(folder)
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"No config file {config_path}.")
    config = _read_json(config_path)
    expected = metadata.get("config_sha256")
    if expected is not None and config_sha256(config) != expected:
        raise ValueError(
            f"The config {config_path} was edited or is corrupt: the sha256 "
            f"of its content is {config_sha256(config)}, the metadata "
            f"expects {expected}. Reinstall keras-pmm or retrain the preset "
            "with `keras-pmm train`."
        )
    if model_class is not None:
        check_model_class(config, model_class, metadata.get("name", folder))
    weights = folder / metadata.get("weights_file", WEIGHTS_FILE)
    if not weights.is_file():
        raise FileNotFoundError(f"No weights file {weights}.")
    actual = sha256_of(weights)
    if actual != metadata["weights_sha256"]:
        raise ValueError(
            f"The weights {weights} are corrupt or were replaced: their "
            f"sha256 is {actual}, the metadata expects "
            f"{metadata['weights_sha256']}. Reinstall keras-pmm or retrain "
            "the preset with `keras-pmm train`."
        )
    config.pop("compile_config", None)  # older folders kept the training run's
    # Built below with a real batch: Keras' symbolic build from this entry
    # fails (with a warning) on PyTorch, whose eigh needs concrete tensors.
    input_shape = _input_shape(config)
    config.pop("build_config", None)
    model = keras.saving.deserialize_keras_object(config)
    model.compile()
    build_model(model, input_shape)
    model.load_weights(weights)
    return model


def check_model_class(config, model_class, preset):
    """Raises a ValueError unless `config` describes a `model_class` model."""
    found = keras.saving.get_registered_object(config.get("registered_name"))
    if found is None or not issubclass(found, model_class):
        name = found.__name__ if found else config.get("class_name")
        raise ValueError(
            f"Preset {str(preset)!r} is for {name}, not "
            f"{model_class.__name__}: load it with "
            f"`keras_pmm.models.{name}.from_preset({str(preset)!r})` or "
            f"`keras_pmm.zoo.load({str(preset)!r})`."
        )
