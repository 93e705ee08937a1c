"""Training runs that survive faults (issue 31, item 13): checkpoints written
whole with a backup, a locked output folder, resumption only with the
interrupted run's settings, and `--overwrite` that starts over."""

import dataclasses
import json
import os
import pathlib
import signal
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

ROOT = pathlib.Path(__file__).resolve().parents[2]
OSCILLATOR = "pmm_anharmonic_oscillator"


def _dense():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


_X = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
_Y = _X.sum(axis=1, keepdims=True)


def _fit(folder, settings, epochs, initial_epoch=0, model=None, **kwargs):
    """Fits a small model with `Checkpoints`; returns the callback and the
    weights after each epoch."""
    model = model or _dense()
    checkpoints = run_folder.Checkpoints(folder, settings, **kwargs)
    weights = {}

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights[epoch + 1] = self.model.get_weights()

    model.fit(
        _X,
        _Y,
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=[checkpoints, Snapshot()],
        verbose=0,
    )
    return checkpoints, weights


def test_checkpoints_keep_a_backup_and_fall_back_to_it(tmp_path):
    """The issue's `kill -9` left a 96-byte `latest.weights.h5` that made
    resuming crash: a truncated newest checkpoint now gives way to the one
    before it."""
    settings = {"seed": 0}
    checkpoints, weights = _fit(tmp_path, settings, epochs=3)
    assert checkpoints.record["epochs_done"] == 3
    assert checkpoints.record["fit_done"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "epoch_0002.json",
        "epoch_0002.weights.h5",
        "epoch_0003.json",
        "epoch_0003.weights.h5",
    ]
    newest = tmp_path / "epoch_0003.weights.h5"
    newest.write_bytes(newest.read_bytes()[:96])
    (tmp_path / ".tmp-123-epoch_0004.weights.h5").write_bytes(b"cut short")
    model = _dense()
    resumed = run_folder.Checkpoints(tmp_path, settings)
    assert resumed.restore(model) == 2
    assert "epoch 3" in resumed.notes[0] and "truncated" in resumed.notes[0]
    assert resumed.record["epochs_done"] == 2
    for left, right in zip(model.get_weights(), weights[2]):
        np.testing.assert_array_equal(left, right)
    # The unreadable checkpoint and the cut-short write are gone.
    assert run_folder.checkpoint_epochs(tmp_path) == [2]
    assert not list(tmp_path.glob(".tmp-*"))


def test_unreadable_checkpoints_are_refused_with_what_to_do(tmp_path):
    _fit(tmp_path, {"seed": 0}, epochs=2)
    (tmp_path / "epoch_0002.json").write_text('{"epoch": 2, "wei')
    (tmp_path / "epoch_0001.weights.h5").unlink()
    with pytest.raises(run_folder.RunFolderError) as info:
        run_folder.Checkpoints(tmp_path, {"seed": 0}).restore(_dense())
    message = str(info.value)
    assert "cannot be read" in message and "epoch_0002.json" in message
    assert "epoch_0001.weights.h5 is missing" in message
    assert "(--overwrite) to start over" in message


def test_a_resumption_with_other_settings_names_the_interrupted_ones(
    tmp_path,
):
    recorded = {"seed": 0, "epochs": 3, "backend": "jax"}
    _fit(tmp_path, recorded, epochs=1, command="keras-pmm train x --seed 0")
    with pytest.raises(run_folder.RunFolderError) as info:
        run_folder.Checkpoints(tmp_path, {**recorded, "seed": 1}).restore(
            _dense()
        )
    message = str(info.value)
    assert "other settings: seed 0 (now 1)." in message
    assert "settings: seed 0, epochs 3, backend 'jax'." in message
    assert "started with `keras-pmm train x --seed 0`" in message
    assert "(--overwrite) to start over" in message


def test_the_best_epoch_is_kept_while_a_checkpoint_needs_it(tmp_path):
    class Score(keras.callbacks.Callback):
        """Epoch 1 scores best; its weights must outlive two more epochs."""

        def on_epoch_end(self, epoch, logs=None):
            logs["score"] = 1.0 if epoch == 0 else 0.5

    model = _dense()
    checkpoints = run_folder.Checkpoints(tmp_path, {}, monitor="score")
    model.fit(_X, _Y, epochs=3, callbacks=[Score(), checkpoints], verbose=0)
    assert checkpoints.record["best_epoch"] == 1
    assert checkpoints.record["score"] == 1.0
    assert checkpoints.best_weights == tmp_path / "best_0001.weights.h5"
    assert checkpoints.best_weights.is_file()


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "run.json"
    path.write_text("old")

    def cut_short(temporary):
        temporary.write_text("ne")
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space"):
        run_folder.write_atomically(path, cut_short)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]
    run_folder.write_text_atomically(path, "new")
    assert path.read_text() == "new"


def test_a_locked_folder_names_the_run_that_holds_it(tmp_path):
    with run_folder.locked(tmp_path):
        lock = json.loads((tmp_path / run_folder.LOCK_FILE).read_text())
        assert lock["pid"] == os.getpid()
        with pytest.raises(run_folder.RunFolderError) as info:
            training.train(OSCILLATOR, output=tmp_path, epochs=1, verbose=0)
        assert f"(pid {os.getpid()}, started " in str(info.value)
        assert "choose another output" in str(info.value)
    assert not (tmp_path / run_folder.LOCK_FILE).exists()
    assert not (tmp_path / "checkpoints").exists()  # nothing was touched


def test_a_dead_run_lock_is_taken_over(tmp_path):
    (tmp_path / run_folder.LOCK_FILE).write_text('{"pid": 999999999}')
    with run_folder.locked(tmp_path):
        lock = json.loads((tmp_path / run_folder.LOCK_FILE).read_text())
        assert lock["pid"] == os.getpid()


def test_without_fcntl_the_lock_file_is_the_lock(tmp_path, monkeypatch):
    monkeypatch.setattr(run_folder, "fcntl", None)
    with run_folder.locked(tmp_path):
        with pytest.raises(run_folder.RunFolderError, match="delete"):
            with run_folder.locked(tmp_path):
                pass
    assert not (tmp_path / run_folder.LOCK_FILE).exists()


@pytest.fixture
def quick_oscillator(monkeypatch):
    """The oscillator preset with one step per epoch: three epochs."""
    preset = zoo.PRESETS[OSCILLATOR]
    quick = dataclasses.replace(
        preset, recipe=dataclasses.replace(preset.recipe, copies=1, epochs=3)
    )
    monkeypatch.setitem(training.PRESETS, OSCILLATOR, quick)
    return quick


def test_an_interrupted_run_says_how_to_resume_and_from_which_epoch(
    tmp_path, quick_oscillator, capsys
):
    command = "keras-pmm train pmm_anharmonic_oscillator --output x"
    with pytest.raises(KeyboardInterrupt):
        training.train(
            OSCILLATOR,
            output=tmp_path,
            verbose=0,
            command=command,
            callbacks=[StopAfterEpoch(2)],
        )
    err = capsys.readouterr().err
    assert "interrupted; epochs 1-2 of 3 are saved in" in err
    assert f"Run `{command}` again to resume from epoch 3." in err
    # Other arguments: refused, naming the interrupted run's settings.
    with pytest.raises(run_folder.RunFolderError) as info:
        training.train(OSCILLATOR, output=tmp_path, verbose=0, seed=5)
    assert "seed 1 (now 5)" in str(info.value)
    with pytest.raises(run_folder.RunFolderError) as info:
        training.train(
            OSCILLATOR, output=tmp_path, verbose=0, max_train_examples=4
        )
    assert "max_train_examples None (now 4)" in str(info.value)
    assert "train_examples 10 (now 4)" in str(info.value)
    epochs = EpochRecorder()
    metadata = training.train(
        OSCILLATOR, output=tmp_path, verbose=1, callbacks=[epochs]
    )
    assert epochs.seen == [2]
    assert "resuming the interrupted run in" in capsys.readouterr().out
    assert metadata["epochs_run"] == 3 and metadata["train_examples"] == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]


def test_overwrite_starts_an_unreadable_interrupted_run_over(
    tmp_path, quick_oscillator
):
    with pytest.raises(KeyboardInterrupt):
        training.train(
            OSCILLATOR,
            output=tmp_path,
            verbose=0,
            callbacks=[StopAfterEpoch(1)],
        )
    weights = tmp_path / "checkpoints" / "epoch_0001.weights.h5"
    weights.write_bytes(weights.read_bytes()[:96])
    with pytest.raises(run_folder.RunFolderError, match="cannot be read"):
        training.train(OSCILLATOR, output=tmp_path, verbose=0)
    epochs = EpochRecorder()
    # Other settings are fine: the interrupted run is discarded.
    metadata = training.train(
        OSCILLATOR,
        output=tmp_path,
        verbose=0,
        overwrite=True,
        max_train_examples=4,
        callbacks=[epochs],
    )
    assert epochs.seen == [0, 1, 2]
    # Array presets honour --max-train-examples (issue 31: ignored).
    assert metadata["train_examples"] == 4


def test_max_train_examples_must_be_a_positive_integer():
    for value in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="max_train_examples must be"):
            training.train(OSCILLATOR, max_train_examples=value)


@pytest.mark.large
def test_kill_during_a_checkpoint_write_loses_only_that_epoch(
    tmp_path, quick_oscillator
):
    """`kill -9` while epoch 2's weights are written: epoch 1's checkpoint
    and the stale lock are all that is left, and the run resumes."""
    script = f"""
import dataclasses, os, signal
import keras
from keras_pmm import zoo
from keras_pmm.zoo import training
preset = zoo.PRESETS["{OSCILLATOR}"]
zoo.PRESETS["{OSCILLATOR}"] = dataclasses.replace(
    preset, recipe=dataclasses.replace(preset.recipe, copies=1, epochs=3))
save = keras.Model.save_weights
def dying_save(self, path, *args, **kwargs):
    if "epoch_0002" in str(path):
        open(path, "wb").write(b"x" * 96)
        os.kill(os.getpid(), signal.SIGKILL)
    return save(self, path, *args, **kwargs)
keras.Model.save_weights = dying_save
training.train("{OSCILLATOR}", output=r"{tmp_path}", verbose=0)
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "KERAS_BACKEND": keras.backend.backend()},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    checkpoints = tmp_path / "checkpoints"
    assert run_folder.checkpoint_epochs(checkpoints) == [1]
    assert (tmp_path / run_folder.LOCK_FILE).exists()  # the dead run's
    epochs = EpochRecorder()
    metadata = training.train(
        OSCILLATOR, output=tmp_path, verbose=0, callbacks=[epochs]
    )
    assert epochs.seen == [1, 2] and metadata["epochs_run"] == 3
    assert not list(tmp_path.glob(".*"))  # no lock, no temporary file


@pytest.fixture
def tf_log_level(monkeypatch):
    """Restores TF_CPP_MIN_LOG_LEVEL, which `main` may set, after the test."""
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "restored after the test")
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    return monkeypatch


def test_cli_names_the_run_in_a_busy_folder_in_one_line(
    tmp_path, tf_log_level, capsys
):
    from keras_pmm import cli

    with run_folder.locked(tmp_path):
        assert cli.main(["train", OSCILLATOR, "--output", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("keras-pmm: error: ") and error.count("\n") == 1
    assert f"(pid {os.getpid()}, started " in error


def test_cli_ctrl_c_exits_quietly_with_130(
    tmp_path, tf_log_level, monkeypatch, capsys
):
    """The resume hint is `train`'s (above); no traceback follows it."""
    from keras_pmm import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "train", interrupted)
    assert cli.main(["train", OSCILLATOR, "--output", str(tmp_path)]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_a_finished_ensemble_member_with_other_settings_is_refused(
    tmp_path,
):
    member = training.preset_with_overrides("pmm_mnist", epochs=1, seed=1)
    (tmp_path / "metadata.json").write_text(
        json.dumps(
            {
                "name": "pmm_mnist",
                "recipe": dataclasses.asdict(member.recipe),
                "backend": keras.backend.backend(),
                "devices": 1,
                "max_train_examples": 256,
                "training_command": "keras-pmm train pmm_mnist_ensemble",
            }
        )
    )
    training._check_finished_member(tmp_path, member, None, 256)
    longer = training.preset_with_overrides("pmm_mnist", epochs=2, seed=1)
    with pytest.raises(run_folder.RunFolderError) as info:
        training._check_finished_member(tmp_path, longer, None, None)
    message = str(info.value)
    assert "epochs 1 (now 2)" in message
    assert "max_train_examples 256 (now None)" in message
    assert "`keras-pmm train pmm_mnist_ensemble`" in message
