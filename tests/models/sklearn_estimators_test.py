"""PMMSKLearnRegressor / PMMSKLearnClassifier in scikit-learn's tools."""

import numpy as np
import pytest
from sklearn import base
from sklearn import model_selection

from keras_pmm import models


def _regression(samples=90, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (samples, 2))
    return x, np.sin(x[:, 0]) + 0.5 * x[:, 1] ** 2


def test_grid_search_sees_the_pmm_parameters():
    x = np.linspace(-2, 2, 90)[:, None]
    y = np.sin(2 * x[:, 0])
    search = model_selection.GridSearchCV(
        models.PMMSKLearnRegressor(epochs=100, batch_size=16, seed=0),
        {"n": [2, 4]},
        cv=model_selection.KFold(3, shuffle=True, random_state=0),
    ).fit(x, y)
    assert list(search.cv_results_["param_n"]) == [2, 4]
    # Two levels cannot follow 2.5 periods (R^2 about 0 on JAX); four do
    # (about 0.75 after these 400 steps).
    assert search.best_params_ == {"n": 4}
    assert search.best_score_ > 0.5, search.cv_results_["mean_test_score"]
    best = search.best_estimator_
    assert best.model_.n == search.best_params_["n"] and best.model_.adapted
    assert best.predict(x[:5]).shape == (5,)


def test_cross_val_score_is_repeatable_with_a_seed():
    x, y = _regression(60)
    estimator = models.PMMSKLearnRegressor(n=3, epochs=5, seed=3)
    first = model_selection.cross_val_score(estimator, x, y, cv=2)
    second = model_selection.cross_val_score(estimator, x, y, cv=2)
    np.testing.assert_array_equal(first, second)
    assert first.shape == (2,)


def test_clone_keeps_every_parameter_and_multi_output_works():
    estimator = models.PMMSKLearnRegressor(n=3, rank=1, epochs=2, verbose=0)
    clone = base.clone(estimator)
    assert clone.get_params() == estimator.get_params()
    x, y = _regression(40)
    targets = np.stack([y, -y], axis=1)
    assert clone.fit(x, targets).predict(x).shape == (40, 2)
    assert clone.model_.num_outputs == 2 and clone.model_.rank == 1


def test_classifier_learns_string_labels():
    x, _ = _regression(120)
    labels = np.where(x[:, 0] > 0, "right", "left")
    estimator = models.PMMSKLearnClassifier(n=3, epochs=60, seed=0)
    estimator.fit(x, labels)
    assert set(estimator.classes_) == {"left", "right"}
    assert estimator.score(x, labels) > 0.9
    probabilities = estimator.decision_function(x)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)


def test_model_and_fit_dicts_are_refused():
    with pytest.raises(ValueError, match="Invalid parameter 'fit_kwargs'"):
        models.PMMSKLearnRegressor().set_params(fit_kwargs={"epochs": 3})
    with pytest.raises(ValueError, match="estimator parameters"):
        models.PMMSKLearnRegressor().model_kwargs = {"n": 3}
