"""`predict_with_uncertainty` on every model kind, and its errors."""

import numpy as np
import pytest

from keras_pmm.models import ImagePMMClassifier
from keras_pmm.models import PMMClassifier
from keras_pmm.models import PMMRegressor
from keras_pmm.uq import BayesianImagePMMClassifier
from keras_pmm.uq import DeepEnsemble
from keras_pmm.uq import SplitConformalClassifier
from keras_pmm.uq import SplitConformalRegressor
from keras_pmm.uq import mutual_information
from keras_pmm.uq import predict_with_uncertainty
from keras_pmm.uq import predictive_entropy

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3)).astype("float32")
Y_CLASS = (X[:, 0] > 0).astype("int32")
Y_REG = (X[:, :1] ** 2).astype("float32")


def test_ensemble_classifier_splits_total_into_epistemic_and_aleatoric():
    ensemble = DeepEnsemble(
        PMMClassifier(num_classes=2, n=4), num_members=3, seed=0
    )
    result = predict_with_uncertainty(ensemble, X)
    assert sorted(result) == ["aleatoric", "epistemic", "mean", "total"]
    np.testing.assert_allclose(
        result["mean"], ensemble.predict(X, verbose=0), atol=1e-6
    )
    members = ensemble.predict_members(X)
    np.testing.assert_allclose(
        result["total"], predictive_entropy(members.mean(0)), atol=1e-9
    )
    np.testing.assert_allclose(
        result["epistemic"], mutual_information(members), atol=1e-9
    )
    np.testing.assert_allclose(
        result["aleatoric"], result["total"] - result["epistemic"], atol=1e-9
    )
    assert np.all(result["epistemic"] >= 0)
    assert np.all(result["total"] <= np.log(2) + 1e-9)


def test_plain_classifier_has_entropy_and_a_conformal_set():
    model = PMMClassifier(num_classes=2, n=4)
    conformal = SplitConformalClassifier(model, alpha=0.2).calibrate(X, Y_CLASS)
    result = predict_with_uncertainty(model, X, conformal=conformal)
    assert sorted(result) == ["mean", "set", "total"]
    assert result["set"].shape == (40, 2) and result["set"].dtype == bool
    np.testing.assert_array_equal(result["set"], conformal.predict_set(X))


def test_gaussian_ensemble_variance_decomposes_and_gives_intervals():
    ensemble = DeepEnsemble(
        PMMRegressor(n=4, num_outputs=2), num_members=3, seed=1
    )
    result = predict_with_uncertainty(ensemble, X)
    prediction = ensemble.predict(X, verbose=0)
    np.testing.assert_allclose(result["mean"], prediction["mean"], atol=1e-6)
    np.testing.assert_allclose(
        result["total"], prediction["variance"], rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(
        result["total"], result["epistemic"] + result["aleatoric"], atol=1e-9
    )
    conformal = SplitConformalRegressor(
        ensemble, alpha=0.1, score="normalized"
    ).calibrate(X, Y_REG)
    lower, upper = predict_with_uncertainty(ensemble, X, conformal)["interval"]
    _, expected_lower, expected_upper = conformal.predict_interval(X)
    np.testing.assert_allclose(lower, expected_lower, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(upper, expected_upper, rtol=1e-4, atol=1e-4)


def test_plain_regressor_has_only_the_mean_and_interval():
    model = PMMRegressor(n=4)
    conformal = SplitConformalRegressor(model, alpha=0.1).calibrate(X, Y_REG)
    result = predict_with_uncertainty(model, X, conformal)
    assert sorted(result) == ["interval", "mean"]
    lower, upper = result["interval"]
    np.testing.assert_allclose(upper - lower, 2 * conformal.quantile, rtol=1e-5)


def test_bayesian_model_reports_its_posterior_disagreement():
    model = BayesianImagePMMClassifier(
        3,
        n=4,
        hamiltonian_size=3,
        num_samples=4,
        seed=0,
        posterior_scale=0.3,
    )
    images = RNG.integers(0, 256, size=(6, 28, 28)).astype("uint8")
    result = predict_with_uncertainty(model, images)
    assert result["mean"].shape == (6, 3)
    np.testing.assert_allclose(result["mean"].sum(-1), 1.0, rtol=1e-5)
    assert np.all(result["epistemic"] > 0)  # the draws disagree


def test_errors_are_clear():
    model = ImagePMMClassifier(3, n=4, hamiltonian_size=3)
    images = np.zeros((2, 28, 28), "uint8")
    with pytest.raises(TypeError, match="Keras model"):
        predict_with_uncertainty(object(), images)
    with pytest.raises(TypeError, match="calibrated"):
        predict_with_uncertainty(model, images, conformal="aps")
    with pytest.raises(ValueError, match="not calibrated"):
        predict_with_uncertainty(model, images, SplitConformalClassifier(model))
    with pytest.raises(ValueError, match="SplitConformalRegressor"):
        predict_with_uncertainty(
            PMMRegressor(n=4),
            X,
            SplitConformalClassifier(None).calibrate_from_predictions(
                [0, 1], np.eye(2)
            ),
        )


def _sequential(units, activation=None):
    import keras

    return keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(units, activation=activation)]
    )


def test_any_keras_softmax_classifier_is_read_as_a_classifier():
    model = _sequential(4, "softmax")
    result = predict_with_uncertainty(model, X)
    assert sorted(result) == ["mean", "total"]
    np.testing.assert_allclose(
        result["mean"], model.predict(X, verbose=0), atol=1e-6
    )
    np.testing.assert_allclose(
        result["total"], predictive_entropy(result["mean"]), atol=1e-9
    )
    conformal = SplitConformalClassifier(model, alpha=0.2).calibrate(X, Y_CLASS)
    with_sets = predict_with_uncertainty(model, X, conformal)
    np.testing.assert_array_equal(with_sets["set"], conformal.predict_set(X))
    # Asked for, the same model's output is a regression's mean.
    assert sorted(predict_with_uncertainty(model, X, kind="regression")) == [
        "mean"
    ]


def test_kind_of_a_model_without_probabilities():
    logits = _sequential(4)
    assert sorted(predict_with_uncertainty(logits, X)) == ["mean"]
    with pytest.raises(ValueError, match="logits"):
        predict_with_uncertainty(logits, X, kind="classification")
    with pytest.raises(ValueError, match="SplitConformalClassifier"):
        predict_with_uncertainty(
            logits,
            X,
            SplitConformalRegressor(None).calibrate_from_predictions(
                [0.0], [0.0]
            ),
            kind="classification",
        )
    with pytest.raises(ValueError, match="kind"):
        predict_with_uncertainty(logits, X, kind="probabilities")
    with pytest.raises(ValueError, match="a classification model"):
        predict_with_uncertainty(
            PMMClassifier(num_classes=2, n=4), X, kind="regression"
        )


def test_a_model_with_several_outputs_is_refused_clearly():
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(
        inputs,
        [keras.layers.Dense(2)(inputs), keras.layers.Dense(1)(inputs)],
    )
    with pytest.raises(ValueError, match="has 2 outputs"):
        predict_with_uncertainty(model, X)
