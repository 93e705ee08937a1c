"""HybridPMMClassifier: probabilities, size, save/load, learning, bad args."""

import keras
import numpy as np
import pytest

from keras_pmm import models
from keras_pmm.linalg import packed_size as L
from tests.test_case import TestCase
from tests.test_case import to_numpy


def _bar_images(samples=96, side=8, seed=0):
    """uint8 noise images; a bright vertical bar's position is the class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=samples).astype("int32")
    x = rng.integers(0, 40, size=(samples, side, side)).astype("uint8")
    for label in range(3):
        x[y == label, :, 2 * label + 1 : 2 * label + 3] = 255
    return x, y


def _small(**kwargs):
    """A fast model for 8 x 8 images."""
    return models.HybridPMMClassifier(
        **{
            "num_classes": 3,
            "image_shape": (8, 8),
            "conv_filters": (4,),
            "features": 4,
            "n": 4,
            **kwargs,
        }
    )


def _num_params(num_classes, image_shape, conv_filters, features, n, r, pairs):
    """The docstring's formula, written out."""
    channels = (1,) + tuple(conv_filters)
    convolutions = sum(
        (9 * c_in + 1) * c_out for c_in, c_out in zip(channels, channels[1:])
    )
    k = len(conv_filters)
    flat = (image_shape[0] // 2**k) * (image_shape[1] // 2**k) * channels[-1]
    p = r * (r + 1) // 2 if pairs else 1
    return (
        convolutions
        + (flat + 1) * features
        + (features + 1) * L(n)
        + num_classes * (p * L(n) + 1)
    )


class TestHybridPMMClassifier(TestCase):
    def test_common_model_checks(self):
        x, y = _bar_images(8)
        self.run_model_test(
            _small,
            x,
            y,
            (3,),
            _num_params(3, (8, 8), (4,), 4, 4, 2, pairs=True),
        )

    def test_defaults_give_probabilities_for_every_image_layout(self):
        model = models.HybridPMMClassifier(num_classes=10)
        assert isinstance(model.optimizer, keras.optimizers.Adam)
        assert isinstance(
            model.loss, keras.losses.SparseCategoricalCrossentropy
        )
        assert (
            model.conv_filters == (8, 16)
            and model.n == 10
            and model.method == "lapack"
        )
        images = (
            np.random.default_rng(0)
            .integers(0, 256, size=(5, 28, 28))
            .astype("uint8")
        )
        probabilities = to_numpy(model(images))
        assert probabilities.shape == (5, 10)
        assert np.all(probabilities >= 0)
        np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
        for same in (images.astype("float32"), images[..., None]):
            np.testing.assert_allclose(
                to_numpy(model(same)), probabilities, atol=1e-5
            )
        assert (
            model.count_params()
            == _num_params(10, (28, 28), (8, 16), 16, 10, 2, True)
            == 16403
        )

    @pytest.mark.parametrize(
        "kwargs, formula",
        [
            (
                {
                    "image_shape": (12, 20),
                    "conv_filters": (3, 5, 2),
                    "features": 7,
                    "n": 5,
                    "r": 3,
                    "decoder": "shared",
                    "feature_activation": None,
                },
                (10, (12, 20), (3, 5, 2), 7, 5, 3, False),
            ),
            (
                {"conv_filters": (), "features": 3, "n": 4},
                (10, (28, 28), (), 3, 4, 2, True),
            ),
        ],
        ids=["three_stages_shared", "no_convolution"],
    )
    def test_parameter_count_matches_the_documented_formula(
        self, kwargs, formula
    ):
        model = models.HybridPMMClassifier(num_classes=10, **kwargs)
        assert model.count_params() == _num_params(
            *formula
        )  # built at construction
        image_shape = kwargs.get("image_shape", (28, 28))
        assert tuple(model(np.zeros((1,) + image_shape, "uint8")).shape) == (
            1,
            10,
        )
        assert model.count_params() == _num_params(*formula)

    def test_config_round_trip_and_keras_file_give_identical_predictions(self):
        model = _small(
            decoder="expectation",
            which="highest",
            temperature=0.5,
            feature_activation="relu",
        )
        x, _ = _bar_images(6)
        predictions = model.predict(x, verbose=0)
        config = model.get_config()
        rebuilt = models.HybridPMMClassifier.from_config(config)
        assert rebuilt.get_config() == config
        rebuilt.set_weights(model.get_weights())
        np.testing.assert_array_equal(
            rebuilt.predict(x, verbose=0), predictions
        )
        reloaded = self.save_and_load(model)
        assert isinstance(reloaded, models.HybridPMMClassifier)
        assert reloaded.get_config() == {
            **config,
            "image_shape": (8, 8),
            "conv_filters": (4,),
        }
        np.testing.assert_array_equal(
            reloaded.predict(x, verbose=0), predictions
        )

    def test_short_fit_learns_a_synthetic_task(self):
        model = _small()
        x, y = _bar_images(96)
        before_loss, before_accuracy = model.evaluate(x, y, verbose=0)
        model.fit(x, y, epochs=10, batch_size=16, verbose=0)
        after_loss, after_accuracy = model.evaluate(x, y, verbose=0)
        assert after_loss < 0.5 * before_loss, (before_loss, after_loss)
        assert after_accuracy >= 0.9 > before_accuracy, (
            before_accuracy,
            after_accuracy,
        )

    def test_jacobi_method_matches_lapack(self):
        x, _ = _bar_images(6)
        lapack = _small()
        expected = to_numpy(lapack(x))
        jacobi = _small(method="jacobi")
        jacobi.set_weights(lapack.get_weights())
        np.testing.assert_allclose(to_numpy(jacobi(x)), expected, atol=1e-4)

    def test_random_flip_mirrors_training_images_only(self):
        model = _small(random_flip=True)
        image, _ = _bar_images(
            1
        )  # one bar, off-centre: its mirror is another image
        plain = to_numpy(model(image, training=False))[0]
        mirrored = to_numpy(model(image[:, :, ::-1], training=False))[0]
        assert not np.allclose(plain, mirrored, atol=1e-4)
        np.testing.assert_array_equal(
            to_numpy(model(image)), to_numpy(model(image))
        )
        outputs = to_numpy(model(np.repeat(image, 64, axis=0), training=True))
        is_plain = np.isclose(outputs, plain, atol=1e-5).all(axis=1)
        is_mirrored = np.isclose(outputs, mirrored, atol=1e-5).all(axis=1)
        assert np.all(is_plain | is_mirrored)
        assert 10 < is_mirrored.sum() < 54  # about half of them flipped
        assert model.count_params() == _small().count_params()
        assert models.HybridPMMClassifier.from_config(
            model.get_config()
        ).random_flip

    def test_images_of_the_wrong_shape_are_rejected(self):
        model = _small()
        with pytest.raises(
            ValueError, match=r"shaped \(batch, 8, 8\).*shape=\(2, 8, 9\)"
        ):
            model(np.zeros((2, 8, 9), "uint8"))
        with pytest.raises(ValueError, match=r"shape=\(2, 8, 8, 3\)"):
            model(np.zeros((2, 8, 8, 3), "uint8"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 1}, r"num_classes.*at least 2.*num_classes=1"),
        ({"conv_filters": 8}, r"conv_filters.*sequence.*conv_filters=8"),
        ({"conv_filters": (8, 0)}, r"conv_filters\[\].*positive integer.*=0"),
        (
            {"image_shape": (28,)},
            r"image_shape.*\(height, width\).*image_shape=\(28,\)",
        ),
        (
            {"image_shape": (4, 4), "conv_filters": (2, 2, 2)},
            r"at least 2\*\*len\(conv_filters\)=8",
        ),
        ({"features": 0}, r"`features`.*features=0"),
        (
            {"feature_activation": "sigmoidal"},
            r"feature_activation='sigmoidal'",
        ),
        ({"n": 3, "r": 4}, r"n=3.*r=4"),
        ({"decoder": "dense"}, r"decoder='dense'"),
        ({"method": "qr"}, r"method='qr'"),
        ({"temperature": 0.0}, r"temperature=0.0"),
        ({"random_flip": "yes"}, r"random_flip.*True or False.*'yes'"),
    ],
    ids=[
        "classes",
        "filters_int",
        "filters_zero",
        "image_rank",
        "image_small",
        "features",
        "activation",
        "r_above_n",
        "decoder",
        "method",
        "temperature",
        "random_flip",
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.HybridPMMClassifier(**{"num_classes": 10, **kwargs})
