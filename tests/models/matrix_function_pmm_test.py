"""MatrixFunctionPMM, its loss and metric, and the matrix-function data."""

import keras
import numpy as np
import pytest
import scipy.linalg

from keras_pmm import datasets
from keras_pmm import models
from keras_pmm.models.matrix_function_pmm import RelativeL1
from keras_pmm.models.matrix_function_pmm import WithinTolerance
from keras_pmm.models.matrix_function_pmm import count_parameters
from keras_pmm.models.matrix_function_pmm import relative_l1_error
from tests.test_case import to_numpy

SCIPY = {
    "exp": scipy.linalg.expm,
    "sign": scipy.linalg.signm,
    "sin": scipy.linalg.sinm,
    "cos": scipy.linalg.cosm,
}


def _small(**kwargs):
    return models.MatrixFunctionPMM(
        **{"size": 3, "hidden_units": (8,), "eigenvalue_scale": 10.0, **kwargs}
    )


def _random_orthogonal(size, rng):
    q, r = np.linalg.qr(rng.normal(size=(size, size)))
    return q * np.sign(np.diag(r))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"n": 5, "share_projection": False},
        {"hidden_units": ()},
        {"hidden_units": (4, 4), "output_transform": "tanh"},
    ],
)
def test_shapes_symmetry_and_parameter_count(kwargs):
    model = _small(**kwargs)
    x, _ = datasets.matrix_function_data("exp", 3, 6, seed=0)
    y = model.predict(x, verbose=0)
    assert y.shape == (6, 3, 3) and y.dtype == np.float32
    np.testing.assert_allclose(y, np.swapaxes(y, 1, 2), atol=1e-5)
    arguments = {"hidden_units": (8,), **kwargs}
    arguments.pop("output_transform", None)
    assert model.count_params() == count_parameters(3, **arguments)


def test_starts_equivariant_and_represents_exp_exactly():
    # K = W = I, B = 0: H(X) = X; with c = 1, the MLP's head at 0 (its
    # bias starts at 0) and the exp transform, g(l) = exp(l), so
    # F(X) = expm(X) exactly, and F commutes with orthogonal conjugation
    # by construction.
    model = _small(output_transform="exp")
    model.linear.kernel.assign(np.ones((1, 1), "float32"))
    model.head.kernel.assign(np.zeros((8, 1), "float32"))
    rng = np.random.default_rng(0)
    x, _ = datasets.matrix_function_data("exp", 3, 4, seed=1, high=1.0)
    expected = np.stack([scipy.linalg.expm(a) for a in x.astype("float64")])
    y = model.predict(x, verbose=0)
    np.testing.assert_allclose(y, expected, rtol=2e-4, atol=1e-5)
    q = _random_orthogonal(3, rng).astype("float32")
    rotated = model.predict(q @ x @ q.T, verbose=0)
    np.testing.assert_allclose(rotated, q @ y @ q.T, rtol=1e-3, atol=1e-4)


def test_only_the_symmetric_part_is_seen():
    model = _small()
    x = np.random.default_rng(0).uniform(-5, 5, (4, 3, 3)).astype("float32")
    symmetric = 0.5 * (x + np.swapaxes(x, 1, 2))
    np.testing.assert_allclose(
        model.predict(x, verbose=0),
        model.predict(symmetric, verbose=0),
        atol=1e-5,
    )


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 4, 4), (3, 3), (2, 1, 3, 3)])
def test_wrong_shapes_raise_naming_the_shape(shape):
    model = _small()
    with pytest.raises(ValueError, match=r"\(batch, 3, 3\).*shape="):
        model.predict(np.zeros(shape, "float32"), verbose=0)


def test_invalid_arguments_raise():
    for kwargs, match in [
        ({"size": 0}, "size"),
        ({"n": 2}, "at least `size`"),
        ({"output_transform": "log"}, "output_transform"),
        ({"eigenvalue_scale": 0.0}, "eigenvalue_scale"),
        ({"share_projection": "yes"}, "share_projection"),
        ({"trainable_primary": 1}, "trainable_primary"),
        ({"method": "qr"}, "method"),
    ]:
        with pytest.raises(ValueError, match=match):
            _small(**kwargs)
    with pytest.raises(ValueError, match="NaN|inf|finite"):
        _small().predict(np.full((1, 3, 3), np.nan, "float32"), verbose=0)


def test_save_load_round_trip(tmp_path):
    model = _small(n=4, share_projection=False, output_transform="tanh")
    x, y = datasets.matrix_function_data("sign", 3, 32, seed=0)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, models.MatrixFunctionPMM)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )
    assert isinstance(loaded.loss, RelativeL1)


def test_float64(float64):
    model = _small(dtype="float64", output_transform="exp")
    x, y = datasets.matrix_function_data("exp", 3, 16, seed=0, dtype="float64")
    assert model.predict(x, verbose=0).dtype == np.float64
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_short_fit_reduces_the_loss():
    keras.utils.set_random_seed(0)
    model = _small(output_transform="exp")
    x, y = datasets.matrix_function_data("exp", 3, 256, seed=0)
    history = model.fit(x, y, batch_size=16, epochs=4, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses


def test_fixed_primary_stays_put_and_equivariant():
    model = _small(trainable_primary=False, output_transform="tanh")
    before = [to_numpy(w) for w in model.primary.weights]
    x, y = datasets.matrix_function_data("sin", 3, 64, seed=0)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    for old, new in zip(before, model.primary.weights):
        np.testing.assert_array_equal(old, to_numpy(new))
    q = _random_orthogonal(3, np.random.default_rng(1)).astype("float32")
    y = model.predict(x, verbose=0)
    np.testing.assert_allclose(
        model.predict(q @ x @ q.T, verbose=0), q @ y @ q.T, atol=2e-4
    )
    assert keras.models.clone_model(model).primary.trainable is False


def test_relative_l1_loss_and_within_tolerance():
    y = np.ones((2, 2, 2), "float32")
    pred = np.stack([1.01 * y[0], 1.2 * y[1]])
    errors = to_numpy(relative_l1_error(y, pred))
    np.testing.assert_allclose(errors, [0.01, 0.2], rtol=1e-5)
    assert float(RelativeL1()(y, pred)) == pytest.approx(0.105, rel=1e-5)
    metric = WithinTolerance(0.05)
    metric.update_state(y, pred)
    assert float(metric.result()) == pytest.approx(0.5)
    assert RelativeL1.from_config(RelativeL1().get_config()).name == (
        "relative_l1"
    )
    assert WithinTolerance.from_config(metric.get_config()).tolerance == 0.05
    # An all-zero target gives a finite (large) error, never NaN.
    assert np.isfinite(to_numpy(relative_l1_error(0 * y, pred))).all()


@pytest.mark.parametrize("function", ["exp", "sign", "sin", "cos"])
def test_symmetric_data_matches_scipy(function):
    x, y = datasets.matrix_function_data(
        function, 4, 20, seed=3, dtype="float64"
    )
    np.testing.assert_array_equal(x, np.swapaxes(x, 1, 2))
    assert x.min() >= -5 and x.max() <= 5
    expected = np.stack([np.real(SCIPY[function](a)) for a in x])
    np.testing.assert_allclose(y, expected, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("function", ["exp", "sin", "cos"])
def test_general_data_matches_the_eigendecomposition(function):
    x, y = datasets.matrix_function_data(
        function, 3, 10, seed=4, symmetric=False, dtype="float64"
    )
    assert not np.allclose(x, np.swapaxes(x, 1, 2))
    scalar = {"exp": np.exp, "sin": np.sin, "cos": np.cos}[function]
    values, vectors = np.linalg.eig(x)
    expected = np.real(
        vectors @ (scalar(values)[:, :, None] * np.linalg.inv(vectors))
    )
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)


def test_data_is_seeded_and_checked():
    first = datasets.matrix_function_data("sign", 5, 3, seed=7)
    second = datasets.matrix_function_data("sign", 5, 3, seed=7)
    np.testing.assert_array_equal(first[0], second[0])
    assert first[0].dtype == first[1].dtype == np.float32
    for kwargs, match in [
        ({"function": "log"}, "function"),
        ({"size": 0}, "size"),
        ({"count": -1}, "count"),
        ({"low": 1.0, "high": 1.0}, "low < high"),
        ({"dtype": "int32"}, "dtype"),
    ]:
        arguments = {"function": "exp", "size": 3, "count": 2, **kwargs}
        with pytest.raises(ValueError, match=match):
            datasets.matrix_function_data(**arguments)
