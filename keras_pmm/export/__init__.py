"""Export PMMs to SavedModel, builtins-only TFLite/LiteRT and ONNX.

Three writers share one inference graph:

- `export_saved_model(model, path)`: a TensorFlow SavedModel folder with a
  `serving_default` signature (`inputs` -> `outputs`, dynamic batch),
  written by Keras' `ExportArchive`.
- `export_tflite(model, path, quantization=None, representative_data=None)`:
  a `.tflite` file from the LiteRT (TFLite) converter, float32 or quantised
  (`"float16"`, `"dynamic_int8"`, `"int8"`), whose every operator is a
  builtin (checked after writing, `tflite_ops.check_builtin_ops`).
- `export_onnx(model, path)`: an `.onnx` file from tf2onnx.

Outputs are named. A plain model has one, `outputs`. An uncertainty model
(one with a `serving_outputs` method) adds its own:

- `keras_pmm.uq.DeepEnsemble` classifier: `outputs` (mean class
  probabilities), `entropy` (predictive entropy, nats) and
  `mutual_information` (epistemic part, nats), each (batch,);
- `DeepEnsemble` regressor: `outputs` (mixture mean) and `std` (mixture
  standard deviation);
- `keras_pmm.uq.BayesianImagePMMClassifier`: its posterior-mean network,
  whatever its `inference` mode, with `outputs` and `entropy` (Monte-Carlo
  draws are random ops without TFLite builtins, and an export is
  deterministic). That loses the posterior's spread (exported
  `pmm_fashion_mnist_bayes`: OOD AUROC 0.747 against the card's 0.813):
  export `model.posterior_ensemble()` instead, its S seeded posterior
  draws as one `DeepEnsemble` graph with no random ops (`keras-pmm export
  NAME --posterior-draws S`), which keeps the card's figures.

The graph is the model traced by TensorFlow in an inference scope
(`keras_pmm._inference`) that changes two things and nothing else:

- every eigendecomposition of an input-dependent matrix uses the cyclic
  Jacobi solver (`keras_pmm.linalg.jacobi_eigh`, rounds in one loop), with
  the model's own weights: TensorFlow's `SelfAdjointEigV2` has no TFLite
  builtin, not even through select TF ops;
- every weight-only quantity (Hermitian matrices unpacked from packed
  weights, the decoders' spectral norms in the centring term) is computed
  once at export with the layer's own solver and stored as a constant.

`model` is a Keras model (any keras_pmm model class, or a functional or
Sequential model with one input built from keras_pmm and Keras layers) or a
preset name or trained folder (`keras_pmm.zoo.load`). Models with a
mixed-precision or float64 policy are exported in float32. Class names
travel inside the export, so that a model and its labels cannot part: the
metadata entry `class_names` of a `.tflite` file and the metadata property
`class_names` of an `.onnx` file (a JSON list), `labels.txt` inside a
SavedModel folder (one name per line); `read_labels(path)` reads any of them.

Backends: only TensorFlow can trace the graph. Under JAX or PyTorch the
writers save the model as a `.keras` file and run the same export in a
TensorFlow subprocess (`python -m keras_pmm.export._worker`); TensorFlow
must be installed (`pip install keras-pmm[tensorflow,export]`).

Every output path is checked (suffix, existing output, folder writable,
free space) before the model is loaded. Every write is atomic, and an
export that fails or is killed (even by `kill -9`) leaves nothing at the
target; an existing output is kept unless `overwrite=True`.

Example:
>>> from keras_pmm import export
>>> path = export.export_tflite("pmm_mnist", "pmm_mnist.tflite")  # doctest: +SKIP
>>> from keras_pmm.export.litert import TFLiteModel
>>> TFLiteModel(path).predict(images).argmax(-1)  # doctest: +SKIP
"""

import pathlib

import numpy as np

from keras_pmm import _registration
from keras_pmm.export import _files
from keras_pmm.export.tflite_ops import NotBuiltinError
from keras_pmm.export.tflite_ops import check_builtin_ops

QUANTIZATIONS = (None, "float16", "dynamic_int8", "int8")
INPUT_DTYPES = ("float32", "uint8")
FORMATS = ("saved_model", "tflite", "onnx")
SUFFIXES = {"saved_model": None, "tflite": ".tflite", "onnx": ".onnx"}
read_labels = _files.read_labels

__all__ = [
    "FORMATS",
    "INPUT_DTYPES",
    "QUANTIZATIONS",
    "ExportError",
    "NotBuiltinError",
    "check_builtin_ops",
    "export_model",
    "export_onnx",
    "export_saved_model",
    "export_tflite",
    "read_labels",
]


class ExportError(ValueError):
    """A model that cannot be exported; the message names the layer and why."""


def export_saved_model(
    model,
    path,
    *,
    input_dtype="float32",
    class_names=None,
    sweeps=None,
    overwrite=False,
):
    """Writes a TensorFlow SavedModel folder for serving.

    Its `serving_default` signature takes `inputs` of shape (batch, ...)
    with a dynamic batch (raw images (batch, 28, 28) for the image presets,
    (batch, p) features for the affine models) and returns `outputs`:
    class probabilities (batch, C) for a classifier, plus the uncertainty
    outputs of an uncertainty model (see the module docstring).

    Args:
        model: Keras model, preset name or trained preset folder.
        path: the folder to create.
        input_dtype: `"float32"` or `"uint8"` (raw pixels 0..255).
        class_names: names of the C classes; defaults to the preset's, or
            "0".."C-1" for a classifier, none for other models.
        sweeps: Jacobi sweeps; `keras_pmm.linalg.default_sweeps(n)` when
            None.
        overwrite: replace an existing folder.

    Returns:
        `pathlib.Path` of the folder.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.
        FileNotFoundError, PermissionError, OSError: the folder does not
            exist, cannot be written, or is (or runs) out of space.
        ExportError: a model that cannot be exported (multi-input, unbuilt,
            unknown input shape), with the reason.
    """
    return export_model(
        model,
        path,
        "saved_model",
        input_dtype=input_dtype,
        class_names=class_names,
        sweeps=sweeps,
        overwrite=overwrite,
    )


def export_tflite(
    model,
    path,
    quantization=None,
    representative_data=None,
    *,
    input_dtype="float32",
    class_names=None,
    sweeps=None,
    overwrite=False,
):
    """Writes a builtins-only `.tflite` file for LiteRT.

    The input's batch axis is resizable (`resize_tensor_input`). Quantisation
    (TFLite post-training quantisation):

    - `None`: float32 throughout;
    - `"float16"`: weights stored as float16, computed in float32;
    - `"dynamic_int8"`: weights of large dense kernels as int8, activations
      quantised on the fly (the PMM presets' kernels are below TFLite's
      1,024-element threshold, so the file barely changes);
    - `"int8"`: matrix products (`BATCH_MATMUL`, `FULLY_CONNECTED`,
      convolutions: the encoder's and the read-out's) with int8 weights and
      activations calibrated on `representative_data`; everything else
      stays float32: the whole Jacobi eigensolver loop (checked on every
      export: no quantise op inside it), the read-out's other arithmetic and
      the softmax, because the rotations' divisions and square roots have
      no usable int8 kernels (TFLite's int8 `DIV` rejects the zeros a
      converged rotation produces). Inputs keep `input_dtype`, outputs are
      float32. Inputs far outside the calibration data (one lit pixel, a
      saturated image) saturate the int8 ranges: their probabilities can
      differ from the float model's by up to 1 (pmm_mnist: 0.97), though
      they stay finite.

    A quantised file is run once on probe inputs (blank, one-pixel, one-row
    and saturated images for an image model, a zero input otherwise, and
    calibration samples) and refused if it returns NaN or inf where the
    Keras model does not.

    Args:
        model: Keras model, preset name or trained preset folder.
        path: the `.tflite` file to write.
        quantization: None, `"float16"`, `"dynamic_int8"` or `"int8"`.
        representative_data: inputs for int8 calibration (`"int8"` only),
            shaped like the model's inputs, in their raw units (a few
            hundred from the training split); integers 0..255 with
            `input_dtype="uint8"`.
        input_dtype, class_names, sweeps, overwrite: as in
            `export_saved_model`.

    Returns:
        `pathlib.Path` of the file.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.
        FileNotFoundError, PermissionError, OSError: the folder does not
            exist, cannot be written, or is (or runs) out of space.
        ValueError: unknown `quantization`, or calibration data missing
            or unfit (see `export_model`).
        ExportError: a model the converter cannot lower to builtins (the
            message names the ops and layers), or a quantised file that
            returns NaN/inf on a probe input or quantises inside the
            eigensolver loop.
        NotBuiltinError: a converted file with Flex/custom ops.
    """
    return export_model(
        model,
        path,
        "tflite",
        quantization=quantization,
        representative_data=representative_data,
        input_dtype=input_dtype,
        class_names=class_names,
        sweeps=sweeps,
        overwrite=overwrite,
    )


def export_onnx(
    model,
    path,
    *,
    input_dtype="float32",
    class_names=None,
    sweeps=None,
    overwrite=False,
):
    """Writes an `.onnx` file (tf2onnx, opset 17) for onnxruntime.

    The input `inputs` has a dynamic batch axis; the outputs are named as
    in the SavedModel (`outputs`, plus an uncertainty model's own).

    Args:
        model: Keras model, preset name or trained preset folder.
        path: the `.onnx` file to write.
        input_dtype, class_names, sweeps, overwrite: as in
            `export_saved_model`.

    Returns:
        `pathlib.Path` of the file.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.
        FileNotFoundError, PermissionError, OSError: the folder does not
            exist, cannot be written, or is (or runs) out of space.
        ExportError: a model that cannot be exported, with the reason.
    """
    return export_model(
        model,
        path,
        "onnx",
        input_dtype=input_dtype,
        class_names=class_names,
        sweeps=sweeps,
        overwrite=overwrite,
    )


def export_model(
    model,
    path,
    format,
    *,
    quantization=None,
    representative_data=None,
    input_dtype="float32",
    class_names=None,
    sweeps=None,
    overwrite=False,
):
    """`export_saved_model`, `export_tflite` or `export_onnx` by `format`.

    The one function every writer, the CLI and the export worker call: it
    checks every option before loading TensorFlow or the model.

    Args:
        format: `"saved_model"`, `"tflite"` or `"onnx"`.
        quantization, representative_data: as in `export_tflite` (TFLite
            only).
        model, path, input_dtype, class_names, sweeps, overwrite: as in
            `export_saved_model`.

    Returns:
        `pathlib.Path` of the file or folder written.

    Raises:
        ValueError: an unknown `format`, `input_dtype` or `quantization`;
            quantisation outside TFLite; `"int8"` without
            `representative_data`, or `representative_data` with another
            quantisation; calibration data that are empty, not finite, not
            numbers, shaped unlike the model's inputs, or (for
            `input_dtype="uint8"`) not integers in 0..255.
        FileExistsError, ExportError, NotBuiltinError: as in the writers.
    """
    if format not in FORMATS:
        raise ValueError(
            f"`format` must be one of {FORMATS}. Received: format={format!r}"
        )
    if input_dtype not in INPUT_DTYPES:
        raise ValueError(
            f"`input_dtype` must be one of {INPUT_DTYPES}. Received: "
            f"input_dtype={input_dtype!r}"
        )
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"`quantization` must be one of {QUANTIZATIONS}. Received: "
            f"quantization={quantization!r}"
        )
    if format != "tflite" and quantization is not None:
        raise ValueError(f"Quantisation applies to TFLite only, not {format}.")
    representative_data = _calibration_data(
        representative_data, quantization, input_dtype
    )
    path = _files.check_output(
        path, overwrite, SUFFIXES[format], _files.source_bytes(model)
    )
    if sweeps is not None:
        from keras_pmm import _validation

        sweeps = _validation.check_positive_int(sweeps, "sweeps")
    import keras

    options = dict(
        quantization=quantization,
        input_dtype=input_dtype,
        class_names=class_names,
        sweeps=sweeps,
    )
    if not isinstance(model, (str, pathlib.Path, keras.Model)):
        raise TypeError(
            "`model` must be a keras.Model, a preset name or a preset "
            f"folder. Received: {type(model).__name__}"
        )
    if keras.backend.backend() != "tensorflow":
        from keras_pmm.export import _subprocess

        _subprocess.export(model, path, format, representative_data, **options)
        return path
    from keras_pmm.export import _tensorflow

    model, options["class_names"] = _resolve(model, class_names)
    _tensorflow.export(model, path, format, representative_data, **options)
    return path


def _calibration_data(data, quantization, input_dtype):
    """`representative_data` checked and cast to `input_dtype` (int8
    calibration feeds it to the graph's input), or None."""
    if quantization != "int8":
        if data is not None:
            raise ValueError(
                "`representative_data` calibrates quantization='int8' only. "
                f"Received it with quantization={quantization!r}."
            )
        return None
    if data is None:
        raise ValueError(
            "quantization='int8' needs `representative_data`: a few hundred "
            "inputs from the training split, to calibrate the int8 ranges."
        )
    data = np.asarray(data)
    if data.dtype.kind not in "biuf":
        raise ValueError(
            "`representative_data` must be real numbers. Received: dtype="
            f"{data.dtype}"
        )
    if data.ndim < 2 or len(data) == 0:
        raise ValueError(
            "`representative_data` must be a non-empty batch of inputs, "
            f"(samples, ...). Received: shape={data.shape}"
        )
    if not np.all(np.isfinite(data)):
        raise ValueError("`representative_data` contains NaN or inf.")
    if input_dtype == "uint8" and (
        data.min() < 0 or data.max() > 255 or np.any(data != np.round(data))
    ):
        raise ValueError(
            "With input_dtype='uint8', `representative_data` must be raw "
            "pixels: integers 0..255. Received values in "
            f"[{data.min()}, {data.max()}]."
        )
    return data.astype(input_dtype)


def _resolve(model, class_names):
    """(Keras model, class names or None) from a model or a preset."""
    import keras

    preset_names = None
    if isinstance(model, (str, pathlib.Path)):
        from keras_pmm import zoo
        from keras_pmm.zoo import storage

        name = str(model)
        if name in zoo.PRESETS:
            preset_names = list(zoo.PRESETS[name].data.class_names)
        else:
            folder = pathlib.Path(name).expanduser()
            info = (
                storage.read_metadata(folder)
                if (folder / storage.METADATA_FILE).is_file()
                else {}
            )
            preset_names = info.get("class_names")
        model = zoo.load(name)
    if not isinstance(model, keras.Model):
        raise TypeError(
            "`model` must be a keras.Model, a preset name or a preset "
            f"folder. Received: {type(model).__name__}"
        )
    names = class_names if class_names is not None else preset_names
    num_classes = getattr(model, "num_classes", None)
    if names is None and num_classes is not None:
        names = [str(c) for c in range(num_classes)]
    if names is not None:
        names = [str(n) for n in names]
        if any("\n" in n for n in names):
            raise ValueError("Class names cannot contain line breaks.")
        if num_classes is not None and len(names) != num_classes:
            raise ValueError(
                f"`class_names` has {len(names)} names for {num_classes} "
                "classes."
            )
    return model, names


# Complete now: register the Keras classes if Keras came in mid-import.
_registration.register_when_keras_loads(finished=__name__)
