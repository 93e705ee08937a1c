"""The work behind each `keras-pmm` command (imported after the backend is set).

Errors caused by what the user typed (an unknown preset, a missing file or
data folder, an output folder in use, devices the backend cannot use) are
raised as `UsageError` where that input is first used; `main` prints them on
one line. Any other exception is a bug and keeps its traceback.
"""

import pathlib
import shlex
import sys

import numpy as np

from keras_pmm._cli_litert import IMAGE_SIZE
from keras_pmm._cli_litert import UsageError
from keras_pmm._cli_litert import check_uncertainty
from keras_pmm._cli_litert import file_uncertainty
from keras_pmm._cli_litert import print_outputs
from keras_pmm._cli_litert import print_rows
from keras_pmm._cli_litert import print_top_k
from keras_pmm._cli_litert import read_arrays
from keras_pmm._cli_litert import read_inputs
from keras_pmm.zoo.evaluation import percent


def zoo_list(args):
    from keras_pmm import zoo
    from keras_pmm.zoo import evaluation
    from keras_pmm.zoo.demo import format_table

    rows = [("preset", "data set", "parameters", "test figure", "description")]
    for name in zoo.list():
        info = zoo.metadata(name)
        rows.append(
            (
                name,
                info["dataset"],
                f"{info['parameters']:,}",
                evaluation.headline_figure(info),
                info["description"],
            )
        )
    print(format_table(rows))


def _folder_and_preset(name):
    """The folder and `Preset` of a preset name or a trained folder."""
    from keras_pmm import zoo
    from keras_pmm.zoo import storage

    if name in zoo.PRESETS:
        return zoo.PRESETS_DIR / name, zoo.PRESETS[name]
    folder = pathlib.Path(name).expanduser()
    if not (folder / storage.METADATA_FILE).is_file():
        raise UsageError(zoo._unknown(name))
    info = storage.read_metadata(folder)
    if info.get("name") not in zoo.PRESETS:
        raise UsageError(f"{folder} was not trained from a known preset.")
    return folder, zoo.PRESETS[info["name"]]


def _load_model(name):
    """`zoo.load(name)`; a preset without weights is a usage error."""
    from keras_pmm import zoo

    try:
        return zoo.load(name)
    except FileNotFoundError as error:  # recipe-only or incomplete folder
        raise UsageError(error) from error


def _load_data(data, data_dir):
    """`data.load(data_dir)`; missing files, or offline, is a usage error."""
    if data_dir and not pathlib.Path(data_dir).expanduser().is_dir():
        raise UsageError(f"--data-dir {data_dir} is not a folder.")
    try:
        return data.load(data_dir)
    except FileNotFoundError as error:
        raise UsageError(error) from error
    except RuntimeError as error:  # the data sets' "Could not download"
        raise UsageError(error) from error


def zoo_evaluate(args):
    from keras_pmm.zoo import evaluation
    from keras_pmm.zoo import storage

    folder, preset = _folder_and_preset(args.name)
    model = _load_model(args.name)
    if preset.kind == "array":
        return _evaluate_array(args.name, folder, preset, model)
    _, (x_test, y_test) = _load_data(preset.data, args.data_dir)
    result = evaluation.evaluate(
        model, x_test, y_test, len(preset.data.class_names)
    )
    print(
        f"{args.name}: test accuracy {percent(result['accuracy'])} "
        f"({result['correct']:,} / {result['size']:,}) on "
        f"{preset.data.name}, {model.count_params():,} parameters"
    )
    card = storage.read_metadata(folder).get("evaluation")
    if card:
        same = card["test_correct"] == result["correct"]
        print(
            f"card:  test accuracy {percent(card['test_accuracy'])} "
            f"({card['test_correct']:,} / {card['test_size']:,}) on "
            f"{card['backend']}: "
            + ("reproduced exactly" if same else "DIFFERS")
        )
    print(f"target: {preset.target}")


# Agreement with the card that counts as reproducing it: the card was
# measured on one backend, and float32 eigensolvers differ in the last bits,
# which moves small error figures (a median error of 2e-4 by 0.3% between
# JAX and TensorFlow) and may flip a matrix at the 5% line (1e-4 of a share).
REPRODUCED_RTOL, REPRODUCED_ATOL = 1e-2, 1e-4


def _evaluate_array(name, folder, preset, model):
    from keras_pmm.zoo import array_training
    from keras_pmm.zoo import storage

    figures = array_training.array_figures(preset, model)
    card = storage.read_metadata(folder).get("test_figures", {})
    print(f"{name}: {preset.data.name}, {model.count_params():,} parameters")
    rows = [("figure", "now", "card")]
    for key, value in figures.items():
        rows.append((key, f"{value:.6g}", f"{card.get(key, float('nan')):.6g}"))
    from keras_pmm.zoo.demo import format_table

    print(format_table(rows))
    same = set(card) == set(figures) and all(
        np.isclose(
            figures[k], card[k], rtol=REPRODUCED_RTOL, atol=REPRODUCED_ATOL
        )
        for k in figures
    )
    print(
        "card: "
        + (
            f"reproduced (every figure within {REPRODUCED_RTOL:g} relative "
            f"or {REPRODUCED_ATOL:g})"
            if same
            else "DIFFERS"
        )
    )
    print(f"target: {preset.target}")


def _predict_arrays(args, preset, model):
    for path in args.files:
        batch = read_arrays(path, preset.data.input_shape)
        print_rows(path, np.asarray(model.predict(batch, verbose=0)))


def _load_keras_file(name):
    """The model in a `.keras` file; a missing or unreadable file is a usage
    error."""
    import keras

    if not pathlib.Path(name).expanduser().is_file():
        raise UsageError(f"No such file: {name}")
    try:
        return keras.saving.load_model(
            pathlib.Path(name).expanduser(), compile=False
        )
    except (ValueError, TypeError, OSError) as error:
        raise UsageError(f"Cannot load {name}: {error}") from error


def _input_shape(model):
    """One input's shape (no batch axis) of a single-input Keras model."""
    members = getattr(model, "members", None)
    if members:  # a keras_pmm.uq.DeepEnsemble takes its members' inputs
        return _input_shape(members[0])
    if getattr(model, "image_shape", None) is not None:
        return tuple(model.image_shape)
    try:
        inputs = list(model.inputs)
    except (AttributeError, ValueError):  # a subclassed model
        inputs = []
    if len(inputs) > 1:
        raise UsageError(
            f"{model.name} takes {len(inputs)} inputs; keras-pmm predict "
            "feeds one."
        )
    if inputs:
        return tuple(inputs[0].shape[1:])
    built = (model.get_build_config() or {}) if model.built else {}
    if built.get("input_shape"):
        return tuple(built["input_shape"][1:])
    raise UsageError(f"Cannot tell the input shape of {model.name}.")


def _predict_keras_file(args):
    """`keras-pmm predict MODEL.keras FILE...`: the user's own model."""
    model = _load_keras_file(args.name)
    shape = _input_shape(model)
    if any(d is None for d in shape):
        raise UsageError(
            f"{args.name} takes inputs of shape {shape}; keras-pmm predict "
            "needs every axis but the batch known."
        )
    batches = [read_inputs(path, shape, args.invert) for path in args.files]
    names = getattr(model, "class_names", None)
    for path, batch in zip(args.files, batches):
        outputs = np.asarray(model.predict(batch, verbose=0))
        check_uncertainty(args, outputs, names)
        uncertainty = None
        if args.uncertainty:
            from keras_pmm.uq import predict_with_uncertainty

            uncertainty = predict_with_uncertainty(model, batch)
            if "total" not in uncertainty:  # read as a regressor
                uncertainty = file_uncertainty({"outputs": outputs})
        print_outputs(path, outputs, names, args.top_k, uncertainty)


def predict(args):
    if args.name.endswith(".keras"):
        return _predict_keras_file(args)
    _, preset = _folder_and_preset(args.name)
    if preset.kind == "array":
        if args.uncertainty:
            raise UsageError(
                f"--uncertainty applies to classifier presets, not {args.name}."
            )
        return _predict_arrays(args, preset, _load_model(args.name))
    batches = [
        read_inputs(path, IMAGE_SIZE, args.invert) for path in args.files
    ]
    model = _load_model(args.name)
    for path, batch in zip(args.files, batches):
        if args.uncertainty:
            from keras_pmm.uq import predict_with_uncertainty

            uncertainty = predict_with_uncertainty(model, batch)
            probabilities = uncertainty["mean"]
        else:
            uncertainty, probabilities = None, model.predict(batch, verbose=0)
        print_top_k(
            path,
            probabilities,
            preset.data.class_names,
            args.top_k,
            uncertainty,
        )


def _check_devices(devices, batch_size):
    """`training.check_devices`; devices the backend cannot use are a usage
    error."""
    from keras_pmm.zoo import training

    try:
        training.check_devices(devices, batch_size)
    except (ValueError, RuntimeError) as error:
        raise UsageError(error) from error


def train(args):
    import keras

    from keras_pmm import zoo
    from keras_pmm.zoo import training

    if args.name not in zoo.PRESETS:
        raise UsageError(
            f"Unknown preset {args.name!r}. Known presets: "
            f"{', '.join(zoo.list())}."
        )
    preset = zoo.PRESETS[args.name]
    _check_devices(args.devices, getattr(preset.recipe, "batch_size", None))
    # Loaded here too (a second or two), where the user's folder enters, so
    # that a missing file later inside training shows as the bug it is.
    _load_data(preset.data, args.data_dir)
    words = (
        sys.argv[1:]
        if sys.argv[1:] and "train" in sys.argv[1:]
        else ["train", args.name]
    )
    if "--backend" not in words:
        words = ["--backend", keras.backend.backend()] + words
    command = "keras-pmm " + " ".join(shlex.quote(word) for word in words)
    try:
        metadata = training.train(
            args.name,
            data_dir=args.data_dir,
            output=args.output,
            epochs=args.epochs,
            seed=args.seed,
            devices=args.devices,
            max_train_examples=args.max_train_examples,
            overwrite=args.overwrite,
            verbose=1,
            command=command,
        )
    except FileExistsError as error:  # OUTPUT finished, busy or other run's
        raise UsageError(error) from error
    except KeyboardInterrupt:  # Ctrl-C: training said how to resume
        return 130
    if preset.kind == "array":
        from keras_pmm.zoo import evaluation

        print(
            f"{args.name}: {evaluation.headline_figure(metadata)}, "
            f"{metadata['parameters']:,} parameters, "
            f"{metadata['training_wall_time_s']:.0f} s; "
            f"written to {args.output or 'runs/' + args.name}"
        )
        return
    if "members" in metadata:  # an ensemble preset
        progress = f"{len(metadata['members'])} members"
    else:
        progress = (
            f"best epoch {metadata['best_epoch']} of {metadata['epochs_run']}"
        )
    print(
        f"{args.name}: test accuracy {percent(metadata['test_accuracy'])} "
        f"({metadata['test_correct']:,} / {metadata['test_size']:,}), "
        f"{metadata['parameters']:,} parameters, {progress}, "
        f"{metadata['training_wall_time_s']:.0f} s; "
        f"written to {args.output or 'runs/' + args.name}"
    )


def _representative_images(preset, data_dir, count=300, seed=0):
    """`count` training images of the preset's data set, seeded."""
    (x_train, _), _ = _load_data(preset.data, data_dir)
    rng = np.random.default_rng(seed)
    count = min(count, len(x_train))
    return x_train[rng.choice(len(x_train), count, replace=False)]


def export(args):
    from keras_pmm import export as exporter

    name = args.name
    if name.endswith(".keras"):
        model, preset = _load_keras_file(name), None
    else:
        _, preset = _folder_and_preset(name)
        model = _load_model(name)  # a preset without weights: usage error
    model = _posterior_draws(model, args.posterior_draws)
    representative = None
    if args.quantize == "int8":
        if preset is None:
            raise UsageError(
                "--quantize int8 calibrates on the preset's training images; "
                "export a preset name or folder, or call "
                "keras_pmm.export.export_tflite with representative_data."
            )
        representative = _representative_images(preset, args.data_dir)
    try:
        path = exporter.export_model(
            model,
            args.out,
            args.format,
            quantization=args.quantize,
            representative_data=representative,
            input_dtype=args.input_dtype,
            class_names=getattr(preset and preset.data, "class_names", None),
            sweeps=args.sweeps,
            overwrite=args.force,
        )
    except (OSError, ValueError) as error:
        # ExportError is a ValueError; OSError: the output folder is missing,
        # not writable or full (FileExistsError: an output without --force).
        raise UsageError(getattr(error, "strerror", None) or error) from error
    size = (
        sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        if path.is_dir()
        else path.stat().st_size
    )
    names = exporter.read_labels(path)
    print(
        f"wrote {path} ({size / 1024:.0f} KB"
        + (f", {args.quantize}" if args.quantize else "")
        + (f", {len(names)} class names inside" if names else "")
        + ")"
    )


def _posterior_draws(model, draws):
    """`model`, or with `draws` its S seeded posterior draws as one ensemble
    (a Bayesian model only)."""
    if draws is None:
        return model
    posterior_ensemble = getattr(model, "posterior_ensemble", None)
    if posterior_ensemble is None:
        raise UsageError(
            "--posterior-draws applies to Bayesian models "
            f"(BayesianImagePMMClassifier); this is a {type(model).__name__}."
        )
    try:
        return posterior_ensemble(draws)
    except ValueError as error:
        raise UsageError(error) from error


def demo(args):
    from keras_pmm import zoo
    from keras_pmm.zoo import demo as zoo_demo

    # The demo evaluates the trained presets; check their data first.
    datasets = {
        zoo.PRESETS[name].dataset
        for name in zoo.list()
        if zoo.metadata(name)["trained"] and zoo.PRESETS[name].kind == "image"
    }
    for dataset in sorted(datasets):
        _load_data(zoo.DATASETS[dataset], args.data_dir)
    zoo_demo.run(args.data_dir)
