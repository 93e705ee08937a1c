"""`keras-pmm predict MODEL.tflite FILE...`: LiteRT alone, no Keras.

Imports numpy, Pillow and `ai_edge_litert` only, as a phone app would run
the exported file; `keras_pmm.cli` calls it before anything imports Keras.
Any builtins-only `.tflite` model runs: an image model (28 x 28 input) on
PNG, JPEG or `.npy` images, any other on `.npy` or `.csv` arrays. A model
whose output is class probabilities prints each input's top classes (named
by the class names stored in the file, else numbered), any other prints its
outputs as rows of numbers. The input readers and printers here serve the
Keras side of `keras-pmm predict` (`_cli_commands`) too.
"""

import pathlib

import numpy as np

from keras_pmm._images import IMAGE_SIZE


class UsageError(Exception):
    """A command cannot run as typed; the message says why."""


UNCERTAINTY_NAMES = (
    ("total", "entropy"),
    ("epistemic", "mutual information"),
)


def read_arrays(path, input_shape):
    """Inputs of an array model from a `.npy` file or a `.csv` table.

    A `.csv` holds one example per row (comma-separated, `#` comments),
    flattened in C order: a (5, 5) matrix input is 25 numbers per row. A
    first row with no number in it (column names) is a header and skipped.

    Args:
        path: the file.
        input_shape: one example's shape, e.g. (1,) or (5, 5).

    Returns:
        float32 array of shape (batch,) + input_shape, batch >= 1.

    Raises:
        UsageError: a missing file, another suffix, no examples, NaN or
            infinite values, or values that do not form examples of
            `input_shape`.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise UsageError(f"No such file: {path}")
    try:
        if path.suffix == ".npy":
            values = np.load(path, allow_pickle=False)
        elif path.suffix == ".csv":
            values = _read_csv(path)
        else:
            raise UsageError(
                f"{path}: models with array inputs read .npy or .csv files."
            )
        values = np.asarray(values, "float32")
    except (ValueError, TypeError, OSError) as error:
        raise UsageError(f"{path}: {error}") from error
    input_shape = tuple(input_shape)
    size = int(np.prod(input_shape))
    if values.size == 0:
        raise UsageError(f"{path} holds no examples (an empty batch).")
    if values.ndim >= 1 and values.shape[1:] == input_shape:
        batch = values
    elif values.ndim == 2 and values.shape[1] == size:
        batch = values.reshape((-1,) + input_shape)
    elif values.ndim == 1 and size == 1:
        batch = values.reshape(-1, 1)
    else:
        raise UsageError(
            f"{path}: expected examples of shape {input_shape} "
            f"({size} values per row). Received an array of shape "
            f"{values.shape}."
        )
    if not np.all(np.isfinite(batch)):
        raise UsageError(f"{path}: holds NaN or infinite values.")
    return batch


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_csv(path):
    """A `.csv` table as a 2-D array; a first row of names is skipped."""
    rows = [
        line
        for line in path.read_text(encoding="utf-8-sig").splitlines()
        if line.split("#")[0].strip()
    ]
    if not rows:
        return np.zeros((0, 0), "float32")
    if not any(_is_number(f) for f in rows[0].split("#")[0].split(",")):
        rows = rows[1:]  # a header row
    if not rows:
        return np.zeros((0, 0), "float32")
    return np.loadtxt(rows, delimiter=",", ndmin=2, comments="#")


def is_image_shape(input_shape):
    """Whether one input of this shape is a 28 x 28 grey image."""
    shape = tuple(input_shape)
    return shape[:2] == IMAGE_SIZE and int(np.prod(shape)) == 784


def read_inputs(path, input_shape, invert="auto"):
    """A file's batch for a model with inputs of `input_shape` (no batch).

    Images (PNG, JPEG, `.npy`; `keras_pmm.zoo.images.read_images`) for a
    28 x 28 input, else arrays (`read_arrays`).

    Raises:
        UsageError: a file that cannot be read as such, or holds no inputs.
    """
    if not is_image_shape(input_shape):
        return read_arrays(path, input_shape)
    from keras_pmm import _images

    try:
        batch = _images.read_images(path, invert)
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(error) from error
    if len(batch) == 0:
        raise UsageError(f"{path} holds no images (an empty batch).")
    return batch.reshape((-1,) + tuple(input_shape))


def is_probabilities(outputs, atol=1e-3):
    """Whether (batch, C) `outputs` (C >= 2) are class probabilities: each
    row non-negative and summing to 1 within `atol`."""
    outputs = np.asarray(outputs)
    return bool(
        outputs.ndim == 2
        and outputs.shape[-1] >= 2
        and np.all(outputs >= 0)
        and np.allclose(outputs.sum(-1), 1.0, atol=atol)
    )


def check_finite_outputs(path, outputs):
    """Raises `UsageError` if a model returned NaN or inf for some input of
    `path`: printed, it would read as an answer (`0 (nan)`, exit 0)."""
    outputs = np.asarray(outputs)
    if not np.issubdtype(outputs.dtype, np.number):
        return
    bad = ~np.all(np.isfinite(outputs.reshape(len(outputs), -1)), axis=-1)
    if bad.any():
        first = int(np.argmax(bad))
        raise UsageError(
            f"the model returned NaN or inf for {int(bad.sum())} of the "
            f"{len(outputs)} inputs of {path} (first: input {first}); "
            "nothing is printed for a broken answer. A quantised file may "
            "not handle these inputs: try the float32 export."
        )


def print_rows(path, outputs):
    """Prints a line about the file, then one comma-separated row of outputs
    per input (a matrix output flattened in C order).

    Raises:
        UsageError: an output holds NaN or inf.
    """
    outputs = np.asarray(outputs)
    check_finite_outputs(path, outputs)
    print(
        f"{path}: {len(outputs)} inputs -> outputs of shape "
        f"{outputs.shape[1:]}, one comma-separated row each"
    )
    for row in outputs.reshape(len(outputs), -1):
        print(", ".join(f"{value:.7g}" for value in row))


def is_classifier(outputs, class_names):
    """Whether a model's outputs are to be read as classes: it has class
    names, or its outputs are probabilities."""
    return class_names is not None or is_probabilities(outputs)


def check_uncertainty(args, outputs, class_names):
    """Raises `UsageError` for `--uncertainty` on a model that is no
    classifier."""
    if args.uncertainty and not is_classifier(outputs, class_names):
        raise UsageError(
            f"--uncertainty applies to classifiers; the outputs of "
            f"{args.name} (shape {np.shape(outputs)[1:]}) are not class "
            "probabilities."
        )


def print_outputs(path, outputs, class_names, top_k, uncertainty=None):
    """`print_top_k` for class probabilities (named by `class_names`, else
    numbered), `print_rows` for any other output."""
    if not is_classifier(outputs, class_names):
        return print_rows(path, outputs)
    names = class_names or [str(c) for c in range(np.shape(outputs)[-1])]
    print_top_k(path, outputs, names, top_k, uncertainty)


def print_top_k(path, probabilities, class_names, top_k, uncertainty=None):
    """Prints each image's `top_k` classes of a file's (n, C) probabilities.

    One line per image, `path` (or `path[i]` for a file of several images)
    then `name (probability)` in descending order; with `uncertainty` (a
    `keras_pmm.uq.predict_with_uncertainty` dict) then `| entropy H nats`
    and, where defined, `mutual information I nats`.

    Raises:
        UsageError: the probabilities hold NaN or inf.
    """
    check_finite_outputs(path, probabilities)
    top_k = min(top_k, len(class_names))
    for index, row in enumerate(probabilities):
        label = path if len(probabilities) == 1 else f"{path}[{index}]"
        best = np.argsort(-row)[:top_k]
        line = f"{label}: " + ", ".join(
            f"{class_names[c]} ({row[c]:.3f})" for c in best
        )
        if uncertainty is not None:
            line += " | " + ", ".join(
                f"{name} {uncertainty[key][index]:.3f} nats"
                for key, name in UNCERTAINTY_NAMES
                if key in uncertainty
            )
        print(line)


def file_uncertainty(outputs, primary="outputs"):
    """`print_top_k`'s uncertainty dict from a `.tflite` file's outputs: its
    own `entropy` and `mutual_information` (an exported ensemble or
    Bayesian model), or the entropy of the probabilities (output
    `primary`) of a plain model."""
    if "entropy" in outputs:
        uncertainty = {"total": outputs["entropy"]}
    else:
        p = outputs[primary]
        uncertainty = {
            "total": -np.sum(p * np.log(np.maximum(p, 1e-12)), axis=-1)
        }
    if "mutual_information" in outputs:
        uncertainty["epistemic"] = outputs["mutual_information"]
    return uncertainty


def predict(args):
    from keras_pmm.export.litert import TFLiteModel

    try:
        model = TFLiteModel(args.name)
    except (ModuleNotFoundError, FileNotFoundError, ValueError) as error:
        raise UsageError(error) from error
    if model.primary_output is None:
        raise UsageError(
            f"{args.name} has several outputs ({', '.join(model.output_names)}"
            ") and none named `outputs`; keras-pmm predict prints one."
        )
    shape = model.input_shape[1:]
    batches = [read_inputs(path, shape, args.invert) for path in args.files]
    for path, batch in zip(args.files, batches):
        try:
            outputs = model.predict_all(batch)
        except ValueError as error:
            raise UsageError(error) from error
        primary = outputs[model.primary_output]
        check_uncertainty(args, primary, model.class_names)
        uncertainty = (
            file_uncertainty(outputs, model.primary_output)
            if args.uncertainty
            else None
        )
        print_outputs(path, primary, model.class_names, args.top_k, uncertainty)
