"""`keras-pmm train`: validation split, resume, early stop, data parallel."""

import dataclasses
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_pmm import zoo
from keras_pmm.zoo import run_folder
from keras_pmm.zoo import training
from tests.test_case import EpochRecorder
from tests.test_case import StopAfterEpoch


def test_validation_split_is_seeded_and_disjoint():
    x, y = np.arange(100), np.arange(100)
    (x_fit, _), (x_val, _) = training.split_validation(x, y, 10, seed=3)
    assert len(x_val) == 10 and len(x_fit) == 90
    assert not set(x_val) & set(x_fit)
    np.testing.assert_array_equal(
        training.split_validation(x, y, 10, seed=3)[1][0], x_val
    )
    with pytest.raises(ValueError, match="validation_size"):
        training.split_validation(x, y, 100, seed=0)


def test_interrupted_run_resumes_and_writes_a_loadable_preset(
    tmp_path, data_dir, capsys
):
    kwargs = dict(
        data_dir=data_dir,
        output=tmp_path,
        epochs=3,
        max_train_examples=512,
        verbose=0,
    )
    with pytest.raises(KeyboardInterrupt):
        training.train("pmm_mnist", callbacks=[StopAfterEpoch(2)], **kwargs)
    checkpoints = tmp_path / "checkpoints"
    assert run_folder.checkpoint_epochs(checkpoints) == [2, 1]
    record = json.loads((checkpoints / "epoch_0002.json").read_text())
    assert record["record"]["epochs_done"] == 2
    assert record["settings"]["max_train_examples"] == 512
    assert "resume from epoch 3" in capsys.readouterr().err
    epochs = EpochRecorder()
    metadata = training.train(
        "pmm_mnist", callbacks=[epochs], **{**kwargs, "verbose": 2}
    )
    assert epochs.seen == [2]  # resumed at the third epoch
    assert "from epoch 3 of 3" in capsys.readouterr().out
    # A finished run leaves only the preset: no checkpoints to ship by mistake.
    assert not (tmp_path / "checkpoints").exists()
    assert metadata["epochs_run"] == 3 and 1 <= metadata["best_epoch"] <= 3
    assert (
        metadata["train_examples"] == 512 and metadata["recipe"]["epochs"] == 3
    )
    assert (
        metadata["test_size"] == 10000 and 0.1 < metadata["test_accuracy"] <= 1
    )
    model = zoo.load(tmp_path)
    _, (x_test, y_test) = zoo.PRESETS["pmm_mnist"].data.load(data_dir)
    assert (
        training.count_correct(model, x_test, y_test)
        == metadata["test_correct"]
    )
    with pytest.raises(FileExistsError, match="finished run"):
        training.train("pmm_mnist", **kwargs)


def test_early_stopping_on_a_flat_validation_accuracy(
    tmp_path, data_dir, monkeypatch
):
    preset = zoo.PRESETS["pmm_mnist"]
    frozen = dataclasses.replace(
        preset,
        recipe=dataclasses.replace(
            preset.recipe, learning_rate=0.0, patience=1
        ),
    )
    monkeypatch.setitem(training.PRESETS, "pmm_mnist", frozen)
    metadata = training.train(
        "pmm_mnist",
        data_dir=data_dir,
        output=tmp_path,
        epochs=6,
        max_train_examples=256,
        verbose=0,
    )
    # Watched from epoch 6 // 2 = 3 (0-based) on: epoch 4 sets the bar,
    # epoch 5 misses it.
    assert metadata["epochs_run"] == 5 and metadata["best_epoch"] == 1


def test_unknown_preset():
    with pytest.raises(ValueError, match="Unknown preset 'mnist'"):
        training.train("mnist")


@pytest.mark.skipif(
    keras.backend.backend() != "torch",
    reason="checks the error of the torch backend, which has no "
    "data-parallel engine in Keras",
)
def test_torch_has_no_data_parallel_engine(tmp_path, data_dir):
    with pytest.raises(ValueError, match="needs the jax or tensorflow backend"):
        training.train(
            "pmm_mnist",
            data_dir=data_dir,
            output=tmp_path,
            epochs=1,
            max_train_examples=256,
            devices=2,
            verbose=0,
        )


def test_cli_train_writes_a_loadable_preset(tmp_path, data_dir):
    """`keras-pmm train` in a fresh process, as users run it.

    On JAX and TensorFlow it trains data-parallel over two virtual CPU
    devices (DataParallel / MirroredStrategy); Keras has no data-parallel
    engine for torch, which trains on one device (its refusal of --devices
    is `test_torch_has_no_data_parallel_engine`).
    """
    backend = keras.backend.backend()
    devices = [] if backend == "torch" else ["--devices", "2"]
    env = {**os.environ, "KERAS_BACKEND": backend}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_pmm.cli",
            "train",
            "pmm_mnist",
            "--data-dir",
            data_dir,
            "--output",
            str(tmp_path),
            "--epochs",
            "1",
            "--max-train-examples",
            "1024",
            *devices,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pmm_mnist: test accuracy" in result.stdout
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    assert metadata["devices"] == (1 if backend == "torch" else 2)
    assert metadata["test_accuracy"] > 0.2
    assert " ".join(devices) in metadata["training_command"]
    model = zoo.load(tmp_path)
    assert model.count_params() == zoo.metadata("pmm_mnist")["parameters"]


def test_recipe_optimizer_decays_weights_only_when_asked():
    recipe = zoo.Recipe(epochs=4, batch_size=8, learning_rate=0.04)
    optimizer = training.recipe_optimizer(recipe, steps_per_epoch=10)
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert not isinstance(optimizer, keras.optimizers.AdamW)
    decayed = training.recipe_optimizer(
        dataclasses.replace(recipe, weight_decay=0.01), steps_per_epoch=10
    )
    assert (
        isinstance(decayed, keras.optimizers.AdamW)
        and decayed.weight_decay == 0.01
    )
    schedule = decayed._learning_rate
    assert schedule.decay_steps == 40 and schedule.initial_learning_rate == 0.04


@pytest.mark.large
def test_ensemble_preset_trains_its_members_and_resumes(tmp_path, data_dir):
    kwargs = dict(
        data_dir=data_dir,
        output=tmp_path,
        epochs=1,
        max_train_examples=256,
        verbose=0,
    )
    preset = zoo.PRESETS["pmm_mnist_ensemble"]
    # A member already trained (an interrupted ensemble run) is loaded.
    training.train(
        "pmm_mnist",
        seed=preset.member_seeds[0],
        output=tmp_path / "members" / f"seed_{preset.member_seeds[0]}",
        **{k: v for k, v in kwargs.items() if k != "output"},
    )
    metadata = training.train("pmm_mnist_ensemble", **kwargs)
    assert [m["seed"] for m in metadata["members"]] == list(preset.member_seeds)
    assert metadata["training_wall_time_s"] == pytest.approx(
        sum(m["training_wall_time_s"] for m in metadata["members"]), abs=0.5
    )
    ensemble = zoo.load(tmp_path)
    assert ensemble.num_members == len(preset.member_seeds)
    _, (x_test, y_test) = preset.data.load(data_dir)
    assert (
        training.count_correct(ensemble, x_test, y_test)
        == metadata["test_correct"]
    )
    member = zoo.load(tmp_path / "members" / "seed_1")
    np.testing.assert_allclose(
        ensemble.members[1].predict(x_test[:4], verbose=0),
        member.predict(x_test[:4], verbose=0),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="seeds are fixed"):
        training.train("pmm_mnist_ensemble", seed=3, **kwargs)
    with pytest.raises(FileExistsError, match="finished run"):
        training.train("pmm_mnist_ensemble", **kwargs)
