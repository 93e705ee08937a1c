"""`keras-pmm train`: reproduce a preset from its recipe, resumably."""

import contextlib
import dataclasses
import datetime
import os
import pathlib
import shutil
import sys

import keras
import numpy as np

from keras_pmm.zoo import run_folder
from keras_pmm.zoo import storage
from keras_pmm.zoo.registry import PRESETS
from keras_pmm.zoo.registry import EnsemblePreset

CHECKPOINT_DIR = "checkpoints"


def recipe_optimizer(recipe, steps_per_epoch):
    """The recipe's optimiser: Adam (AdamW with the recipe's weight decay,
    not applied to variational posterior spreads), its learning rate
    cosine-decayed to 0 over training."""
    schedule = keras.optimizers.schedules.CosineDecay(
        recipe.learning_rate, recipe.epochs * steps_per_epoch
    )
    if recipe.weight_decay:
        optimizer = keras.optimizers.AdamW(
            schedule, weight_decay=recipe.weight_decay
        )
        # A variational layer's posterior spreads are regularised by its KL
        # term; decaying them towards 0 would set their scale, not shrink it.
        optimizer.exclude_from_weight_decay(var_names=["_rho", "_factor"])
        return optimizer
    return keras.optimizers.Adam(schedule)


def split_validation(x, y, size, seed):
    """Carves a seeded random validation set of `size` training examples."""
    if not 0 < size < len(x):
        raise ValueError(
            f"validation_size must be in 1..{len(x) - 1}. Received: {size}"
        )
    order = np.random.default_rng(seed).permutation(len(x))
    return (x[order[size:]], y[order[size:]]), (
        x[order[:size]],
        y[order[:size]],
    )


def count_correct(model, x, y, batch_size=1000):
    """Number of examples whose most probable class is the label."""
    probabilities = model.predict(x, batch_size=batch_size, verbose=0)
    return int(np.sum(np.argmax(probabilities, axis=-1) == np.asarray(y)))


def prepare_devices(devices):
    """On TensorFlow without GPUs, splits the CPU into `devices` logical ones.

    Must run before TensorFlow's runtime starts (`train` calls it first).

    Returns:
        The device kind the strategy will use, `"GPU"` or `"CPU"`.
    """
    import tensorflow as tf

    if len(tf.config.list_physical_devices("GPU")) >= devices:
        return "GPU"
    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or [None]) < devices:
        try:
            tf.config.set_logical_device_configuration(
                cpu,
                [
                    tf.config.LogicalDeviceConfiguration()
                    for _ in range(devices)
                ],
            )
        except RuntimeError as error:
            raise RuntimeError(
                f"Cannot split the CPU into {devices} devices after TensorFlow "
                "started; "
                "call keras_pmm.zoo.training.prepare_devices first thing."
            ) from error
    return "CPU"


def check_devices(devices, batch_size=None):
    """Raises unless the backend can train data-parallel over `devices`.

    `train` calls it before anything is loaded; `keras-pmm train` calls it
    to report a bad `--devices` as a usage error.

    Args:
        devices: number of devices (None or 1: nothing to check).
        batch_size: when given, every batch must split evenly over them.

    Raises:
        ValueError: a backend without a data-parallel engine in Keras
            (torch), or a batch size that does not split over `devices`.
        RuntimeError: JAX sees fewer devices than `devices`.
    """
    if devices in (None, 1):
        return
    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise ValueError(
            "Data-parallel training needs the jax or tensorflow backend, not "
            f"{backend!r}."
        )
    if backend == "jax":
        available = len(keras.distribution.list_devices())
        if available < devices:
            raise RuntimeError(
                f"{devices} devices requested but JAX sees {available}. On a "
                "CPU, start with XLA_FLAGS=--xla_force_host_platform_"
                f"device_count={devices} (the keras-pmm CLI sets it for you)."
            )
    # Every batch, the last included, must split evenly over the devices.
    if batch_size is not None and batch_size % devices:
        raise ValueError(
            f"The batch size {batch_size} does not split over {devices} "
            "devices."
        )


@contextlib.contextmanager
def data_parallel(devices):
    """Replicates training over `devices` devices with the backend's engine.

    JAX: `keras.distribution.DataParallel`; TensorFlow:
    `tf.distribute.MirroredStrategy`. PyTorch has no such engine in Keras.
    With `devices` None or 1 nothing changes.

    Raises:
        ValueError, RuntimeError: see `check_devices`.
    """
    check_devices(devices)
    if devices in (None, 1):
        yield
        return
    if keras.backend.backend() == "jax":
        available = keras.distribution.list_devices()
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=available[:devices])
        )
        try:
            yield
        finally:
            keras.distribution.set_distribution(previous)
    else:
        import tensorflow as tf

        kind = prepare_devices(devices)
        names = [
            device.name
            for device in tf.config.list_logical_devices(kind)[:devices]
        ]
        with tf.distribute.MirroredStrategy(names).scope():
            yield


def _training_solver(devices):
    """LAPACK, except for JAX data-parallel training on CPUs: Jacobi there.

    jaxlib's CPU eigh splits large batches over the same thread pool that runs
    each virtual device; with as many devices as cores, every pool thread ends
    up waiting for work no thread is left to do (a deadlock seen with jax
    0.10.2 on 2 cores). The Jacobi solver uses plain XLA ops and agrees with
    LAPACK to 1e-5, so the trained weights serve the LAPACK model unchanged.
    """
    if devices and devices > 1 and keras.backend.backend() == "jax":
        if all(
            str(d).startswith("cpu")
            for d in keras.distribution.list_devices()[:devices]
        ):
            return "jacobi"
    return "lapack"


def _trim(array, devices):
    return array[: len(array) - len(array) % devices]


def _replica_count():
    """Devices of the current distribution (JAX) or strategy (TensorFlow)."""
    if keras.backend.backend() == "jax":
        distribution = keras.distribution.distribution()
        return (
            1
            if distribution is None
            else len(distribution.device_mesh.devices.flatten())
        )
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.distribute.get_strategy().num_replicas_in_sync
    return 1


def train(
    name,
    data_dir=None,
    output=None,
    epochs=None,
    seed=None,
    devices=None,
    max_train_examples=None,
    overwrite=False,
    verbose=1,
    command=None,
    callbacks=(),
):
    """Trains preset `name` from its recipe and writes a loadable preset folder.

    Keras' progress bar shows each epoch; a checkpoint is written after every
    epoch, whole or not at all, with the one before it kept as a backup
    (`run_folder.Checkpoints`), so running the same command again after an
    interruption (Ctrl-C, `kill -9`, a power cut) resumes where it stopped
    and says from which epoch; the checkpoints are removed once the preset
    folder is written. A resumption must have the interrupted run's
    settings (preset, recipe, seed, epochs, backend, devices, training
    data); `output` is locked while a run writes it. Early stopping watches
    the accuracy on a validation split carved from the training set (never
    the test set), from the second half of the epochs on; the best
    validation epoch's weights are kept and evaluated on the test set.

    Args:
        name: a preset from `keras_pmm.zoo.list()`.
        data_dir: folder of the data set's IDX files (else
            `KERAS_PMM_DATA_DIR`, else download).
        output: folder to write (default `runs/<name>`).
        epochs: override the recipe's epoch count.
        seed: override the recipe's seed.
        devices: train data-parallel over this many devices (JAX,
            TensorFlow).
        max_train_examples: train on only the first examples (quick runs;
            image and array presets alike).
        overwrite: start over when `output` holds a finished or an
            interrupted run.
        verbose: 1 for a progress bar, 2 for one line per epoch, 0 silent.
        command: the command line to record in the metadata (and to name
            when saying how to resume).
        callbacks: extra Keras callbacks, run after the checkpointing ones.

    Returns:
        The metadata written to `output/metadata.json`.

    Raises:
        ValueError: unknown preset, a `max_train_examples` that is not a
            positive integer, or a batch that does not split over
            `devices`.
        run_folder.RunFolderError (a `FileExistsError`): `output` holds a
            finished run and `overwrite` is False, another run is writing
            it (the message names its pid), it holds an interrupted run
            with other settings (the message names them), or its
            checkpoints cannot be read.
        KeyboardInterrupt: on Ctrl-C, after saying how to resume.
    """
    if isinstance(PRESETS.get(name), EnsemblePreset) and seed is not None:
        raise ValueError(
            f"{name} is an ensemble: its members' seeds are fixed "
            f"({', '.join(map(str, PRESETS[name].member_seeds))}); train a "
            f"member with another seed with `keras-pmm train "
            f"{PRESETS[name].member} --seed S`."
        )
    if max_train_examples is not None and (
        isinstance(max_train_examples, bool)
        or not isinstance(max_train_examples, (int, np.integer))
        or max_train_examples < 1
    ):
        raise ValueError(
            "max_train_examples must be a positive integer or None. "
            f"Received: max_train_examples={max_train_examples!r}"
        )
    preset = preset_with_overrides(name, epochs=epochs, seed=seed)
    if isinstance(preset, EnsemblePreset):
        return train_ensemble(
            preset,
            data_dir=data_dir,
            output=output,
            epochs=epochs,
            devices=devices,
            max_train_examples=max_train_examples,
            overwrite=overwrite,
            verbose=verbose,
            command=command,
            callbacks=callbacks,
        )
    if preset.kind == "array":
        if devices and devices > 1:
            raise ValueError(
                f"{preset.name} trains full-batch on one device; drop "
                f"--devices {devices}."
            )
    else:
        check_devices(devices, preset.recipe.batch_size)
        if devices and devices > 1 and keras.backend.backend() == "tensorflow":
            prepare_devices(devices)  # before TensorFlow's runtime starts
    output = pathlib.Path(output or os.path.join("runs", name))
    with run_folder.locked(output):
        checkpoints = prepare_output(output, name, overwrite)
        with run_folder.explain_interruption(
            name, checkpoints, preset.recipe.epochs, command
        ):
            if preset.kind == "array":
                return _train_array_preset(
                    preset,
                    output,
                    checkpoints,
                    max_train_examples,
                    verbose,
                    command,
                    callbacks,
                )
            return _train_image_preset(
                preset,
                output,
                checkpoints,
                data_dir,
                devices,
                max_train_examples,
                verbose,
                command,
                callbacks,
            )


def _train_image_preset(
    preset,
    output,
    checkpoints,
    data_dir,
    devices,
    max_train_examples,
    verbose,
    command,
    callbacks,
):
    """`train` for an image preset, `output` locked."""
    fit_data, validation_data, test_data = load_splits(
        preset, data_dir, max_train_examples, devices
    )
    state = run_folder.Checkpoints(
        checkpoints,
        run_folder.run_settings(preset, *fit_data, max_train_examples, devices),
        monitor="val_accuracy",
        command=command,
    )
    model, solver, replicas = fit_recipe(
        preset,
        fit_data,
        validation_data,
        state,
        devices,
        verbose,
        callbacks,
    )
    model = best_model(preset, model, state.best_weights, solver)
    correct = count_correct(model, *test_data)
    metadata = run_metadata(
        preset,
        state.record,
        correct=correct,
        test_size=len(test_data[1]),
        train_examples=len(fit_data[0]),
        command=command,
        solver=solver,
        devices=replicas,
        max_train_examples=max_train_examples,
    )
    return finish_output(output, storage.save(model, output, metadata))


def _train_array_preset(
    preset,
    output,
    checkpoints,
    max_train_examples,
    verbose,
    command,
    callbacks,
):
    """`train` for a preset of `ArrayData` (full batch, one device),
    `output` locked."""
    from keras_pmm.zoo import array_training

    model, state = array_training.train_array(
        preset,
        checkpoints,
        verbose,
        callbacks,
        max_train_examples=max_train_examples,
        command=command,
    )
    return finish_output(
        output,
        array_training.save_array_preset(preset, model, output, state, command),
    )


MEMBERS_DIR = "members"


def train_ensemble(
    preset,
    data_dir=None,
    output=None,
    epochs=None,
    devices=None,
    max_train_examples=None,
    overwrite=False,
    verbose=1,
    command=None,
    callbacks=(),
):
    """Trains an `EnsemblePreset`: its member preset once per member seed.

    Each member is a full `train` run of the member preset with that seed,
    written to `output/members/seed_<seed>` (resumable; a finished member
    is loaded, not retrained, once its recorded settings are checked), and
    the members ship as one `DeepEnsemble`. `output` is locked while the
    ensemble trains. Arguments are those of `train`.

    Returns:
        The metadata written to `output/metadata.json`.

    Raises:
        run_folder.RunFolderError: as for `train`; also a finished member
            trained with other settings.
    """
    output = pathlib.Path(output or os.path.join("runs", preset.name))
    with run_folder.locked(output):
        if (output / storage.METADATA_FILE).is_file():
            refuse_finished(output, preset.name, overwrite)
        members, records = [], []
        for index, seed in enumerate(preset.member_seeds):
            folder = output / MEMBERS_DIR / f"seed_{seed}"
            member_done = is_finished(folder) and not overwrite
            if verbose:
                state = "trained, loading" if member_done else "training"
                print(
                    f"{preset.name}: member {index + 1}/"
                    f"{len(preset.member_seeds)} (seed {seed}): {state} "
                    f"{folder}"
                )
            member = preset_with_overrides(preset.member, epochs, seed)
            if member_done:
                _check_finished_member(
                    folder, member, devices, max_train_examples
                )
            else:
                train(
                    preset.member,
                    data_dir=data_dir,
                    output=folder,
                    epochs=epochs,
                    seed=seed,
                    devices=devices,
                    max_train_examples=max_train_examples,
                    overwrite=overwrite,
                    verbose=verbose,
                    callbacks=callbacks,
                )
            members.append(storage.load(folder))
            records.append(storage.read_metadata(folder))
        return _save_ensemble(
            preset, output, members, records, data_dir, command
        )


def _check_finished_member(folder, member, devices, max_train_examples):
    """Refuses a finished member trained with other settings than asked."""
    record = storage.read_metadata(folder)

    def settings(recipe, backend, replicas, cap):
        return {
            **recipe,
            "backend": backend,
            "devices": replicas,
            "max_train_examples": cap,
        }

    run_folder.check_settings(
        folder,
        settings(
            record["recipe"],
            record["backend"],
            record.get("devices", 1),
            record.get("max_train_examples"),
        ),
        settings(
            dataclasses.asdict(member.recipe),
            keras.backend.backend(),
            devices or 1,
            max_train_examples,
        ),
        record.get("training_command"),
    )


def _save_ensemble(preset, output, members, records, data_dir, command):
    """Writes the ensemble of trained `members`; returns its metadata."""
    ensemble = preset.build()
    storage.build_model(ensemble)
    ensemble.set_weights(
        [weight for member in members for weight in member.get_weights()]
    )
    _, (x_test, y_test) = preset.data.load(data_dir)
    correct = count_correct(ensemble, x_test, y_test)
    metadata = {
        "name": preset.name,
        **preset.facts,
        "trained": True,
        "test_accuracy": correct / len(y_test),
        "test_correct": correct,
        "test_size": int(len(y_test)),
        "members": [
            {
                "seed": seed,
                **{
                    key: record[key]
                    for key in (
                        "test_accuracy",
                        "validation_accuracy",
                        "best_epoch",
                        "epochs_run",
                        "training_wall_time_s",
                        "training_command",
                    )
                },
            }
            for seed, record in zip(preset.member_seeds, records)
        ],
        "recipe": dataclasses.asdict(preset.recipe),
        "training_command": command or f"keras-pmm train {preset.name}",
        "training_date": datetime.date.today().isoformat(),
        "training_wall_time_s": round(
            sum(record["training_wall_time_s"] for record in records), 1
        ),
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "python": sys.version.split()[0],
    }
    return storage.save(ensemble, output, metadata)


def preset_with_overrides(name, epochs=None, seed=None):
    """The registry's preset `name`, its recipe's epochs and seed replaced.

    Raises:
        ValueError: unknown preset.
    """
    if name not in PRESETS:
        raise ValueError(
            f"Unknown preset {name!r}. Known presets: "
            f"{', '.join(sorted(PRESETS))}."
        )
    preset = PRESETS[name]
    overrides = {
        key: value
        for key, value in (("epochs", epochs), ("seed", seed))
        if value is not None
    }
    recipe = dataclasses.replace(preset.recipe, **overrides)
    return dataclasses.replace(preset, recipe=recipe)


def prepare_output(output, name, overwrite):
    """Creates `output/checkpoints`; refuses to overwrite a finished run.

    A folder with checkpoints but no final metadata is an interrupted run:
    it is kept, and training resumes from it, unless `overwrite`: then its
    checkpoints (readable or not) are removed and the run starts over.

    Returns:
        The checkpoint folder.
    """
    checkpoints = output / CHECKPOINT_DIR
    if is_finished(output):
        refuse_finished(output, name, overwrite)
    if overwrite:
        shutil.rmtree(checkpoints, ignore_errors=True)
    checkpoints.mkdir(parents=True, exist_ok=True)
    return checkpoints


def finish_output(output, metadata):
    """Removes the checkpoints of the finished run in `output` (its resume
    state and best weights; the preset files and metadata stay, ready to
    ship); returns `metadata`."""
    shutil.rmtree(output / CHECKPOINT_DIR, ignore_errors=True)
    return metadata


def is_finished(output):
    """Whether `output` holds a finished run: final metadata and no
    interrupted epoch's checkpoint."""
    return (output / storage.METADATA_FILE).is_file() and not (
        run_folder.checkpoint_epochs(output / CHECKPOINT_DIR)
    )


def refuse_finished(output, name, overwrite):
    """Raises `FileExistsError` for the finished run in `output` unless
    `overwrite`."""
    if not overwrite:
        raise run_folder.RunFolderError(
            f"{output} already holds a finished run of {name}. Pass "
            "overwrite=True (--overwrite) to train again from scratch, "
            "or choose another output."
        )


def load_splits(preset, data_dir, max_train_examples=None, devices=None):
    """The fit, validation and test sets of a run, as (x, y) pairs.

    The validation set is carved from the training set with the recipe's
    seed; with `devices`, every set is trimmed to split evenly over them.
    """
    recipe = preset.recipe
    (x_train, y_train), test_data = preset.data.load(data_dir)
    fit_data, validation_data = split_validation(
        x_train, y_train, recipe.validation_size, recipe.seed
    )
    if max_train_examples:
        fit_data = tuple(part[:max_train_examples] for part in fit_data)
    check_devices(devices, recipe.batch_size)
    if devices and devices > 1:
        fit_data = tuple(_trim(part, devices) for part in fit_data)
        validation_data = tuple(
            _trim(part, devices) for part in validation_data
        )
    return fit_data, validation_data, test_data


def fit_recipe(
    preset,
    fit_data,
    validation_data,
    checkpoints,
    devices=None,
    verbose=1,
    callbacks=(),
):
    """Builds the preset's model and fits it by its recipe, resumably.

    Args:
        checkpoints: the run's `run_folder.Checkpoints`; the model resumes
            from its newest readable checkpoint, and its `record` and
            `best_weights` hold the run's figures afterwards.

    Returns:
        (model, eigensolver it trained with, number of replicas).
    """
    recipe = preset.recipe
    keras.utils.set_random_seed(recipe.seed)
    x_fit, y_fit = fit_data
    steps_per_epoch = -(-len(x_fit) // recipe.batch_size)
    solver = _training_solver(devices)
    with data_parallel(devices):
        model = preset.build(method=solver)
        model.compile(optimizer=recipe_optimizer(recipe, steps_per_epoch))
        model(x_fit[: max(devices or 1, 1)])
        initial_epoch = checkpoints.restore(model)
        run_folder.report_resume(
            preset.name, checkpoints, initial_epoch, recipe.epochs, verbose
        )
        callbacks = [
            checkpoints,
            # Not before half the cosine schedule: while the learning rate
            # is high, validation accuracy jumps by points between epochs,
            # and one lucky early epoch must not stop a run that would have
            # gone on improving.
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy",
                mode="max",
                patience=recipe.patience,
                start_from_epoch=recipe.epochs // 2,
            ),
            *callbacks,
        ]
        replicas = _replica_count()
        if initial_epoch < recipe.epochs and not checkpoints.record.get(
            "fit_done"
        ):
            model.fit(
                x_fit,
                y_fit,
                validation_data=validation_data,
                epochs=recipe.epochs,
                initial_epoch=initial_epoch,
                batch_size=recipe.batch_size,
                callbacks=callbacks,
                verbose=verbose,
            )
    return model, solver, replicas


def best_model(preset, model, best_weights, solver):
    """The model with its best validation epoch's weights, on LAPACK."""
    model.load_weights(best_weights)
    if solver == "lapack":
        return model
    # The shipped model diagonalises with LAPACK again.
    shipped = preset.build()
    shipped(np.zeros((1,) + tuple(shipped.image_shape), "uint8"))
    shipped.set_weights(model.get_weights())
    return shipped


def run_metadata(
    preset,
    state,
    correct,
    test_size,
    train_examples,
    command=None,
    solver="lapack",
    devices=1,
    max_train_examples=None,
):
    """The provenance and figures of a finished run, for `metadata.json`."""
    return {
        "name": preset.name,
        **preset.facts,
        "trained": True,
        "test_accuracy": correct / test_size,
        "test_correct": correct,
        "test_size": int(test_size),
        "validation_accuracy": state["val_accuracy"],
        "best_epoch": state["best_epoch"],
        "epochs_run": state["epochs_done"],
        "train_examples": int(train_examples),
        "max_train_examples": max_train_examples,
        "recipe": dataclasses.asdict(preset.recipe),
        "training_command": command or f"keras-pmm train {preset.name}",
        "training_date": datetime.date.today().isoformat(),
        "training_wall_time_s": round(state["wall_time_s"], 1),
        "backend": keras.backend.backend(),
        "devices": devices,
        "training_eigensolver": solver,
        "keras_version": keras.__version__,
        "python": sys.version.split()[0],
    }
