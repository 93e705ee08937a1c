"""Uncertainty models through SavedModel, TFLite and ONNX.

A deep ensemble exports its mean with the predictive entropy and mutual
information (classification) or the mixture standard deviation
(regression); a Bayesian PMM exports its posterior-mean network with its
entropy. Each file is compared with the Keras model on the running backend
(exported in one TensorFlow subprocess under JAX and PyTorch).
"""

import keras
import numpy as np
import pytest

from keras_pmm import _cli_litert
from keras_pmm import export
from keras_pmm.export import tflite_ops
from keras_pmm.export.litert import TFLiteModel
from keras_pmm.models import ImagePMMClassifier
from keras_pmm.models import PMMRegressor
from keras_pmm.uq import BayesianImagePMMClassifier
from keras_pmm.uq import DeepEnsemble
from keras_pmm.uq import metrics
from tests.models.model_cases import features
from tests.models.model_cases import images

# Every format on the TensorFlow leg. JAX and PyTorch write the same files
# in a TensorFlow subprocess, so there the TFLite file alone checks that path
# (the models load in the worker, and match this backend's Keras outputs).
FORMATS = (
    ("saved_model", "tflite", "onnx")
    if keras.backend.backend() == "tensorflow"
    else ("tflite",)
)
SUFFIX = {"saved_model": "", "tflite": ".tflite", "onnx": ".onnx"}


def _image_members():
    return ImagePMMClassifier(
        3, image_shape=(8, 8), block_shape=(4, 4), n=3, name="member"
    )


def _models():
    keras.utils.set_random_seed(0)
    classifier = DeepEnsemble(_image_members(), num_members=3, seed=0)
    regressor = DeepEnsemble(
        PMMRegressor(num_outputs=2, n=4), num_members=2, seed=1
    )
    bayes = BayesianImagePMMClassifier(
        3,
        image_shape=(8, 8),
        block_shape=(4, 4),
        n=3,
        num_samples=4,
        posterior_scale=0.3,  # draws far apart, so sampling would show
        seed=2,
    )
    x_images, x_features = images(8, 8, 8), features(8, 1)
    return {
        "ensemble_classifier": (classifier, x_images),
        "ensemble_regressor": (regressor, x_features),
        "bayes": (bayes, x_images),
    }


def _expected(model, x):
    """The named outputs computed from the Keras model on this backend."""
    if isinstance(model, BayesianImagePMMClassifier):
        model.inference = "mean"
        try:
            mean = np.asarray(model.predict(x, verbose=0))
        finally:
            model.inference = "sample"
        return {"outputs": mean, "entropy": metrics.predictive_entropy(mean)}
    if model.task == "regression":
        moments = model.predict(x, verbose=0)
        return {
            "outputs": moments["mean"],
            "std": np.sqrt(moments["variance"]),
        }
    model.predict(x, verbose=0)  # builds the ensemble itself
    members = model.predict_members(x)
    return {
        "outputs": members.mean(0),
        "entropy": metrics.predictive_entropy(members.mean(0)),
        "mutual_information": metrics.mutual_information(members),
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{name: (model, x, expected outputs, {format: path})}."""
    folder = tmp_path_factory.mktemp("uq_exported")
    results, jobs = {}, []
    options = dict(
        quantization=None, input_dtype="float32", class_names=None, sweeps=None
    )
    for name, (model, x) in _models().items():
        expected = _expected(model, x)
        paths = {f: folder / f"{name}{SUFFIX[f]}" for f in FORMATS}
        jobs += [(model, paths[f], f, None, options) for f in FORMATS]
        results[name] = (model, x, expected, paths)
    if keras.backend.backend() == "tensorflow":
        for model, path, format, _, options in jobs:
            export.export_model(model, path, format, **options)
    else:  # what export_model does on JAX and PyTorch, for all at once
        from keras_pmm.export import _subprocess

        _subprocess.run_jobs(jobs)
    return results


def _run(format, path, x):
    x = np.asarray(x, "float32")
    if format == "tflite":
        return TFLiteModel(path).predict_all(x)
    if format == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path))
        names = [output.name for output in session.get_outputs()]
        return dict(zip(names, session.run(names, {"inputs": x})))
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    return {k: v.numpy() for k, v in serve(inputs=tf.constant(x)).items()}


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize(
    "name", ["ensemble_classifier", "ensemble_regressor", "bayes"]
)
def test_named_outputs_match_keras(exported, name, format):
    _, x, expected, paths = exported[name]
    outputs = _run(format, paths[format], x)
    assert sorted(outputs) == sorted(expected)
    for key, value in expected.items():
        assert outputs[key].shape == value.shape, key
        np.testing.assert_allclose(
            outputs[key], value, atol=1e-4, rtol=1e-4, err_msg=key
        )


def test_bayesian_export_is_the_posterior_mean_not_a_draw(exported):
    model, x, expected, paths = exported["bayes"]
    sampled = np.asarray(model.predict(x, verbose=0))  # Monte-Carlo mean
    assert np.abs(sampled - expected["outputs"]).max() > 1e-3
    assert model.inference == "sample"  # the export left it as it was
    ops = {op for op, _ in tflite_ops.read_ops(paths["tflite"].read_bytes())}
    assert not any("RANDOM" in op for op in ops)


def test_tflite_reads_outputs_by_name_and_the_cli_prints_them(exported):
    _, x, expected, paths = exported["ensemble_classifier"]
    model = TFLiteModel(paths["tflite"])
    assert model.output_names == ["entropy", "mutual_information", "outputs"]
    np.testing.assert_allclose(model.predict(x), expected["outputs"], atol=1e-4)
    assert model.class_names == ["0", "1", "2"]
    uncertainty = _cli_litert.file_uncertainty(model.predict_all(x))
    np.testing.assert_allclose(
        uncertainty["epistemic"], expected["mutual_information"], atol=1e-4
    )
    plain = _cli_litert.file_uncertainty({"outputs": expected["outputs"]})
    np.testing.assert_allclose(plain["total"], expected["entropy"], atol=1e-6)
    assert "epistemic" not in plain
