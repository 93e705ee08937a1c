"""Presets through the model classes, and the registry as their one source."""

import json

import keras
import numpy as np
import pytest

from keras_pmm import models
from keras_pmm import zoo
from keras_pmm.zoo import storage

SHIPPED = [
    name
    for name in zoo.list()
    if (zoo.PRESETS_DIR / name / "config.json").is_file()
]


def _jsonable(value):
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_config_is_the_registry_model(name):
    shipped = json.loads(
        (zoo.PRESETS_DIR / name / storage.CONFIG_FILE).read_text()
    )
    model = zoo.PRESETS[name].build()
    assert shipped["registered_name"] == keras.saving.get_registered_name(
        type(model)
    )
    config = _jsonable(model.get_config())
    # Keras numbers the default layer names of a process's models.
    assert config.pop("name").startswith(shipped["config"].pop("name"))
    assert shipped["config"] == config


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_metadata_records_the_config_sha256(name):
    """`zoo.load` checks it (`storage.record_config_sha256` stamped the
    presets shipped before `storage.save` recorded it)."""
    folder = zoo.PRESETS_DIR / name
    config = json.loads((folder / storage.CONFIG_FILE).read_text())
    assert zoo.metadata(name)["config_sha256"] == storage.config_sha256(config)


@pytest.mark.parametrize("name", zoo.list())
def test_metadata_file_keeps_only_what_a_run_measured(name):
    path = zoo.PRESETS_DIR / name / storage.METADATA_FILE
    stored = json.loads(path.read_text())
    facts = zoo.PRESETS[name].facts
    assert not set(stored) & set(facts), "registry facts repeated on disk"
    assert zoo.metadata(name) == {**facts, **stored}
    # Was ~11 KB of float64 renderings; an uncertainty preset adds its own
    # and its baseline's calibration and 12-angle rotation figures.
    limit = 12000 if zoo.PRESETS[name].baseline else 4500
    assert path.stat().st_size < limit


def test_compact_metadata_round_trips(tmp_path):
    metadata = {
        "name": "pmm_mnist",
        "dataset": "MNIST",  # a registry fact: left out on disk
        "values": [[0.5, 1e-05], [0.25, 2.0]],
        "nested": {"counts": [1, 2, 3]},
    }
    storage.write_metadata(tmp_path, metadata)
    text = (tmp_path / storage.METADATA_FILE).read_text()
    assert "MNIST" not in text and "[0.5, 1e-05]" in text
    assert "[1, 2, 3]" in text
    assert storage.read_metadata(tmp_path) == {
        **zoo.PRESETS["pmm_mnist"].facts,
        **metadata,
    }


def test_record_config_sha256_stamps_an_older_folder(tmp_path):
    (tmp_path / storage.CONFIG_FILE).write_text('{"config": {"n": 3}}')
    storage.write_metadata(tmp_path, {"name": "pmm_mnist", "trained": True})
    recorded = storage.record_config_sha256(tmp_path)
    assert recorded == storage.config_sha256({"config": {"n": 3}})
    assert storage.read_metadata(tmp_path)["config_sha256"] == recorded
    assert storage.read_metadata(tmp_path)["trained"] is True


@pytest.mark.parametrize(
    "cls, name",
    [
        (models.ImagePMMClassifier, "pmm_mnist"),
        (models.HybridPMMClassifier, "pmm_hybrid_mnist"),
    ],
)
def test_from_preset_on_the_model_class(cls, name):
    model = cls.from_preset(name)
    assert type(model) is cls and model.compiled
    reference = zoo.load(name)
    for left, right in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(left, right)


def test_from_preset_reads_a_folder(tmp_path):
    import shutil

    folder = tmp_path / "mine"
    shutil.copytree(zoo.PRESETS_DIR / "pmm_mnist", folder)
    model = models.ImagePMMClassifier.from_preset(str(folder))
    assert model.count_params() == zoo.metadata("pmm_mnist")["parameters"]
    with pytest.raises(ValueError, match="is for ImagePMMClassifier, not "):
        models.HybridPMMClassifier.from_preset(folder)


@pytest.mark.parametrize(
    "cls, name, found",
    [
        (models.HybridPMMClassifier, "pmm_mnist", "ImagePMMClassifier"),
        (models.ImagePMMClassifier, "pmm_hybrid_mnist", "HybridPMMClassifier"),
        (models.PMMRegressor, "pmm_mnist", "ImagePMMClassifier"),
        (models.PMMClassifier, "pmm_emnist_balanced", "ImagePMMClassifier"),
    ],
)
def test_from_preset_refuses_a_preset_of_another_class(cls, name, found):
    with pytest.raises(ValueError) as info:
        cls.from_preset(name)
    message = str(info.value)
    assert f"is for {found}, not {cls.__name__}" in message
    assert f"{found}.from_preset('{name}')" in message


def test_from_preset_on_the_base_loads_any_preset():
    model = models.PMMTask.from_preset("pmm_hybrid_mnist")
    assert isinstance(model, models.HybridPMMClassifier)


def test_from_preset_of_an_unknown_name_lists_the_presets():
    with pytest.raises(ValueError, match="Unknown preset 'mnist'.*pmm_mnist"):
        models.ImagePMMClassifier.from_preset("mnist")
