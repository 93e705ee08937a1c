"""The `keras-pmm` command line: zoo, predict, train, export, demo.

Run `keras-pmm --help` or `keras-pmm COMMAND --help`. The Keras backend is
`KERAS_BACKEND` (or `--backend`); when a flag needs a different backend or
virtual devices, the command restarts itself with the right environment
before Keras starts.

This module imports no Keras (nor any backend) so that `--help` and argument
errors answer at once; the commands' work lives in `_cli_commands`, imported
once the arguments are parsed. `predict` on a `.tflite` file runs
`_cli_litert` instead and never imports Keras or TensorFlow; `export` always
runs on TensorFlow (the command restarts itself with that backend), after
checking its output path before TensorFlow or the model loads. Without Keras
or a backend installed, the commands that need them say in one line what to
install.
TensorFlow's C++ logging is silenced unless `TF_CPP_MIN_LOG_LEVEL` is set
(set it to 0 to see every message).
"""

import argparse
import contextlib
import os
import sys

BACKENDS = ("tensorflow", "jax", "torch")

# TensorFlow's C++ log level when the user has not chosen one: 3 hides
# INFO, WARNING and ERROR lines (such as "failed call to cuInit" on a machine
# with CUDA libraries but no GPU); fatal errors still show.
QUIET_TF_LOG_LEVEL = "3"


def positive_int(text):
    """An argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def non_negative_int(text):
    """An argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {value}")
    return value


def _parser():
    parser = argparse.ArgumentParser(
        prog="keras-pmm",
        description="Pretrained Parametric Matrix Models: list, evaluate, "
        "predict, train.",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND"
    )

    zoo = commands.add_parser(
        "zoo",
        help="list and evaluate the presets",
        description="List and evaluate the zoo's presets.",
    )
    zoo_commands = zoo.add_subparsers(
        dest="zoo_command", required=True, metavar="ZOO_COMMAND"
    )
    zoo_commands.add_parser(
        "list",
        help="presets with parameters and test accuracy",
        description="List the presets with their parameters and accuracy.",
    )
    evaluate = zoo_commands.add_parser(
        "evaluate",
        help="test accuracy of a preset's shipped weights",
        description="Evaluate a preset's shipped weights on its official "
        "test set.",
    )
    evaluate.add_argument("name", help="preset name or preset folder")
    evaluate.add_argument(
        "--data-dir",
        default=None,
        help="folder of IDX files (default: $KERAS_PMM_DATA_DIR, else "
        "download)",
    )

    predict = commands.add_parser(
        "predict",
        help="run a preset, a .keras file or a .tflite file on input files",
        description="Run a preset, your own .keras file, or a .tflite file "
        "(run by the LiteRT interpreter alone: no Keras, no TensorFlow) on "
        "PNG/JPEG images or .npy arrays (28x28 grey, 0..255) for an image "
        "model, .npy or .csv arrays (one example a row; a header row is "
        "skipped) for any other. Classifiers print each input's top "
        "classes, other models their outputs.",
    )
    predict.add_argument(
        "name", help="preset name, preset folder, .keras or .tflite file"
    )
    predict.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="PNG, JPEG, .npy or .csv files",
    )
    predict.add_argument(
        "--top-k",
        type=positive_int,
        default=3,
        help="classes to print per image (3)",
    )
    predict.add_argument(
        "--invert",
        choices=("auto", "yes", "no"),
        default="auto",
        help="invert dark-on-light images to the data sets' light-on-dark "
        "(auto: when the border is bright)",
    )
    predict.add_argument(
        "--uncertainty",
        action="store_true",
        help="also print each image's predictive entropy and, for ensembles "
        "and Bayesian presets, the mutual information (epistemic "
        "uncertainty), in nats",
    )

    train = commands.add_parser(
        "train",
        help="reproduce a preset from its recipe",
        description="Train a preset from its recipe: progress bar, a "
        "checkpoint each epoch (rerun the same command to resume), early "
        "stopping on a validation split of the training set, final test "
        "evaluation.",
    )
    train.add_argument("name", help="preset name")
    train.add_argument("--data-dir", default=None, help="folder of IDX files")
    train.add_argument(
        "--output", default=None, help="folder to write (default: runs/NAME)"
    )
    train.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="override the recipe's epochs",
    )
    train.add_argument(
        "--seed",
        type=non_negative_int,
        default=None,
        help="override the recipe's seed (>= 0, as numpy's generators "
        "require; 0 is a valid seed, the recipes use it)",
    )
    train.add_argument(
        "--devices",
        type=positive_int,
        default=None,
        help="data-parallel over N devices (jax, tensorflow; on a CPU it is "
        "split into N virtual devices)",
    )
    train.add_argument(
        "--max-train-examples",
        type=positive_int,
        default=None,
        help="train on only this many examples (quick runs)",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="start over when OUTPUT holds a finished or interrupted run",
    )

    export = commands.add_parser(
        "export",
        help="export a preset to SavedModel, TFLite or ONNX",
        description="Export a preset (name or trained folder) or a .keras "
        "file to a SavedModel folder, a builtins-only .tflite file or an "
        ".onnx file, with its class names beside it. Runs on TensorFlow. "
        "The write is atomic; an existing output is kept unless --force.",
    )
    export.add_argument(
        "name", help="preset name, preset folder or .keras file"
    )
    export.add_argument(
        "--format",
        required=True,
        choices=("saved_model", "tflite", "onnx"),
        help="output format",
    )
    export.add_argument(
        "--quantize",
        choices=("float16", "dynamic_int8", "int8"),
        default=None,
        help="TFLite post-training quantisation (int8 calibrates on 300 "
        "training images of the preset's data set)",
    )
    export.add_argument("--out", required=True, help="output file or folder")
    export.add_argument(
        "--force", action="store_true", help="replace an existing output"
    )
    export.add_argument(
        "--input-dtype",
        choices=("float32", "uint8"),
        default="float32",
        help="dtype of the exported input (float32)",
    )
    export.add_argument(
        "--sweeps",
        type=positive_int,
        default=None,
        help="Jacobi sweeps of the exported eigensolver (default: from n)",
    )
    export.add_argument(
        "--posterior-draws",
        type=positive_int,
        default=None,
        metavar="S",
        help="a Bayesian preset: export S seeded posterior draws as one "
        "ensemble graph (keeps its uncertainty; default: the posterior mean)",
    )
    export.add_argument(
        "--data-dir", default=None, help="folder of IDX files (for int8)"
    )

    demo = commands.add_parser(
        "demo",
        help="evaluate every preset and classify the bundled sample images",
        description="Load the presets, evaluate them on their test sets and "
        "classify the bundled sample images.",
    )
    demo.add_argument("--data-dir", default=None, help="folder of IDX files")
    return parser


def _environment_for(args):
    """Environment variables the command needs before Keras is imported."""
    needed = {}
    if args.backend:
        needed["KERAS_BACKEND"] = args.backend
    if args.command == "export":
        needed["KERAS_BACKEND"] = "tensorflow"  # only TF traces the graph
    devices = getattr(args, "devices", None)
    backend = args.backend or os.environ.get("KERAS_BACKEND", "tensorflow")
    if devices and devices > 1 and backend == "jax":
        flag = f"--xla_force_host_platform_device_count={devices}"
        if flag not in os.environ.get("XLA_FLAGS", ""):
            needed["XLA_FLAGS"] = (
                os.environ.get("XLA_FLAGS", "") + " " + flag
            ).strip()
    return {
        key: value
        for key, value in needed.items()
        if os.environ.get(key) != value
    }


@contextlib.contextmanager
def _quiet_tensorflow_logs():
    """Silences TensorFlow's C++ logging unless `TF_CPP_MIN_LOG_LEVEL` is set.

    The log level hides what TensorFlow logs once running; the lines its
    libraries write while they load (before absl's logging starts, such as
    "All log messages before absl::InitializeLog() ...") ignore it, so the
    Keras import runs with the stderr file descriptor sent to /dev/null.
    Python errors raised by the import are printed after stderr is back.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        yield
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = QUIET_TF_LOG_LEVEL
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


# Modules whose absence means an install without Keras or its backend.
KERAS_MODULES = ("keras", "tensorflow", "jax", "jaxlib", "torch")


def _missing_keras_message(args, error):
    """One line on what to install, for `error` on importing Keras: Keras
    itself missing, or its backend (`keras_pmm.BackendNotInstalledError`
    says which to pick or install)."""
    what = "keras-pmm " + " ".join(
        w for w in (args.command, getattr(args, "zoo_command", None)) if w
    )
    extra = os.environ.get("KERAS_BACKEND", "tensorflow")
    if args.command == "export":
        extra = "tensorflow,export"
    if error.name == "keras" or "pip install" not in str(error):
        reason = (
            f"{error}; install Keras and a backend with pip install "
            f"'keras-pmm[{extra}]'"
        )
    else:
        reason = str(error).rstrip(".")
    return (
        f"{what} needs Keras and a backend ({reason}). Without them, "
        "keras-pmm predict runs exported .tflite files (pip install "
        "keras-pmm ai-edge-litert)."
    )


def _check_export_output(args):
    """`keras-pmm export`'s arguments, output path and input file, checked
    before TensorFlow or the model loads; returns an error message or None."""
    from keras_pmm.export import _files

    suffixes = {"saved_model": None, "tflite": ".tflite", "onnx": ".onnx"}
    if args.format != "tflite" and args.quantize:
        return "--quantize applies to --format tflite only."
    if args.name.endswith(".keras") and not os.path.isfile(
        os.path.expanduser(args.name)
    ):
        return f"No such file: {args.name}"
    try:
        _files.check_output(
            args.out,
            args.force,
            suffixes[args.format],
            _files.source_bytes(args.name),
        )
    except (OSError, ValueError) as error:
        return getattr(error, "strerror", None) or str(error)
    return None


def main(argv=None):
    """The `keras-pmm` console script; returns the exit status."""
    from_command_line = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    if args.command == "export":
        error = _check_export_output(args)
        if error:
            print(f"keras-pmm: error: {error}", file=sys.stderr)
            return 2
    missing = _environment_for(args)
    if missing:
        settings = " ".join(f"{key}={value}" for key, value in missing.items())
        if not from_command_line:
            raise SystemExit(
                f"keras-pmm: run with {settings} set before Keras is imported."
            )
        os.environ.update(missing)
        os.execv(sys.executable, [sys.executable, "-m", "keras_pmm.cli", *argv])
    if args.command == "predict" and args.name.endswith(".tflite"):
        from keras_pmm import _cli_litert

        try:
            return _cli_litert.predict(args) or 0
        except _cli_litert.UsageError as error:
            print(f"keras-pmm: error: {error}", file=sys.stderr)
            return 2
    try:
        with _quiet_tensorflow_logs():
            import keras  # noqa: F401 - loads the backend while stderr is quiet

            from keras_pmm import _cli_commands
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in KERAS_MODULES:
            raise
        print(
            f"keras-pmm: error: {_missing_keras_message(args, error)}",
            file=sys.stderr,
        )
        return 1

    handler = {
        ("zoo", "list"): _cli_commands.zoo_list,
        ("zoo", "evaluate"): _cli_commands.zoo_evaluate,
        ("predict", None): _cli_commands.predict,
        ("train", None): _cli_commands.train,
        ("export", None): _cli_commands.export,
        ("demo", None): _cli_commands.demo,
    }[(args.command, getattr(args, "zoo_command", None))]
    try:
        return handler(args) or 0
    except _cli_commands.UsageError as error:
        print(f"keras-pmm: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
