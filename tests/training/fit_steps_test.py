"""keras_pmm.training: `fit_steps` against Keras's `fit`, and `cosine_adam`."""

import math

import keras
import numpy as np
import pytest

from keras_pmm import models
from keras_pmm.training import cosine_adam
from keras_pmm.training import fit_steps
from tests.test_case import policy_scope
from tests.test_case import to_numpy


def _data(samples=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (samples, 2)).astype("float32")
    y = (np.sin(x[:, :1]) * np.cos(x[:, 1:])).astype("float32")
    return x, y


def _mlp():
    return keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(1),
        ]
    )


def _regressor():
    return models.PMMRegressor(n=4, r=2)


def _twins(make):
    """Two compiled models with the same initial weights."""
    keras.utils.set_random_seed(0)
    first, second = make(), make()
    x, _ = _data()
    first(x[:1]), second(x[:1])
    second.set_weights(first.get_weights())
    for model in (first, second):
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return first, second


@pytest.mark.parametrize("make", [_mlp, _regressor], ids=["mlp", "pmm"])
@pytest.mark.parametrize("batch_size", [None, 7])
def test_matches_fit_on_the_same_batches(make, batch_size):
    """fit_steps is Keras's own train_step on rows i*b .. i*b + b - 1
    (mod N): `fit` on those batches, unshuffled, gives the same weights."""
    x, y = _data()
    steps = 12
    looped, reference = _twins(make)
    fit_steps(looped, x, y, steps, batch_size=batch_size, updates=5)
    b = batch_size or len(x)
    rows = np.concatenate(
        [(i * b + np.arange(b)) % len(x) for i in range(steps)]
    )
    if isinstance(reference, models.PMMRegressor):
        reference.adapt(x, y)  # the statistics of the data, not the batches
    reference.fit(
        x[rows], y[rows], batch_size=b, epochs=1, shuffle=False, verbose=0
    )
    assert int(looped.optimizer.iterations) == steps
    for got, expected in zip(looped.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_trains_a_regressor_and_returns_the_last_logs():
    x, y = _data(60)
    keras.utils.set_random_seed(0)
    model = models.PMMRegressor(n=4, r=2, field="complex")
    model.compile(optimizer=cosine_adam(5e-2, steps=300))
    assert not model.adapted
    logs = fit_steps(model, 10 * x + 100, y, steps=300)
    assert model.adapted  # adapted to the data first, as `fit` does
    assert int(model.optimizer.iterations) == 300
    assert set(logs) >= {"loss"} and logs["loss"] < 0.01
    # The loss is on targets min-max scaled to [0, 1]; y spans about 2.
    predictions = to_numpy(model(10 * x + 100))
    assert np.mean((predictions - y) ** 2) < 0.04


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_policies(policy):
    """Under a mixed policy the loop trains as `fit` would (Keras's own
    train_step, with its loss scaling for float16)."""
    x, y = _data(60)
    with policy_scope(policy):
        keras.utils.set_random_seed(0)
        model = models.PMMRegressor(n=4, r=2)
        model.compile(optimizer=cosine_adam(5e-2, steps=100))
        before = float(model.evaluate(x, y, verbose=0)[0])
        logs = fit_steps(model, x, y, steps=100)
        after = float(model.evaluate(x, y, verbose=0)[0])
    assert math.isfinite(logs["loss"]) and after < before


def test_classifier_with_integer_labels_in_batches():
    """Integer labels stay integers (no float cast) and batches of 16 of 60
    examples wrap around the data set."""
    x, _ = _data(60)
    labels = (x[:, 0] > 0).astype("int64")
    keras.utils.set_random_seed(0)
    model = models.PMMClassifier(num_classes=2, n=4)
    model.compile(optimizer=cosine_adam(5e-2, steps=100))
    logs = fit_steps(model, x, labels, steps=100, batch_size=16)
    assert logs["accuracy"] > 0.9
    predicted = np.argmax(to_numpy(model(x)), axis=-1)
    assert np.mean(predicted == labels) > 0.9


def test_a_second_call_continues_the_same_optimizer():
    x, y = _data()
    _, model = _twins(_mlp)
    fit_steps(model, x, y, steps=5)
    fit_steps(model, x, y, steps=5)
    assert int(model.optimizer.iterations) == 10


def test_uneven_updates_run_every_step():
    x, y = _data()
    _, model = _twins(_mlp)
    fit_steps(model, x, y, steps=7, updates=3)
    assert int(model.optimizer.iterations) == 7


def test_float64_arrays_and_compiled_steps():
    """float64 arrays are cast to floatx as `fit` casts them, and a model
    compiled with jit_compile=True (XLA, jax.jit, torch.compile) trains."""
    x, y = _data()
    keras.utils.set_random_seed(0)
    model = _mlp()
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    before = model.evaluate(x, y, verbose=0)
    logs = fit_steps(model, x.astype("float64"), y.astype("float64"), 50)
    assert math.isfinite(logs["loss"])
    assert model.evaluate(x, y, verbose=0) < before


def test_progress_bar(capsys):
    x, y = _data()
    _, model = _twins(_mlp)
    fit_steps(model, x, y, steps=10)
    assert capsys.readouterr().out == ""
    fit_steps(model, x, y, steps=10, verbose=1)
    output = capsys.readouterr().out
    assert "10/10" in output and "loss" in output


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(compiled=False), "compiled model"),
        (dict(y=np.zeros((5, 1))), "same, non-zero number of rows"),
        (dict(x=np.float32(1.0)), "same, non-zero number of rows"),
        (dict(x=[np.zeros((30, 1)), np.zeros((30, 1))]), "one in-memory"),
        (dict(y={"out": np.zeros((30, 1))}), "one in-memory"),
        (dict(batch_size=31), "at most the 30 examples"),
        (dict(batch_size=0), "batch_size"),
        (dict(steps=0), "steps"),
        (dict(updates=0), "updates"),
        (dict(x=np.full((30, 2), np.nan)), "x"),
    ],
)
def test_bad_input_raises(change, message):
    x, y = _data()
    keras.utils.set_random_seed(0)
    model = _mlp()
    if change.pop("compiled", True):
        model.compile(optimizer="adam", loss="mse")
    arguments = {**dict(x=x, y=y, steps=3), **change}
    with pytest.raises(ValueError, match=message):
        fit_steps(model, **arguments)


def test_regressor_target_shape_is_checked():
    x, _ = _data()
    model = models.PMMRegressor(n=3, num_outputs=1)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="targets shaped"):
        fit_steps(model, x, np.zeros((30, 2), "float32"), steps=2)


def test_cosine_adam_schedule():
    optimizer = cosine_adam(0.1, steps=100, decay_to=0.2)
    schedule = (
        optimizer.learning_rate
        if callable(optimizer.learning_rate)
        else optimizer._learning_rate
    )
    rates = [float(to_numpy(schedule(step))) for step in (0, 50, 100, 200)]
    np.testing.assert_allclose(rates, [0.1, 0.06, 0.02, 0.02], rtol=1e-5)
    for arguments, message in [
        ((0.0, 10), "learning_rate"),
        ((0.1, 0), "steps"),
        ((0.1, 10, 1.5), "decay_to"),
    ]:
        with pytest.raises(ValueError, match=message):
            cosine_adam(*arguments)
