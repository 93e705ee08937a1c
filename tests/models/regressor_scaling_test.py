"""PMMRegressor's input and target scaling, and FeatureScaling."""

import keras
import numpy as np
import pytest
from sklearn import preprocessing

from keras_pmm import layers
from keras_pmm import models
from keras_pmm.uq import DeepEnsemble
from tests.test_case import to_numpy


def _data(samples=64, seed=0):
    """Features far from [0, 1] and targets far from zero mean/unit scale."""
    rng = np.random.default_rng(seed)
    x = rng.uniform([-50, 100], [50, 400], (samples, 2)).astype("float32")
    y = 1000 + 30 * np.sin(x[:, :1] / 20) + x[:, 1:] / 10
    return x, y.astype("float32")


@pytest.mark.parametrize(
    "mode,options,reference",
    [
        ("minmax", {}, preprocessing.MinMaxScaler()),
        (
            "minmax",
            dict(feature_range=(-1, 1)),
            preprocessing.MinMaxScaler((-1, 1)),
        ),
        ("standard", {}, preprocessing.StandardScaler()),
    ],
)
def test_feature_scaling_matches_scikit_learn(mode, options, reference):
    x, _ = _data()
    x[:, 1] = 7.0  # a constant feature keeps scale 1
    layer = layers.FeatureScaling(mode, **options)
    # Adapting batch by batch gives the one-pass statistics.
    layer.adapt([x[:10], x[10:40], x[40:]])
    expected = reference.fit_transform(x)
    np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=2e-5)
    np.testing.assert_allclose(to_numpy(layer.inverse(layer(x))), x, atol=1e-3)
    assert layer.adapted


def test_feature_scaling_rejects_bad_data():
    layer = layers.FeatureScaling()
    with pytest.raises(ValueError, match="NaN or inf"):
        layer.adapt(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="at least one sample"):
        layer.adapt(np.zeros((0, 2)))
    layer.adapt(np.ones((4, 2)))
    with pytest.raises(ValueError, match="built for 2 features.*have 3"):
        layer.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="mode='robust'"):
        layers.FeatureScaling("robust")
    with pytest.raises(ValueError, match="a < b"):
        layers.FeatureScaling(feature_range=(1, 1))


def test_fit_adapts_and_predict_returns_target_units():
    x, y = _data(256)
    keras.utils.set_random_seed(0)
    model = models.PMMRegressor(n=4, r=2)
    assert not model.adapted
    model.fit(x, y, epochs=100, batch_size=32, verbose=0)
    assert model.adapted
    # Inputs go to [-1, 1], targets to [0, 1].
    np.testing.assert_allclose(
        to_numpy(model.input_scaler(x)).min(0), -1.0, atol=1e-6
    )
    np.testing.assert_allclose(
        to_numpy(model.input_scaler(x)).max(0), 1.0, atol=1e-6
    )
    np.testing.assert_allclose(
        to_numpy(model.target_scaler.scale), np.ptp(y, 0), rtol=1e-6
    )
    predictions = model.predict(x, verbose=0)
    # Predicting the targets' mean scores an RMSE of std(y), about 23; the
    # fitted models score 1.5-8.5 over seeds and backends (R^2 > 0.85).
    rmse = float(np.sqrt(np.mean((predictions - y) ** 2)))
    assert rmse < 0.45 * np.std(y), rmse
    # The loss is the MSE of min-max-scaled targets; MAE is in target units.
    loss, mae = model.evaluate(x, y, verbose=0, batch_size=256)
    scale = np.ptp(y)
    np.testing.assert_allclose(
        loss, np.mean(((predictions - y) / scale) ** 2), rtol=1e-3
    )
    np.testing.assert_allclose(mae, np.mean(np.abs(predictions - y)), rtol=1e-3)


def test_scaling_is_saved_and_a_second_fit_keeps_it(tmp_path):
    x, y = _data()
    model = models.PMMRegressor(n=3, r=1, input_scaling="standard")
    model.fit(x, y, epochs=1, verbose=0)
    offset = to_numpy(model.input_scaler.offset)
    model.fit(x + 100, y, epochs=1, verbose=0)  # no refit of the statistics
    np.testing.assert_array_equal(to_numpy(model.input_scaler.offset), offset)
    path = tmp_path / "regressor.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.adapted and loaded.input_scaling == "standard"
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-4
    )


def test_scaling_can_be_switched_off():
    x, y = _data()
    model = models.PMMRegressor(n=3, input_scaling=None, target_scaling=None)
    model.fit(x / 100, y / 1000, epochs=1, verbose=0)
    assert model.input_scaler is None and model.target_scaler is None
    assert len(model.non_trainable_weights) == 0


def test_wrong_target_columns_are_refused():
    x, y = _data()
    model = models.PMMRegressor(num_outputs=2, n=3)
    with pytest.raises(ValueError, match=r"targets shaped \(N, 2\).*\(64, 1\)"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"\(N, 1\) or \(N,\).*\(64, 2\)"):
        models.PMMRegressor(n=3).fit(x, np.hstack([y, y]), verbose=0)
    model.adapt(x)  # inputs only: the target scaling is the identity
    np.testing.assert_array_equal(to_numpy(model.target_scaler.scale), 1.0)
    np.testing.assert_array_equal(to_numpy(model.target_scaler.offset), 0.0)
    assert model.adapted


def test_ensemble_members_adapt_to_the_training_data():
    x, y = _data()
    ensemble = DeepEnsemble(
        models.PMMRegressor(num_outputs=2, n=3), num_members=2, seed=0
    )
    ensemble.fit(x, y, epochs=1, verbose=0)
    for member in ensemble.members:  # inputs scaled, mean/variance heads not
        assert member.adapted
        np.testing.assert_allclose(
            to_numpy(member.input_scaler(x)).min(0), -1.0, atol=1e-6
        )
        np.testing.assert_array_equal(to_numpy(member.target_scaler.scale), 1)


def test_adapt_reads_a_generator_for_the_given_steps():
    x, y = _data()

    def batches():
        while True:  # endless, as Keras generators often are
            yield x[:32], y[:32]
            yield x[32:], y[32:]

    model = models.PMMRegressor(n=3)
    with pytest.raises(ValueError, match="pass `steps`"):
        model.adapt(batches())
    model.adapt(batches(), steps=2)
    np.testing.assert_allclose(
        to_numpy(model.target_scaler.offset), y.min(0), rtol=1e-6
    )
    history = model.fit(batches(), steps_per_epoch=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_raw_eigenvalue_outputs_are_eigenvalues_of_the_primary_matrix():
    """`eigenvalue_map=None`: the outputs are the r lowest eigenvalues of
    H(x) (target scaling off), checked against NumPy."""
    model = models.PMMRegressor(
        num_outputs=2,
        n=4,
        r=2,
        readout="eigenvalue",
        eigenvalue_map=None,
        input_scaling=None,
        target_scaling=None,
    )
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    outputs = keras.ops.convert_to_numpy(model(x))
    hamiltonians = keras.ops.convert_to_numpy(model.primary(x))
    expected = np.linalg.eigvalsh(hamiltonians.astype("float64"))[:, :2]
    np.testing.assert_allclose(outputs, expected, rtol=1e-5, atol=1e-5)
    assert model.count_params() == 4 * 10
    clone = models.PMMRegressor.from_config(model.get_config())
    assert clone.eigenvalue_map is None
    with pytest.raises(ValueError, match="num_outputs == r"):
        models.PMMRegressor(
            num_outputs=1, r=2, readout="eigenvalue", eigenvalue_map=None
        )
    with pytest.raises(ValueError, match="eigenvalue_map"):
        models.PMMRegressor(eigenvalue_map="linear")
