"""`keras-pmm train` for array presets: full-batch Adam, resumable."""

import dataclasses
import datetime
import sys

import keras
import numpy as np

from keras_pmm.training import cosine_adam
from keras_pmm.zoo import run_folder
from keras_pmm.zoo import storage


def train_array(
    preset,
    checkpoints,
    verbose=1,
    callbacks=(),
    max_train_examples=None,
    command=None,
):
    """Builds an array preset's model and fits it by its `ArrayRecipe`.

    Full-batch or shuffled batches, as the recipe says. Keras's progress
    bar shows each epoch; `run_folder.Checkpoints` writes a checkpoint
    after every epoch, so the same call after an interruption resumes where
    it stopped (and refuses to resume a run started with other settings).

    Args:
        preset: a `Preset` whose data is `ArrayData`.
        checkpoints: the run's checkpoint folder.
        verbose: Keras's `fit` verbosity.
        callbacks: extra Keras callbacks.
        max_train_examples: train on only the first examples.
        command: the command line, named when a resumption is refused.

    Returns:
        (trained model, the run record: epochs done, wall time, final loss,
        training examples).

    Raises:
        run_folder.RunFolderError: the checkpoints hold a run with other
            settings, or none of them can be read.
    """
    recipe = preset.recipe
    (x_train, y_train), _ = preset.data.load()
    if max_train_examples:
        x_train = x_train[:max_train_examples]
        y_train = y_train[:max_train_examples]
    keras.utils.set_random_seed(recipe.seed)
    model = preset.build()
    steps = recipe.steps(len(x_train))
    model.compile(
        optimizer=cosine_adam(recipe.learning_rate, steps, recipe.decay_to)
    )
    if hasattr(model, "adapt"):
        model.adapt(x_train, y_train)
    model(x_train[:1])  # checkpoints restore into built variables
    state = run_folder.Checkpoints(
        checkpoints,
        run_folder.run_settings(preset, x_train, y_train, max_train_examples),
        command=command,
    )
    initial_epoch = state.restore(model)
    run_folder.report_resume(
        preset.name, state, initial_epoch, recipe.epochs, verbose
    )
    full_batch = recipe.batch_size is None
    copies = recipe.copies if full_batch else 1
    if initial_epoch < recipe.epochs and not state.record.get("fit_done"):
        model.fit(
            np.concatenate([x_train] * copies),
            np.concatenate([y_train] * copies),
            batch_size=len(x_train) if full_batch else recipe.batch_size,
            epochs=recipe.epochs,
            initial_epoch=initial_epoch,
            shuffle=not full_batch,
            callbacks=[state, *callbacks],
            verbose=verbose,
        )
    return model, {**state.record, "train_examples": int(len(x_train))}


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
        "train_examples": state.get("train_examples", int(len(x_train))),
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
