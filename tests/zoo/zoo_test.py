"""The zoo's registry, shipped metadata, loading and weight verification."""

import json
import shutil
import warnings

import keras
import numpy as np
import pytest

from keras_pmm import zoo
from keras_pmm.zoo import storage

IMAGE = [name for name in zoo.list() if zoo.PRESETS[name].kind == "image"]
TRAINED = [
    name
    for name in zoo.list()
    if zoo.metadata(name)["trained"] and zoo.PRESETS[name].kind == "image"
]
BUDGETS = {
    "pmm_mnist": 2560,
    "pmm_mnist_ensemble": 5 * 2494,
    "pmm_mnist_bayes": 3700,
    "pmm_fashion_mnist": 4210,
    "pmm_fashion_mnist_ensemble": 5 * 4098,
    "pmm_fashion_mnist_bayes": 6000,
    "pmm_emnist_balanced": 5567,
    "pmm_hybrid_mnist": 30000,
    "pmm_hybrid_fashion_mnist": 30000,
}


def test_list_names_every_preset():
    assert zoo.list() == [
        "pmm_anharmonic_oscillator",
        "pmm_emnist_balanced",
        "pmm_fashion_mnist",
        "pmm_fashion_mnist_bayes",
        "pmm_fashion_mnist_ensemble",
        "pmm_franke",
        "pmm_hybrid_fashion_mnist",
        "pmm_hybrid_mnist",
        "pmm_matrix_exp_5x5",
        "pmm_matrix_sign_5x5",
        "pmm_mnist",
        "pmm_mnist_bayes",
        "pmm_mnist_ensemble",
    ]
    assert set(TRAINED) == set(IMAGE) - {"pmm_emnist_balanced"}


@pytest.mark.parametrize("name", IMAGE)
def test_metadata_matches_the_preset_and_its_budget(name):
    info = zoo.metadata(name)
    preset = zoo.PRESETS[name]
    model = preset.build()
    model(np.zeros((1, 28, 28), "uint8"))
    assert info["parameters"] == model.count_params() <= BUDGETS[name]
    assert info["class_names"] == list(preset.data.class_names)
    assert info["name"] == name and info["target"] == preset.target
    assert info["training_command"].startswith("keras-pmm ")
    assert info["keras_version"]


@pytest.mark.parametrize("name", TRAINED)
def test_trained_metadata_has_provenance(name):
    info = zoo.metadata(name)
    for key in (
        "test_accuracy",
        "test_correct",
        "training_date",
        "training_wall_time_s",
        "backend",
        "weights_sha256",
        "evaluation",
    ):
        assert key in info, key
    assert info["test_correct"] == round(
        info["test_accuracy"] * info["test_size"]
    )
    assert len(info["weights_sha256"]) == 64
    assert info["evaluation"]["test_correct"] == info["test_correct"]


@pytest.mark.parametrize("name", TRAINED)
def test_preset_maps_raw_images_to_probabilities(name, data_dir):
    model = zoo.load(name)
    assert model.compiled and model.optimizer is not None
    _, (x_test, _) = zoo.PRESETS[name].data.load(data_dir)
    for batch in (x_test[:5], x_test[:5].astype("float32")):
        probabilities = model.predict(batch, verbose=0)
        assert probabilities.shape == (
            5,
            len(zoo.PRESETS[name].data.class_names),
        )
        np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)
        assert probabilities.min() >= 0


@pytest.mark.parametrize("name", TRAINED)
def test_same_probabilities_on_every_backend(name, data_dir):
    """Probabilities of the first 32 test images, recorded by tools/cards.py."""
    reference = np.asarray(
        zoo.metadata(name)["evaluation"]["reference_probabilities"]
    )
    _, (x_test, _) = zoo.PRESETS[name].data.load(data_dir)
    model = zoo.load(name)
    if getattr(model, "inference", None) == "sample":
        # A Bayesian preset's Monte-Carlo draws come from each backend's own
        # random stream; its posterior mean is what every backend shares.
        model.inference = "mean"
    probabilities = model.predict(x_test[: len(reference)], verbose=0)
    np.testing.assert_allclose(probabilities, reference, atol=1e-4)


def test_recipe_only_preset_explains_how_to_train():
    with pytest.raises(FileNotFoundError) as info:
        zoo.load("pmm_emnist_balanced")
    message = str(info.value)
    assert "not trained here" in message
    assert "keras-pmm train pmm_emnist_balanced --data-dir DIR" in message
    assert "EMNIST-Balanced" in message


@pytest.mark.parametrize("name", ["pmm_cifar", "", "../zoo"])
def test_unknown_names_list_the_known_ones(name):
    with pytest.raises(
        ValueError, match="Unknown preset .*pmm_fashion_mnist, .*pmm_mnist"
    ):
        zoo.load(name)
    if name:
        with pytest.raises(ValueError, match="Unknown preset"):
            zoo.metadata(name)


def _copy_preset(tmp_path, name="pmm_mnist"):
    folder = tmp_path / name
    shutil.copytree(zoo.PRESETS_DIR / name, folder)
    return folder


def test_folder_loads_like_the_name(tmp_path):
    folder = _copy_preset(tmp_path)
    a, b = zoo.load(folder), zoo.load("pmm_mnist")
    for left, right in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(left, right)


def test_corrupt_weights_fail_their_sha256(tmp_path):
    folder = _copy_preset(tmp_path)
    weights = folder / storage.WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(
        ValueError, match="corrupt or were replaced: their sha256 is"
    ):
        zoo.load(folder)


def test_edited_config_fails_its_sha256(tmp_path):
    """Issue 31: `which` set to "highest" in a copy of pmm_mnist's config
    loaded silently (3.45% accuracy); a reindented config still loads."""
    folder = _copy_preset(tmp_path)
    path = folder / storage.CONFIG_FILE
    config = json.loads(path.read_text())
    path.write_text(json.dumps(config, indent=4))  # same content
    zoo.load(folder)
    config["config"]["which"] = "highest"
    path.write_text(json.dumps(config))
    with pytest.raises(ValueError) as info:
        zoo.load(folder)
    message = str(info.value)
    assert f"The config {path} was edited or is corrupt" in message
    assert zoo.metadata("pmm_mnist")["config_sha256"] in message


@pytest.mark.parametrize("file", [storage.CONFIG_FILE, storage.METADATA_FILE])
def test_broken_json_names_its_file(tmp_path, file):
    folder = _copy_preset(tmp_path)
    path = folder / file
    path.write_text(path.read_text()[:-40])
    with pytest.raises(ValueError, match=f"{path} is not valid JSON"):
        zoo.load(folder)


def test_missing_weights_and_metadata_are_named(tmp_path):
    folder = _copy_preset(tmp_path)
    (folder / storage.WEIGHTS_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="No weights file"):
        zoo.load(folder)
    (folder / storage.METADATA_FILE).unlink()
    with pytest.raises(ValueError, match="Unknown preset"):
        zoo.load(folder)


def test_save_and_load_round_trip(tmp_path):
    model = zoo.PRESETS["pmm_mnist"].build(n=3, hamiltonian_size=2)
    images = (
        np.random.default_rng(0).integers(0, 256, (4, 28, 28)).astype("uint8")
    )
    expected = model.predict(images, verbose=0)
    metadata = storage.save(
        model, tmp_path, {"name": "pmm_mnist", "trained": True}
    )
    assert metadata["parameters"] == model.count_params()
    assert metadata["config_sha256"] == storage.config_sha256(
        json.loads((tmp_path / storage.CONFIG_FILE).read_text())
    )
    assert not list(tmp_path.glob(".tmp-*"))  # written atomically
    assert (
        json.loads((tmp_path / storage.METADATA_FILE).read_text()) == metadata
    )
    loaded = zoo.load(tmp_path)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), expected, atol=1e-6
    )
    assert loaded.get_config()["n"] == 3
    assert isinstance(loaded.optimizer, keras.optimizers.Optimizer)


def test_trained_model_ships_without_its_optimizer_state(tmp_path):
    model = zoo.PRESETS["pmm_mnist"].build(n=3, hamiltonian_size=2)
    model.compile(
        optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(0.01, 9)
        )
    )
    images = (
        np.random.default_rng(0).integers(0, 256, (8, 28, 28)).astype("uint8")
    )
    model.fit(images, np.arange(8) % 10, epochs=1, verbose=0)
    assert len(model.optimizer.variables) > 2  # Adam's moments exist now
    storage.save(model, tmp_path, {"name": "pmm_mnist", "trained": True})
    assert "compile_config" not in json.loads(
        (tmp_path / storage.CONFIG_FILE).read_text()
    )
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error", UserWarning
        )  # "Skipping variable loading for optimizer"
        loaded = zoo.load(tmp_path)
    for left, right in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(left, right)


UNCERTAINTY = [name for name in TRAINED if zoo.PRESETS[name].baseline]


@pytest.mark.large
@pytest.mark.parametrize("name", UNCERTAINTY)
def test_uncertainty_figures_match_the_card(name, data_dir):
    """Accuracy, NLL, ECE, Brier and OOD AUROC of the shipped weights."""
    from keras_pmm.zoo import evaluation

    card = zoo.metadata(name)
    preset = zoo.PRESETS[name]
    _, (x_test, y_test) = preset.data.load(data_dir)
    _, (x_ood, _) = preset.ood_data.load(data_dir)
    figures = evaluation.uncertainty_figures(
        zoo.load(name), x_test, y_test, x_ood
    )
    expected = card["uncertainty"]["preset"]
    exact = keras.backend.backend() == card["evaluation"]["backend"]
    sampled = preset.arguments.get("num_samples") is not None
    # Another backend's eigh may flip an image or two; a Bayesian preset's
    # posterior draws also come from another random stream there.
    tolerance = {
        "test_accuracy": 0 if exact else (0.003 if sampled else 0.0003),
        "nll": 1e-4 if exact else (0.01 if sampled else 0.002),
        "ece": 1e-4 if exact else (0.004 if sampled else 0.001),
        "brier": 1e-4 if exact else (0.004 if sampled else 0.001),
        # Ten posterior draws: pmm_fashion_mnist_bayes's OOD AUROC was
        # 0.813 (JAX, the card), 0.833 (TensorFlow), 0.802 (PyTorch).
        "ood_auroc": 1e-4 if exact else (0.03 if sampled else 0.002),
    }
    for key, atol in tolerance.items():
        assert abs(figures[key] - expected[key]) <= atol + 1e-5, (
            key,
            figures[key],
            expected[key],
        )
    assert expected["test_accuracy"] == card["test_accuracy"]


@pytest.mark.large
@pytest.mark.parametrize(
    "name", [name for name in TRAINED if name not in UNCERTAINTY]
)
def test_full_test_set_matches_the_card(name, data_dir):
    """Shipped weights on the whole official test set give the card figures."""
    from keras_pmm.zoo import evaluation

    card = zoo.metadata(name)["evaluation"]
    preset = zoo.PRESETS[name]
    _, (x_test, y_test) = preset.data.load(data_dir)
    result = evaluation.evaluate(
        zoo.load(name), x_test, y_test, len(preset.data.class_names)
    )
    if keras.backend.backend() == card["backend"]:
        assert result["correct"] == card["test_correct"]
        np.testing.assert_allclose(  # the card keeps four decimals
            result["per_class_accuracy"], card["per_class_accuracy"], atol=5e-5
        )
    else:  # another backend's eigh or convolution may flip an image or two
        assert abs(result["correct"] - card["test_correct"]) <= 3
