"""`keras-pmm train` for array presets: full-batch Adam, resumable."""

import dataclasses
import datetime
import json
import pathlib
import sys
import time

import keras
import numpy as np

from keras_pmm.training import cosine_adam
from keras_pmm.zoo import storage

RUN_RECORD = "run.json"


class _WallTime(keras.callbacks.Callback):
    """Keeps the epochs done and the wall time spent in `run.json`, so that a
    resumed run reports its total time."""

    def __init__(self, path):
        super().__init__()
        self.path = pathlib.Path(path)
        self.state = (
            json.loads(self.path.read_text())
            if self.path.is_file()
            else {"epochs_done": 0, "wall_time_s": 0.0}
        )

    def on_train_begin(self, logs=None):
        self._start, self._spent = (
            time.perf_counter(),
            self.state["wall_time_s"],
        )

    def on_epoch_end(self, epoch, logs=None):
        self.state.update(
            epochs_done=epoch + 1,
            wall_time_s=self._spent + time.perf_counter() - self._start,
            loss=float(logs["loss"]),
        )
        self.path.write_text(json.dumps(self.state))


def train_array(preset, checkpoints, verbose=1, callbacks=()):
    """Builds an array preset's model and fits it by its `ArrayRecipe`.

    Full-batch or shuffled batches, as the recipe says. Keras's progress
    bar shows each epoch; `BackupAndRestore` writes a
    checkpoint after every epoch, so the same call after an interruption
    resumes where it stopped.

    Args:
        preset: a `Preset` whose data is `ArrayData`.
        checkpoints: the run's checkpoint folder.
        verbose: Keras's `fit` verbosity.
        callbacks: extra Keras callbacks.

    Returns:
        (trained model, the run record: epochs done, wall time, final loss).
    """
    recipe = preset.recipe
    (x_train, y_train), _ = preset.data.load()
    keras.utils.set_random_seed(recipe.seed)
    model = preset.build()
    steps = recipe.steps(len(x_train))
    model.compile(
        optimizer=cosine_adam(recipe.learning_rate, steps, recipe.decay_to)
    )
    if hasattr(model, "adapt"):
        model.adapt(x_train, y_train)
    model(x_train[:1])  # BackupAndRestore restores into built variables
    record = _WallTime(pathlib.Path(checkpoints) / RUN_RECORD)
    full_batch = recipe.batch_size is None
    copies = recipe.copies if full_batch else 1
    model.fit(
        np.concatenate([x_train] * copies),
        np.concatenate([y_train] * copies),
        batch_size=len(x_train) if full_batch else recipe.batch_size,
        epochs=recipe.epochs,
        shuffle=not full_batch,
        callbacks=[
            keras.callbacks.BackupAndRestore(
                pathlib.Path(checkpoints) / "backup"
            ),
            record,
            *callbacks,
        ],
        verbose=verbose,
    )
    return model, record.state


def array_figures(preset, model, splits=None):
    """The preset's test figures (`ArrayData.figures`) of `model`.

    `splits` is the data's `load()`, when the caller has it already.
    """
    _, (x_test, y_test) = splits or preset.data.load()
    predicted = model.predict(x_test, batch_size=1024, verbose=0)
    return {
        key: float(value)
        for key, value in preset.data.figures(y_test, predicted, x_test).items()
    }


def array_metadata(preset, state, figures, command=None, splits=None):
    """The provenance and figures of a finished array run (`splits` as in
    `array_figures`)."""
    (x_train, _), _ = splits or preset.data.load()
    return {
        "name": preset.name,
        **preset.facts,
        "trained": True,
        "test_figures": figures,
        "final_training_loss": state.get("loss"),
        "epochs_run": state["epochs_done"],
        "train_examples": int(len(x_train)),
        "recipe": dataclasses.asdict(preset.recipe),
        "training_command": command or f"keras-pmm train {preset.name}",
        "training_date": datetime.date.today().isoformat(),
        "training_wall_time_s": round(state["wall_time_s"], 1),
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "python": sys.version.split()[0],
    }


def save_array_preset(preset, model, output, state, command=None):
    """Writes the preset folder of a finished array run; returns its
    metadata."""
    splits = preset.data.load()
    figures = array_figures(preset, model, splits)
    metadata = array_metadata(preset, state, figures, command, splits)
    return storage.save(model, output, metadata)
