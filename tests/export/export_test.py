"""Every layer type and model class through SavedModel, TFLite and ONNX.

The models are exported once per module (in one TensorFlow subprocess under
JAX and PyTorch, in process under TensorFlow) and each file is compared with
the Keras model's own predictions on the running backend. The image cases
include the inputs where numeric floors fail (blank, one-pixel, one-row and
saturated images), in every quantisation mode.
"""

import dataclasses
import functools

import keras
import numpy as np
import pytest

from keras_pmm import export
from keras_pmm import layers
from keras_pmm import models
from keras_pmm.export import tflite_ops
from keras_pmm.export.litert import TFLiteModel
from tests.export import unconvertible_layer
from tests.models.model_cases import MODEL_CASES
from tests.models.model_cases import features
from tests.models.model_cases import images
from tests.test_case import random_hermitian

BY_NAME = {case.name: case for case in MODEL_CASES}


def _functional_matrix_model():
    inputs = keras.Input((3, 3))
    h = layers.MatrixInputHermitian(n=4, name="hermitian")(inputs)
    outputs = layers.EigenvalueReadout(r=2, units=2, name="readout")(h)
    return keras.Model(inputs, outputs)


def _sequential_affine_model():
    return keras.Sequential(
        [
            keras.Input((3,)),
            layers.AffineHermitian(4, name="hermitian"),
            layers.ObservableReadout(
                2, 2, decoder="expectation", name="readout"
            ),
        ]
    )


def edge_images(height, width):
    """Blank, one lit pixel, one lit row, saturated: uint8 images on which
    a floor or epsilon that a dtype cannot hold gives NaN (issue 31)."""
    edges = np.zeros((4, height, width), "uint8")
    edges[1, height // 2, width // 2] = 255
    edges[2, height // 2, :] = 255
    edges[3] = 255
    return edges


def images_and_edges(batch, height, width):
    return np.concatenate(
        [images(batch, height, width), edge_images(height, width)]
    )


def _adapted_regressor():
    """A regressor whose input and target scaling are far from identity."""
    case = BY_NAME["regressor_observable"]
    model = case.make()
    model.adapt(3 * case.x + 1, 10 * features(8, 2) - 2)
    return model


@dataclasses.dataclass
class ExportCase:
    name: str
    make: callable
    x: np.ndarray
    formats: tuple = ("saved_model", "tflite", "onnx")
    quantizations: tuple = ()  # TFLite quantisations to check as well
    input_dtype: str = "float32"  # of every exported file
    atol: float = 1e-4
    eigensolves: int = 1  # input-dependent eigensolves (WHILE loops)


CASES = [
    ExportCase(
        "regressor",  # the scaling statistics travel with the files
        _adapted_regressor,
        BY_NAME["regressor_observable"].x,
        atol=1e-3,  # targets span about 20
    ),
    ExportCase(
        "classifier", BY_NAME["classifier"].make, BY_NAME["classifier"].x
    ),
    ExportCase(
        "regressor_low_rank",
        BY_NAME["regressor_low_rank_standard_scaling"].make,
        BY_NAME["regressor_low_rank_standard_scaling"].x,
        formats=("tflite",),
    ),
    ExportCase(
        "image_classifier_deskew",
        BY_NAME["image_classifier_deskew"].make,
        images_and_edges(8, 8, 8),
        quantizations=("float16", "dynamic_int8", "int8"),
    ),
    ExportCase(
        "hybrid_classifier",  # raw uint8 pixels in, int8 calibrated on them
        BY_NAME["hybrid_classifier"].make,
        images_and_edges(8, 8, 8),
        quantizations=("float16", "int8"),
        input_dtype="uint8",
    ),
    ExportCase(
        "image_classifier_mixed_float16",
        functools.partial(
            models.ImagePMMClassifier,
            3,
            image_shape=(8, 8),
            block_shape=(4, 4),
            n=3,
            dtype="mixed_float16",
        ),
        images(8, 8, 8),
        formats=("tflite",),  # exported in float32 like any other model
        atol=2e-3,  # the Keras model computes its encoder in float16
    ),
    ExportCase(
        "functional_matrix_input",
        _functional_matrix_model,
        random_hermitian((8, 3, 3)),
        formats=("tflite", "onnx"),
    ),
    ExportCase(
        "matrix_function",
        BY_NAME["matrix_function"].make,
        BY_NAME["matrix_function"].x,
        formats=("saved_model", "tflite"),
        atol=1e-3,  # exp of eigenvalues up to about 10
    ),
    ExportCase(
        "sequential_affine",
        _sequential_affine_model,
        features(8, 3),
        formats=("saved_model", "tflite"),
    ),
]


def _variants(case):
    for format in case.formats:
        yield format, None
    for quantization in case.quantizations:
        yield "tflite", quantization


def _file_name(case, format, quantization):
    suffix = {"saved_model": "", "tflite": ".tflite", "onnx": ".onnx"}
    return f"{case.name}_{quantization or 'float32'}{suffix[format]}"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{case name: (model, keras outputs, {(format, quantization): path})}."""
    folder = tmp_path_factory.mktemp("exported")
    results, jobs = {}, []
    for case in CASES:
        keras.utils.set_random_seed(0)
        model = case.make()
        reference = np.asarray(model.predict(case.x, verbose=0), "float32")
        paths = {}
        for format, quantization in _variants(case):
            path = folder / _file_name(case, format, quantization)
            paths[format, quantization] = path
            options = dict(
                quantization=quantization,
                input_dtype=case.input_dtype,
                class_names=None,
                sweeps=None,
            )
            representative = case.x if quantization == "int8" else None
            jobs.append((model, path, format, representative, options))
        results[case.name] = (model, reference, paths)
    if keras.backend.backend() == "tensorflow":
        for model, path, format, representative, options in jobs:
            export.export_model(
                model,
                path,
                format,
                representative_data=representative,
                **options,
            )
    else:  # what export_model does on JAX and PyTorch, for all at once
        from keras_pmm.export import _subprocess

        _subprocess.run_jobs(jobs)
    return results


def run_saved_model(path, x):
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    return serve(inputs=tf.constant(x))["outputs"].numpy()


def run_onnx(path, x):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path))
    return session.run(["outputs"], {session.get_inputs()[0].name: x})[0]


def run_file(format, path, x, dtype="float32"):
    x = np.asarray(x, dtype)
    if format == "saved_model":
        return run_saved_model(path, x)
    if format == "onnx":
        return run_onnx(path, x)
    return TFLiteModel(path).predict(x)


def _float32_cases():
    return [
        (case, format)
        for case in CASES
        for format, quantization in _variants(case)
        if quantization is None
    ]


@pytest.mark.parametrize(
    "case,format",
    _float32_cases(),
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_float32_export_matches_keras(exported, case, format):
    model, reference, paths = exported[case.name]
    path = paths[format, None]
    outputs = run_file(format, path, case.x, case.input_dtype)
    assert outputs.shape == reference.shape
    np.testing.assert_allclose(outputs, reference, atol=case.atol, rtol=1e-4)
    # One input of the batch alone gives the same result (dynamic batch).
    single = run_file(format, path, case.x[3:4], case.input_dtype)
    np.testing.assert_allclose(single[0], reference[3], atol=case.atol)


@pytest.mark.parametrize(
    "case,quantization",
    [(c, q) for c in CASES for q in c.quantizations],
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_quantized_tflite_agrees_with_keras(exported, case, quantization):
    _, reference, paths = exported[case.name]
    path = paths["tflite", quantization]
    outputs = TFLiteModel(path).predict(case.x.astype(case.input_dtype))
    assert outputs.shape == reference.shape
    assert np.isfinite(reference).all()
    assert np.isfinite(outputs).all()  # blank and one-row images included
    np.testing.assert_allclose(outputs.sum(-1), 1.0, atol=1e-3)
    tolerance = {"float16": 5e-3, "dynamic_int8": 1e-4, "int8": 0.1}
    assert np.abs(outputs - reference).max() < tolerance[quantization]
    if quantization == "int8":  # matrix products in int8, the rest float
        ops = {op for op, _ in tflite_ops.read_ops(path.read_bytes())}
        assert {"QUANTIZE", "DEQUANTIZE"} <= ops


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if "int8" in c.quantizations],
    ids=lambda c: c.name,
)
def test_int8_quantizes_matrix_products_only_and_no_jacobi_loop_op(
    exported, case
):
    """What export_tflite and the README promise: int8 matrix products, the
    Jacobi loop (the WHILE's condition and body subgraphs) all float32."""
    path = exported[case.name][2]["tflite", "int8"]
    (main, main_ops), *loops = tflite_ops.read_subgraphs(path.read_bytes())
    assert main == "main" and len(loops) == 2 * case.eigensolves
    int8_ops = {op for op, dtype in main_ops if dtype == "INT8"}
    assert {"QUANTIZE", "BATCH_MATMUL"} <= int8_ops
    assert int8_ops <= {"QUANTIZE", "BATCH_MATMUL", "FULLY_CONNECTED"} | {
        "CONV_2D",
        "MAX_POOL_2D",
    }
    for name, ops in loops:
        assert ops, name
        assert not {op for op, _ in ops} & {"QUANTIZE", "DEQUANTIZE"}, name
        quantised = {dtype for _, dtype in ops} & {"INT8", "UINT8", "INT16"}
        assert not quantised, name


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_tflite_is_builtins_only_with_weight_only_work_folded(exported, case):
    _, _, paths = exported[case.name]
    content = paths["tflite", None].read_bytes()
    names = tflite_ops.check_builtin_ops(content)
    assert not any("SelfAdjointEig" in name for name in names)
    ops = [op for op, _ in tflite_ops.read_ops(content)]
    # One Jacobi loop per input-dependent eigensolve: the decoders' spectral
    # norms (the centring term) are constants, not diagonalised per input.
    assert ops.count("WHILE") == case.eigensolves


def test_class_names_travel_with_the_files(exported):
    _, _, paths = exported["image_classifier_deskew"]
    for (format, _), path in paths.items():
        assert export.read_labels(path) == ["0", "1", "2", "3"], format
    _, _, paths = exported["regressor"]
    assert export.read_labels(paths["tflite", None]) is None


def test_exported_saved_model_has_a_dynamic_batch_serving_signature(exported):
    import tensorflow as tf

    _, _, paths = exported["image_classifier_deskew"]
    serve = tf.saved_model.load(str(paths["saved_model", None])).signatures[
        "serving_default"
    ]
    spec = serve.structured_input_signature[1]["inputs"]
    assert spec.shape.as_list() == [None, 8, 8]


def test_cases_cover_every_public_layer_and_model_class(exported):
    covered = set()
    for model, _, _ in exported.values():
        covered.update(
            type(layer).__name__ for layer in model._flatten_layers()
        )
    assert set(layers.__all__) <= covered
    bases = {"PMMTask", "PMMClassifierTask"}  # abstract
    # scikit-learn estimators: they export their fitted `model_`.
    bases |= {"PMMSKLearnRegressor", "PMMSKLearnClassifier"}
    assert set(models.__all__) - bases <= covered


def test_uint8_input_files_take_raw_pixels(exported):
    """The hybrid case's files (input_dtype="uint8"), whose outputs match
    Keras in the tests above; `--quantize int8 --input-dtype uint8` failed
    ("expected type UINT8") when calibration fed float32."""
    import onnxruntime

    _, _, paths = exported["hybrid_classifier"]
    for quantization in (None, "float16", "int8"):
        runner = TFLiteModel(paths["tflite", quantization])
        assert runner.input_dtype == np.uint8, quantization
    session = onnxruntime.InferenceSession(str(paths["onnx", None]))
    assert session.get_inputs()[0].type == "tensor(uint8)"


def test_quantized_file_that_returns_nan_is_refused(tmp_path):
    """A 1e-12 floor is 0 in a float16 file: 0 / 0 on a zero input. The
    export runs the file on probe inputs and refuses it, naming the probe."""
    with pytest.raises(export.ExportError, match="NaN or inf.*\\[0\\]"):
        export.export_tflite(
            unconvertible_layer.floored_model(),
            tmp_path / "m.tflite",
            "float16",
        )
    assert not list(tmp_path.iterdir())


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(b"precious")
    model = _sequential_affine_model()
    with pytest.raises(FileExistsError, match="overwrite"):
        export.export_tflite(model, path)
    assert path.read_bytes() == b"precious"
    export.export_tflite(model, path, overwrite=True)
    assert tflite_ops.check_builtin_ops(path.read_bytes())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


PIXELS = np.zeros((2, 8, 8), "float32")


@pytest.mark.parametrize(
    "arguments,match",
    [
        (dict(quantization="int4"), "quantization.*'int4'"),
        (dict(quantization="bogus"), "quantization.*'bogus'"),
        (dict(quantization="int8"), "needs `representative_data`"),
        (
            dict(quantization="float16", representative_data=PIXELS),
            "int8' only.*'float16'",
        ),
        (
            dict(quantization="int8", representative_data=PIXELS[:0]),
            "non-empty",
        ),
        (
            dict(quantization="int8", representative_data=PIXELS + np.nan),
            "NaN",
        ),
        (
            dict(quantization="int8", representative_data=PIXELS.astype(str)),
            "real numbers",
        ),
        (
            dict(
                quantization="int8",
                representative_data=PIXELS - 1,
                input_dtype="uint8",
            ),
            "integers 0..255.*-1",
        ),
        (
            dict(
                quantization="int8",
                representative_data=PIXELS + 0.5,
                input_dtype="uint8",
            ),
            "integers 0..255",
        ),
        (dict(input_dtype="int32"), "input_dtype"),
        (dict(sweeps=0), "sweeps"),
    ],
)
def test_bad_arguments_raise_before_any_work(tmp_path, arguments, match):
    """`export_model` (what the CLI and the export worker call) checks what
    `export_tflite` checks; the model is a string that would fail to load."""
    with pytest.raises(ValueError, match=match):
        export.export_model(
            "no such model", tmp_path / "m.tflite", "tflite", **arguments
        )
    with pytest.raises(ValueError, match=match):
        export.export_tflite(
            _sequential_affine_model(), tmp_path / "m.tflite", **arguments
        )
    with pytest.raises(ValueError, match=".tflite"):
        export.export_tflite(_sequential_affine_model(), tmp_path / "m.onnx")


def test_calibration_data_shaped_unlike_the_inputs_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\(samples,\) \+ \(3,\)"):
        export.export_tflite(
            _sequential_affine_model(),
            tmp_path / "m.tflite",
            "int8",
            representative_data=PIXELS,
        )
    assert not list(tmp_path.iterdir())


def test_complex_field_is_refused_naming_the_layer(tmp_path):
    model = models.PMMRegressor(n=3, readout="eigenvalue", field="complex")
    model.predict(features(2, 3), verbose=0)
    with pytest.raises(export.ExportError, match="'primary'.*complex"):
        export.export_tflite(model, tmp_path / "m.tflite")


def test_op_without_builtin_is_refused_naming_op_and_layer(tmp_path):
    model = unconvertible_layer.model()
    with pytest.raises(
        export.ExportError, match="SelfAdjointEigV2.*direct_eigh"
    ):
        export.export_tflite(model, tmp_path / "m.tflite")
    assert not (tmp_path / "m.tflite").exists()


def test_builtins_check_names_flex_ops_and_their_layer():
    # A .tflite converted with select TF ops (the Flex delegate) on purpose;
    # tf.function and the converter work under any Keras backend.
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec((None, 2, 2), tf.float32)])
    def determinant(x):
        with tf.name_scope("model"), tf.name_scope("odd_layer"):
            return tf.linalg.det(x) + 1.0  # det's output keeps its name

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [determinant.get_concrete_function()]
    )
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS,
        tf.lite.OpsSet.SELECT_TF_OPS,
    ]
    content = converter.convert()
    with pytest.raises(
        export.NotBuiltinError, match="FlexMatrixDeterminant.*'odd_layer'"
    ):
        export.check_builtin_ops(content)


def test_tflite_image_models_refuse_pixels_outside_their_range(exported):
    """Issue 31, item 6: a float32 `.tflite` image model took standardised
    or 16-bit pixels without a word; it records its raw pixel range in its
    metadata (`pixel_range`) and `TFLiteModel` checks it."""
    model, _, paths = exported["image_classifier_deskew"]
    litert = TFLiteModel(paths["tflite", None])
    assert litert.pixel_range == [0.0, 255.0]
    x = images(2, 8, 8).astype("float32")
    assert np.all(np.isfinite(litert.predict(x)))
    with pytest.raises(ValueError, match=r"raw pixels in 0\.\.255.*-1"):
        litert.predict(x - 128.0)
    with pytest.raises(ValueError, match=r"0\.\.255.*65535"):
        litert.predict(x * 257.0)
    plain = TFLiteModel(exported["classifier"][2]["tflite", None])
    assert plain.pixel_range is None  # not an image model: no range
