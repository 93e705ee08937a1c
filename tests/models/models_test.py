"""Task models: defaults, overrides, training inputs and bad input."""

import keras
import numpy as np
import pytest

from keras_pmm import layers
from keras_pmm import models
from tests.models.model_cases import MODEL_CASES
from tests.models.model_cases import classification_data
from tests.models.model_cases import regression_data
from tests.test_case import to_numpy

LEARNABLE = [case for case in MODEL_CASES if case.learn is not None]


def test_models_compile_themselves_with_documented_defaults():
    regressor = models.PMMRegressor()
    assert isinstance(regressor.optimizer, keras.optimizers.Adam)
    assert float(to_numpy(regressor.optimizer.learning_rate)) == pytest.approx(
        1e-2
    )
    assert isinstance(regressor.loss, keras.losses.MeanSquaredError)
    classifier = models.PMMClassifier(num_classes=4)
    assert isinstance(
        classifier.loss, keras.losses.SparseCategoricalCrossentropy
    )
    image = models.ImagePMMClassifier(num_classes=10)
    assert isinstance(image.optimizer, keras.optimizers.Adam)


def test_compile_overrides_only_what_is_given():
    model = models.PMMClassifier(num_classes=3, n=4)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    x, y = classification_data()
    history = model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert "accuracy" in history.history


@pytest.mark.parametrize("case", LEARNABLE, ids=lambda c: c.name)
def test_fit_on_numpy_reduces_the_loss(case):
    model = case.make()
    x, y = case.learn()
    before = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    after = model.evaluate(x, y, verbose=0)[0]
    assert after < 0.8 * before, (before, after)


@pytest.mark.parametrize("case", LEARNABLE, ids=lambda c: c.name)
def test_fit_on_tf_data(case):
    # tf.data pipelines feed every Keras backend, not only TensorFlow. That
    # training reduces the loss is test_fit_on_numpy_reduces_the_loss's job:
    # one epoch shows the pipeline reaches fit and evaluate.
    tf = pytest.importorskip(
        "tensorflow", reason="tf.data needs the tensorflow extra"
    )
    model = case.make()
    x, y = case.learn()
    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64, seed=0).batch(32)
    )
    if hasattr(model, "adapt"):  # PMMRegressor's scaling statistics
        with pytest.raises(ValueError, match=r"call `model.adapt\(dataset\)`"):
            model.fit(dataset, epochs=1, verbose=0)
        model.adapt(dataset)
    before = model.evaluate(dataset, verbose=0)[0]
    history = model.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.evaluate(dataset, verbose=0)[0] != before  # weights moved


def test_classifier_outputs_are_probabilities():
    model = models.ImagePMMClassifier(num_classes=10, n=4)
    images = (
        np.random.default_rng(0)
        .integers(0, 256, size=(5, 28, 28))
        .astype("uint8")
    )
    probabilities = model.predict(images, verbose=0)
    assert probabilities.shape == (5, 10)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    channel_last = model.predict(images[..., None].astype("float32"), verbose=0)
    np.testing.assert_allclose(channel_last, probabilities, atol=1e-6)


def test_image_preprocessing_is_the_documented_function_of_the_pixels():
    images = (
        np.random.default_rng(1)
        .integers(0, 256, size=(4, 28, 28))
        .astype("uint8")
    )
    plain = models.ImagePMMClassifier(num_classes=10, n=4)
    plain.predict(images, verbose=0)  # builds every weight
    for options in (dict(intensity_exponent=0.5), dict(deskew=True)):
        preprocessed = models.ImagePMMClassifier(num_classes=10, n=4, **options)
        preprocessed.predict(images, verbose=0)
        preprocessed.set_weights(
            plain.get_weights()
        )  # Deskew and the exponent add none
        pixels = images.astype("float32") / 255.0
        if "intensity_exponent" in options:
            expected_input = 255.0 * np.sqrt(pixels)
        else:
            expected_input = to_numpy(layers.Deskew()(pixels)) * 255.0
        np.testing.assert_allclose(
            preprocessed.predict(images, verbose=0),
            plain.predict(expected_input, verbose=0),
            atol=1e-5,
        )
        assert not np.allclose(
            preprocessed.predict(images, verbose=0),
            plain.predict(images, verbose=0),
            atol=1e-3,
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda: models.ImagePMMClassifier(num_classes=10, n=4),
        lambda: models.ImagePMMClassifier(
            num_classes=10, n=4, intensity_exponent=0.5
        ),
        lambda: models.HybridPMMClassifier(
            num_classes=10, conv_filters=(2,), features=4, n=3
        ),
    ],
    ids=["image", "image_exponent", "hybrid"],
)
def test_pixels_outside_the_intensity_range_are_rejected(make):
    """Issue 31, item 6: negative (standardised) pixels dropped pmm_mnist to
    11.7% with top probabilities of 1.000, and 16-bit images were read as
    0..65535, both without a word."""
    model = make()
    images = np.zeros((2, 28, 28), "float32")
    images[1, 3, 4] = -1.0
    with pytest.raises(ValueError, match=r"0\.\.255.*-1\.\.0.*standardised"):
        model.predict(images, verbose=0)
    with pytest.raises(ValueError, match=r"0\.\.255"):
        model.fit(images, np.zeros(2, "int32"), verbose=0)
    with pytest.raises(ValueError, match=r"0\.\.255"):
        model(images)  # a direct eager call is checked too
    images[1, 3, 4] = 65535.0
    with pytest.raises(ValueError, match="dividing by 257"):
        model.predict(images, verbose=0)
    images[1, 3, 4] = 255.0 + 1e-4  # interpolation overshoot is fine
    assert model.predict(images, verbose=0).shape == (2, 10)


def test_nan_and_inf_inputs_are_rejected_before_training():
    model = models.PMMRegressor(n=4)
    x, y = regression_data(32)
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"`x` must be finite.*index \(3, 1\)"):
        model.fit(x, y[:, :1], verbose=0)
    with pytest.raises(ValueError, match="`x` must be finite"):
        model.predict(np.full((2, 2), np.inf, "float32"), verbose=0)
    x, y = regression_data(32)
    y[0, 0] = np.inf
    with pytest.raises(ValueError, match="`y` must be finite"):
        model.evaluate(x, y[:, :1], verbose=0)


def test_wrong_feature_count_names_expected_and_received():
    model = models.PMMRegressor(n=4)
    x, y = regression_data(32)
    model.fit(x, y[:, :1], verbose=0)
    with pytest.raises(
        ValueError,
        match=r"expects features shaped \(batch, 2\).*shape=\(4, 3\)",
    ):
        model.predict(np.zeros((4, 3), "float32"), verbose=0)
    with pytest.raises(
        ValueError,
        match=r"expects features shaped \(batch, 2\).*shape=\(4, 1, 2\)",
    ):
        model.predict(np.zeros((4, 1, 2), "float32"), verbose=0)


@pytest.mark.parametrize(
    "make_model, message",
    [
        (
            lambda: models.PMMClassifier(num_classes=1),
            r"num_classes.*at least 2.*num_classes=1",
        ),
        (
            lambda: models.PMMClassifier(num_classes=3, temperature=0.0),
            r"temperature=0.0",
        ),
        (
            lambda: models.PMMClassifier(
                num_classes=3, temperature=float("nan")
            ),
            r"temperature=nan",
        ),
        (lambda: models.PMMRegressor(n=0), r"`n`.*n=0"),
        (lambda: models.PMMRegressor(n=3, r=4), r"n=3.*r=4"),
        (lambda: models.PMMRegressor(readout="softmax"), r"readout='softmax'"),
        (
            lambda: models.ImagePMMClassifier(10, block_shape=(5, 7)),
            r"block_shape",
        ),
        (lambda: models.ImagePMMClassifier(10, n=4, r=5), r"n=4.*r=5"),
        (
            lambda: models.ImagePMMClassifier(10, intensity_exponent=0),
            r"intensity_exponent=0",
        ),
        (lambda: models.ImagePMMClassifier(10, deskew="yes"), r"deskew='yes'"),
    ],
    ids=[
        "classes",
        "temperature_zero",
        "temperature_nan",
        "n_zero",
        "r_above_n",
        "readout",
        "blocks",
        "image_r",
        "image_exponent",
        "image_deskew",
    ],
)
def test_bad_arguments_raise_clear_errors(make_model, message):
    with pytest.raises(ValueError, match=message):
        make_model()
