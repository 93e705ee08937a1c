"""The three classifiers share one base: validation, defaults, build rule."""

import keras
import numpy as np
import pytest

from keras_pmm import models

IMAGE_CLASSIFIERS = {
    "image": lambda **kw: models.ImagePMMClassifier(
        image_shape=(8, 8), block_shape=(4, 4), n=3, **kw
    ),
    "hybrid": lambda **kw: models.HybridPMMClassifier(
        image_shape=(8, 8), conv_filters=(2,), features=3, n=3, **kw
    ),
}
CLASSIFIERS = {
    "affine": lambda **kw: models.PMMClassifier(n=3, **kw),
    **IMAGE_CLASSIFIERS,
}


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classifiers_share_the_base(name):
    model = CLASSIFIERS[name](num_classes=3)
    assert isinstance(model, models.PMMClassifierTask)
    assert isinstance(
        model.default_loss(), keras.losses.SparseCategoricalCrossentropy
    )
    assert [m.name for m in model.default_metrics()] == ["accuracy"]


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classifiers_reject_one_class_with_the_same_message(name):
    message = "`num_classes` must be at least 2. Received: num_classes=1"
    with pytest.raises(ValueError, match=message):
        CLASSIFIERS[name](num_classes=1)


@pytest.mark.parametrize("name", sorted(IMAGE_CLASSIFIERS))
def test_image_classifiers_count_params_right_after_construction(name):
    model = IMAGE_CLASSIFIERS[name](num_classes=3)
    assert model.built
    assert model.count_params() > 0


def test_affine_classifier_builds_on_first_call_like_dense():
    model = models.PMMClassifier(num_classes=3, n=3)
    assert not model.built
    probabilities = model(np.zeros((2, 5), "float32"))
    assert model.built and model.count_params() > 0
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(probabilities).sum(-1), 1.0, rtol=1e-5
    )


@pytest.mark.parametrize("readout", ["observable", "eigenvalue"])
def test_regressor_stores_readout_under_the_argument_name(readout):
    model = models.PMMRegressor(n=3, r=2, readout=readout)
    assert model.readout == readout
    assert isinstance(model.readout_layer, keras.layers.Layer)
    assert model.get_config()["readout"] == readout


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classifier_config_round_trip(name):
    model = CLASSIFIERS[name](num_classes=4, temperature=0.5)
    config = model.get_config()
    assert config["num_classes"] == 4 and config["temperature"] == 0.5
    clone = type(model).from_config(config)
    assert clone.get_config() == config
