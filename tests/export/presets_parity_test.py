"""Every shipped preset's exports against Keras on its full test set.

Marked `large`, on the TensorFlow leg only (see the skip reason; that the
shipped weights give the same predictions on every backend is
`tests/zoo/zoo_test.py`'s full-test-set check, and the subprocess export of
JAX and PyTorch is checked on small models in `export_test.py`).
`benchmarks/export_bench.py` reports the same figures with latencies.
"""

import keras
import numpy as np
import pytest

from keras_pmm import export
from keras_pmm import zoo
from keras_pmm.export.litert import TFLiteModel
from tests.export.export_test import edge_images
from tests.export.export_test import run_onnx
from tests.export.export_test import run_saved_model

# The uncertainty presets (those with a single `baseline`) export more
# outputs and cost M times the eigensolves: their own test below.
TRAINED = [
    name
    for name in zoo.list()
    if zoo.metadata(name)["trained"]
    and not zoo.PRESETS[name].baseline
    and zoo.PRESETS[name].kind == "image"
]
UNCERTAINTY = [
    name
    for name in zoo.list()
    if zoo.metadata(name)["trained"] and zoo.PRESETS[name].baseline
]
ONE_BACKEND = (
    "JAX and PyTorch cannot trace the export graph: on those backends "
    "keras_pmm.export writes these files in a TensorFlow subprocess, so they "
    "are the files this test checks on the TensorFlow leg"
)


def run_in_batches(function, x, size=1000):
    return np.concatenate(
        [function(x[i : i + size]) for i in range(0, len(x), size)]
    )


def accuracy(probabilities, labels):
    return float(np.mean(probabilities.argmax(-1) == labels))


@pytest.mark.large
@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason=ONE_BACKEND)
@pytest.mark.parametrize("name", TRAINED)
def test_float32_tflite_matches_keras_on_the_full_test_set(
    name, data_dir, tmp_path
):
    _, (x_test, y_test) = zoo.PRESETS[name].data.load(data_dir)
    model = zoo.load(name)
    reference = model.predict(x_test, batch_size=1000, verbose=0)
    path = export.export_tflite(name, tmp_path / f"{name}.tflite")
    runner = TFLiteModel(path, num_threads=2)
    outputs = np.concatenate(
        [
            runner.predict(x_test[i : i + 1000])
            for i in range(0, len(x_test), 1000)
        ]
    )
    assert np.abs(outputs - reference).max() <= 1e-4
    keras_accuracy = np.mean(reference.argmax(-1) == y_test)
    tflite_accuracy = np.mean(outputs.argmax(-1) == y_test)
    assert abs(tflite_accuracy - keras_accuracy) <= 0.0005  # 0.05 points
    assert runner.class_names == list(zoo.PRESETS[name].data.class_names)


@pytest.mark.large
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="JAX and PyTorch cannot trace the export graph: on those backends "
    "keras_pmm.export writes these files in a TensorFlow subprocess, so they "
    "are the files this test checks on the TensorFlow leg (the float32 "
    "TFLite parity above runs on every backend)",
)
@pytest.mark.parametrize("name", TRAINED)
def test_every_format_and_quantization_on_the_full_test_set(
    name, data_dir, tmp_path
):
    preset = zoo.PRESETS[name]
    (x_train, _), (x_test, y_test) = preset.data.load(data_dir)
    x_test = x_test.astype("float32")
    model = zoo.load(name)
    reference = model.predict(x_test, batch_size=1000, verbose=0)
    keras_accuracy = accuracy(reference, y_test)
    # Blank, one-pixel, one-row, saturated: NaN in float16 files (issue 31).
    edges = edge_images(*x_test.shape[1:]).astype("float32")
    edge_reference = model.predict(edges, verbose=0)
    assert np.isfinite(edge_reference).all()

    saved_model = export.export_saved_model(name, tmp_path / "saved_model")
    outputs = run_in_batches(lambda x: run_saved_model(saved_model, x), x_test)
    assert np.abs(outputs - reference).max() <= 1e-4
    assert abs(accuracy(outputs, y_test) - keras_accuracy) <= 0.0005
    edge_outputs = run_saved_model(saved_model, edges)
    assert np.abs(edge_outputs - edge_reference).max() <= 1e-4

    onnx = export.export_onnx(name, tmp_path / "m.onnx")
    outputs = run_in_batches(lambda x: run_onnx(onnx, x), x_test)
    assert np.abs(outputs - reference).max() <= 1e-4
    assert abs(accuracy(outputs, y_test) - keras_accuracy) <= 0.0005
    assert np.abs(run_onnx(onnx, edges) - edge_reference).max() <= 1e-4

    rng = np.random.default_rng(0)
    representative = x_train[rng.choice(len(x_train), 300, replace=False)]
    # int8's ranges come from the calibration images: a lone pixel or a
    # saturated image lies far outside them and saturates the int8 encoder
    # (pmm_mnist: |p - p_Keras| up to 0.97 there), so int8 answers for the
    # edge images are only required to be probabilities.
    # dynamic_int8 quantises the weights of the hybrid presets' convolutions:
    # up to 0.05 of probability on the edge images (pmm_hybrid_mnist 0.048,
    # pmm_hybrid_fashion_mnist 0.022; the pure PMMs stay below 5e-3).
    for quantization, tolerance, edge_tolerance in [
        ("float16", 0.003, 5e-3),
        ("dynamic_int8", 0.003, 0.06),
        ("int8", 0.01, None),  # the target: within 1 point
    ]:
        path = export.export_tflite(
            name,
            tmp_path / f"{quantization}.tflite",
            quantization,
            representative_data=(
                representative if quantization == "int8" else None
            ),
        )
        runner = TFLiteModel(path, num_threads=2)
        outputs = run_in_batches(runner.predict, x_test)
        difference = abs(accuracy(outputs, y_test) - keras_accuracy)
        assert difference <= tolerance, (quantization, difference)
        edge_outputs = runner.predict(edges)
        assert np.isfinite(edge_outputs).all(), quantization
        np.testing.assert_allclose(edge_outputs.sum(-1), 1.0, atol=1e-3)
        if edge_tolerance is not None:
            difference = np.abs(edge_outputs - edge_reference).max()
            assert difference <= edge_tolerance, (quantization, difference)


def keras_uncertainty_outputs(model, x):
    """What an uncertainty preset's export should return, from Keras: mean
    probabilities, entropy, and an ensemble's mutual information."""
    from keras_pmm import uq

    if isinstance(model, uq.DeepEnsemble):
        members = model.predict_members(x, batch_size=1000)
        expected = {
            "outputs": members.mean(0),
            "mutual_information": uq.mutual_information(members),
        }
    else:
        model.inference = "mean"
        expected = {"outputs": model.predict(x, 1000, verbose=0)}
    expected["entropy"] = uq.predictive_entropy(expected["outputs"])
    return expected


@pytest.mark.large
@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason=ONE_BACKEND)
@pytest.mark.parametrize("name", UNCERTAINTY)
def test_uncertainty_preset_exports_mean_and_entropy(name, data_dir, tmp_path):
    """Float32 TFLite of an ensemble or Bayesian preset on 2,000 test
    images: its mean probabilities, entropy (and an ensemble's mutual
    information) against Keras; a Bayesian preset exports its posterior-mean
    network."""
    _, (x_test, y_test) = zoo.PRESETS[name].data.load(data_dir)
    x_test, y_test = x_test[:2000], y_test[:2000]
    expected = keras_uncertainty_outputs(zoo.load(name), x_test)
    path = export.export_tflite(name, tmp_path / f"{name}.tflite")
    runner = TFLiteModel(path, num_threads=2)
    assert runner.output_names == sorted(expected)
    outputs = {
        key: np.concatenate(
            [
                runner.predict_all(x_test[i : i + 1000])[key]
                for i in range(0, len(x_test), 1000)
            ]
        )
        for key in expected
    }
    for key, value in expected.items():
        assert np.abs(outputs[key] - value).max() <= 1e-4, key
    agreement = np.mean(
        outputs["outputs"].argmax(-1) == expected["outputs"].argmax(-1)
    )
    assert agreement >= 0.9995
    assert (
        abs(
            accuracy(outputs["outputs"], y_test)
            - accuracy(expected["outputs"], y_test)
        )
        <= 0.0005
    )


@pytest.mark.large
@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason=ONE_BACKEND)
@pytest.mark.parametrize("name", UNCERTAINTY)
def test_uncertainty_preset_float16_is_finite_on_edge_images(name, tmp_path):
    """Issue 31: the float16 files of the ensemble and Bayes presets
    returned NaN for blank and one-row images (floors of 1e-12 stored as 0).
    Every output against Keras."""
    edges = edge_images(28, 28).astype("float32")
    expected = keras_uncertainty_outputs(zoo.load(name), edges)
    path = export.export_tflite(name, tmp_path / "f16.tflite", "float16")
    outputs = TFLiteModel(path).predict_all(edges)
    assert sorted(outputs) == sorted(expected)
    for key, value in expected.items():
        assert np.isfinite(value).all() and np.isfinite(outputs[key]).all()
        assert np.abs(outputs[key] - value).max() <= 1e-2, key
