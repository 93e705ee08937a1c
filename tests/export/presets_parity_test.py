"""Every shipped preset's exports against Keras on its full test set.

Marked `large`. The float32 TFLite file is checked on every backend; the
other formats and quantisations on the TensorFlow leg (see the skip reason).
`benchmarks/export_bench.py` reports the same figures with latencies.
"""

import keras
import numpy as np
import pytest

from keras_pmm import export
from keras_pmm import zoo
from keras_pmm.export.litert import TFLiteModel
from tests.export.export_test import run_onnx
from tests.export.export_test import run_saved_model

# The uncertainty presets' export (mean and entropy outputs, a Bayesian
# preset's posterior-mean network) is still to come: a Bayesian preset's
# Monte-Carlo draws are random ops without TFLite builtins (`export_tflite`
# raises ExportError naming them), and an ensemble exports its mean only.
TRAINED = [
    name
    for name in zoo.list()
    if zoo.metadata(name)["trained"] and not zoo.PRESETS[name].baseline
]


def run_in_batches(function, x, size=1000):
    return np.concatenate(
        [function(x[i : i + size]) for i in range(0, len(x), size)]
    )


def accuracy(probabilities, labels):
    return float(np.mean(probabilities.argmax(-1) == labels))


@pytest.mark.large
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
    reference = zoo.load(name).predict(x_test, batch_size=1000, verbose=0)
    keras_accuracy = accuracy(reference, y_test)

    saved_model = export.export_saved_model(name, tmp_path / "saved_model")
    outputs = run_in_batches(lambda x: run_saved_model(saved_model, x), x_test)
    assert np.abs(outputs - reference).max() <= 1e-4
    assert abs(accuracy(outputs, y_test) - keras_accuracy) <= 0.0005

    onnx = export.export_onnx(name, tmp_path / "m.onnx")
    outputs = run_in_batches(lambda x: run_onnx(onnx, x), x_test)
    assert np.abs(outputs - reference).max() <= 1e-4
    assert abs(accuracy(outputs, y_test) - keras_accuracy) <= 0.0005

    rng = np.random.default_rng(0)
    representative = x_train[rng.choice(len(x_train), 300, replace=False)]
    for quantization, tolerance in [
        ("float16", 0.003),
        ("dynamic_int8", 0.003),
        ("int8", 0.01),  # the target: within 1 point
    ]:
        path = export.export_tflite(
            name,
            tmp_path / f"{quantization}.tflite",
            quantization,
            representative_data=representative,
        )
        runner = TFLiteModel(path, num_threads=2)
        outputs = run_in_batches(runner.predict, x_test)
        difference = abs(accuracy(outputs, y_test) - keras_accuracy)
        assert difference <= tolerance, (quantization, difference)
