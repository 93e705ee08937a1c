"""The TensorFlow side of the export: the one place that imports TensorFlow.

Every format is written from a TensorFlow graph of the model traced under
`keras_pmm._inference.InferenceScope` (Jacobi eigensolves, weight-only
quantities as constants): a SavedModel through Keras' `ExportArchive`, a
`.tflite` through the LiteRT (TFLite) converter reading that SavedModel,
and an `.onnx` file through tf2onnx reading the same graph. Only the
TensorFlow backend can trace this graph; `keras_pmm.export` runs this module
in a TensorFlow subprocess when another backend is active.
"""

import contextlib
import os
import pathlib
import re
import sys
import tempfile
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_pmm import _inference
from keras_pmm.export import ExportError
from keras_pmm.export import _files
from keras_pmm.export import tflite_ops

# Ops that int8 quantisation may make integer: the matrix products (the
# encoders' and the read-outs'). Everything else stays float32: the Jacobi
# loop (divisions, square roots, selects; checked by `check_float_loops`),
# the read-outs' other arithmetic and the softmax.
INT8_OPS = frozenset(
    {
        "BATCH_MATMUL",
        "FULLY_CONNECTED",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "MAX_POOL_2D",
        "AVERAGE_POOL_2D",
    }
)


def _evaluate_eagerly(compute):
    with tf.init_scope():
        return np.asarray(keras.ops.convert_to_numpy(compute()))


def _symbolic_inputs(model):
    """The `keras.Input`s of a functional or Sequential model, else None."""
    try:
        return list(model.inputs) or None
    except (AttributeError, ValueError):
        return None


def _built_input_shape(model):
    """The input shape a built subclassed model was built with, or None."""
    if not model.built:
        return None
    return (model.get_build_config() or {}).get("input_shape")


def input_spec(model, input_dtype):
    """The serving input (batch dynamic): images or (batch, p) features."""
    members = getattr(model, "members", None)
    if members:  # a keras_pmm.uq.DeepEnsemble takes its members' inputs
        return input_spec(members[0], input_dtype)
    image_shape = getattr(model, "image_shape", None)
    inputs = None if image_shape is not None else _symbolic_inputs(model)
    built_shape = _built_input_shape(model)
    if image_shape is not None:
        shape = (None,) + tuple(image_shape)
    elif inputs is not None:
        if len(inputs) != 1:
            raise ExportError(
                f"Only single-input models can be exported. {model.name} has "
                f"{len(inputs)} inputs."
            )
        shape = (None,) + tuple(inputs[0].shape[1:])
    elif model.built and hasattr(
        getattr(model, "primary", None), "num_features"
    ):
        shape = (None, model.primary.num_features)
    elif built_shape is not None:
        shape = (None,) + tuple(built_shape[1:])
    else:
        raise ExportError(
            f"Cannot tell the input shape of {type(model).__name__}: build it "
            "(call it on a batch) before exporting."
        )
    if any(d is None for d in shape[1:]):
        raise ExportError(
            f"Only the batch axis may be unknown on export. Input shape of "
            f"{model.name}: {shape}"
        )
    return tf.TensorSpec(shape, tf.as_dtype(input_dtype), name="inputs")


def float32_model(model):
    """`model` itself when it computes in float32, else a float32 copy.

    Mixed-precision and float64 models are rebuilt from their config with a
    float32 policy and given the same weights (cast to float32): Keras
    exports float32 graphs, and the TFLite quantisers start from one.
    """
    policies = {layer.dtype_policy.name for layer in model._flatten_layers()}
    if policies == {"float32"}:
        return model

    def to_float32(config):
        if isinstance(config, dict):
            if config.get("class_name") == "DTypePolicy" or (
                config.get("class_name") == "FloatDTypePolicy"
            ):
                return {**config, "config": {"name": "float32"}}
            return {k: to_float32(v) for k, v in config.items()}
        if isinstance(config, list):
            return [to_float32(v) for v in config]
        return config

    config = to_float32(keras.saving.serialize_keras_object(model))
    config.pop("compile_config", None)
    clone = keras.saving.deserialize_keras_object(config)
    if not clone.built:
        clone.build(model.inputs[0].shape if model.inputs else None)
    clone.set_weights([np.asarray(w, "float32") for w in model.get_weights()])
    return clone


def check_real(model, format):
    """Raises `ExportError` for complex arithmetic, which TFLite and ONNX
    lack: layers with `field="complex"` or complex inputs."""
    inner_first = list(model._flatten_layers(include_self=False)) + [model]
    for layer in inner_first:
        if getattr(layer, "field", None) == "complex":
            raise ExportError(
                f"Layer {layer.name!r} ({type(layer).__name__}) uses "
                "field='complex': TFLite and ONNX have no builtins for "
                f"complex arithmetic, so it cannot be exported to {format}. "
                "Export it as a SavedModel, or use field='real'."
            )
    for tensor in getattr(model, "inputs", None) or []:
        if "complex" in str(tensor.dtype):
            raise ExportError(
                f"{model.name} takes complex inputs ({tensor.dtype}), which "
                f"{format} cannot represent."
            )


def serving_outputs(model, inputs):
    """The serving signature's named outputs: `model.serving_outputs` where
    the model defines it (uncertainty models: mean plus entropy or std),
    else `{"outputs": model(inputs)}`."""
    if hasattr(model, "serving_outputs"):
        return dict(model.serving_outputs(inputs))
    outputs = model(inputs, training=False)
    if isinstance(outputs, dict):
        raise ExportError(
            f"{model.name} returns a dict ({sorted(outputs)}); define "
            "`serving_outputs(inputs)` on it to name the exported outputs."
        )
    return {"outputs": outputs}


def _serving_function(model):
    return tf.function(
        lambda inputs: serving_outputs(model, inputs), autograph=False
    )


def write_saved_model(model, path, input_dtype="float32", sweeps=None):
    """Writes the inference SavedModel of a float32 `model` to `path`."""
    spec = input_spec(model, input_dtype)
    archive = keras.export.ExportArchive()
    archive.track(model)
    with _inference.InferenceScope(_evaluate_eagerly, sweeps=sweeps):
        archive.add_endpoint(
            "serve", _serving_function(model), input_signature=[spec]
        )
        archive.write_out(str(path), verbose=False)


def _converter(saved_model):
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter


@contextlib.contextmanager
def _quiet():
    """Silences the converter's C++ prints and its deprecation warnings.

    The LiteRT converter and quantiser print diagnostics from C++ straight to
    the process's stdout and stderr; their errors also reach Python as
    exceptions, which are reported.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved + [null]:
            os.close(fd)


def _convert(converter):
    try:
        with _quiet():
            return converter.convert()
    except Exception as error:  # the converter raises ConverterError
        text = str(error)
        ops = sorted(set(re.findall(r"'tf\.(\w+)'", text)))
        if not ops:
            raise
        layers = sorted(
            set(re.findall(r'"[^"/]*/([^"/@]+)/[^"/@]*@', text)) - {""}
        )
        raise ExportError(
            "The model needs TensorFlow ops that TFLite has no builtin for: "
            + ", ".join(ops)
            + (f" (in layers {', '.join(layers)})" if layers else "")
            + ". Diagonalise through keras_pmm.linalg.eigh (it switches to "
            "the Jacobi solver on export) and avoid these ops."
        ) from None


def _float_ops(saved_model):
    return {
        op for op, _ in tflite_ops.read_ops(_convert(_converter(saved_model)))
    }


def convert_tflite(saved_model, quantization=None, representative_data=None):
    """Bytes of the `.tflite` converted from an inference SavedModel.

    `representative_data` (for `"int8"`) is in the SavedModel's input dtype
    (`keras_pmm.export` casts it): the calibration feeds it to the graph.
    """
    converter = _converter(saved_model)
    if quantization is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantization != "int8":
        return _convert(converter)
    samples = np.asarray(representative_data)

    def representative_dataset():
        for sample in samples:
            yield [sample[None]]

    converter.representative_dataset = representative_dataset
    # Selective int8: TFLite's quantisation debugger keeps every op but the
    # matrix products in float32 (a denylist by op type).
    options = tf.lite.experimental.QuantizationDebugOptions(
        denylisted_ops=sorted(_float_ops(saved_model) - INT8_OPS)
    )
    with _quiet():
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter,
            debug_dataset=representative_dataset,
            debug_options=options,
        )
    with _quiet():
        content = debugger.get_nondebug_quantized_model()
    check_float_loops(content)
    return content


def check_float_loops(content):
    """Raises `ExportError` if an int8 file quantises inside a loop.

    The Jacobi eigensolver is the graph's only loop (`WHILE`, its body and
    condition are subgraphs of their own); int8 quantisation must leave it
    in float32 (no `QUANTIZE`/`DEQUANTIZE`, no integer-quantised tensors),
    as `export_tflite` documents.
    """
    quantised = sorted(
        {
            f"{op} in {subgraph}"
            for subgraph, ops in tflite_ops.read_subgraphs(content)[1:]
            for op, dtype in ops
            if op in ("QUANTIZE", "DEQUANTIZE") or dtype in ("INT8", "UINT8")
        }
    )
    if quantised:
        raise ExportError(
            "int8 quantisation reached the Jacobi eigensolver's loop ("
            + ", ".join(quantised)
            + "); the loop must stay float32. Export with "
            "quantization='float16' or 'dynamic_int8' instead."
        )


def probe_images(height, width):
    """(4, height, width) float32: blank, one lit pixel, one lit row, and
    a saturated image, in raw pixel values 0..255."""
    probes = np.zeros((4, height, width), "float32")
    probes[1, height // 2, width // 2] = 255
    probes[2, height // 2, :] = 255
    probes[3] = 255
    return probes


def probe_inputs(spec, representative_data=None):
    """Inputs that a quantised file must handle like the Keras model: the
    probe images for (batch, H, W) inputs, zeros otherwise, and up to 8
    calibration samples."""
    shape = tuple(spec.shape[1:])
    if len(shape) == 2:
        probes = probe_images(*shape)
    else:
        probes = np.zeros((1,) + shape, "float32")
    if representative_data is not None:
        probes = np.concatenate(
            [probes, np.asarray(representative_data[:8], "float32")]
        )
    return probes.astype(spec.dtype.as_numpy_dtype)


def check_finite_outputs(content, model, spec, representative_data=None):
    """Raises `ExportError` where the converted file returns NaN or inf on
    a probe input (`probe_inputs`) that the Keras model maps to finite
    outputs: quantisation must not turn a floor or an epsilon into 0."""
    from ai_edge_litert.interpreter import Interpreter

    probes = probe_inputs(spec, representative_data)
    expected = {
        name: np.asarray(value)
        for name, value in serving_outputs(
            model, tf.constant(probes, spec.dtype)
        ).items()
    }
    interpreter = Interpreter(model_content=content)
    runner = interpreter.get_signature_runner()
    (input_name,) = runner.get_input_details()
    outputs = runner(**{input_name: probes})
    for name, value in expected.items():
        value = value.reshape(len(probes), -1)
        got = np.asarray(outputs[name]).reshape(len(probes), -1)
        broken = np.isfinite(value).all(-1) & ~np.isfinite(got).all(-1)
        if broken.any():
            raise ExportError(
                f"The converted model returns NaN or inf in {name!r} for "
                f"probe inputs {np.flatnonzero(broken).tolist()} where the "
                "Keras model's outputs are finite (probes: blank, one-pixel, "
                "one-row and saturated images for an image model, else a "
                "zero input; then calibration samples). A floor or epsilon "
                "of the model does not survive this quantisation."
            )


def onnx_bytes(model, input_dtype="float32", sweeps=None, opset=17):
    """Bytes of the ONNX model tf2onnx converts from the inference graph."""
    import tf2onnx

    spec = input_spec(model, input_dtype)
    with _inference.InferenceScope(_evaluate_eagerly, sweeps=sweeps):
        proto, _ = tf2onnx.convert.from_function(
            _serving_function(model), input_signature=[spec], opset=opset
        )
    return proto.SerializeToString()


def export(
    model,
    path,
    format,
    representative_data=None,
    quantization=None,
    input_dtype="float32",
    class_names=None,
    sweeps=None,
):
    """Writes `model` to `path` in `format` (see `keras_pmm.export`)."""
    if not model.built:
        raise ExportError(
            f"{model.name} is not built: call it on a batch (or train it) "
            "before exporting, so that it has its weights."
        )
    if format != "saved_model":
        check_real(model, format)
    model = float32_model(model)
    spec = input_spec(model, input_dtype)
    if representative_data is not None and (
        tuple(representative_data.shape[1:]) != tuple(spec.shape[1:])
    ):
        raise ValueError(
            "`representative_data` must be shaped like the model's inputs, "
            f"(samples,) + {tuple(spec.shape[1:])}. Received: shape="
            f"{representative_data.shape}"
        )
    if format == "saved_model":
        _files.write_folder(
            path,
            lambda folder: write_saved_model(
                model, folder, input_dtype=input_dtype, sweeps=sweeps
            ),
            class_names,
        )
    elif format == "tflite":
        with tempfile.TemporaryDirectory() as folder:
            saved_model = pathlib.Path(folder) / "saved_model"
            write_saved_model(
                model, saved_model, input_dtype=input_dtype, sweeps=sweeps
            )
            content = convert_tflite(
                saved_model, quantization, representative_data
            )
        tflite_ops.check_builtin_ops(content)
        if quantization is not None:
            check_finite_outputs(content, model, spec, representative_data)
        input_scale = _input_scale(model)
        if input_scale is not None:
            content = _files.tflite_with_pixel_range(content, 1 / input_scale)
        _files.write_file(path, content, class_names)
    else:
        content = onnx_bytes(model, input_dtype=input_dtype, sweeps=sweeps)
        _files.write_file(path, content, class_names)


def _input_scale(model):
    """An image model's `input_scale` (raw pixels times it are the 0..1
    intensities; an ensemble's members' own), or None."""
    members = getattr(model, "members", None)
    model = members[0] if members else model
    scale = getattr(model, "input_scale", None)
    return None if scale is None else float(scale)
