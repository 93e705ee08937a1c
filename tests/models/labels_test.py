"""Class labels at every door that takes them (issue 31, item 1).

Before, `PMMClassifier(num_classes=3, n=3).fit(x, np.full(64, 7))` and the
same through `uq.DeepEnsemble` trained with loss 0.0 and no error.
"""

import contextlib
import warnings

import keras
import numpy as np
import pytest

from keras_pmm import uq
from keras_pmm.models import ImagePMMClassifier
from keras_pmm.models import PMMClassifier
from keras_pmm.models import PMMRegressor
from tests.models.model_cases import images
from tests.test_case import TestCase

FEATURES = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
GOOD = np.arange(64) % 3

# (labels, words the error must contain)
BAD_LABELS = [
    (np.full(64, 7), r"0\.\.2 for a model of 3 classes.*7"),
    (-(np.arange(64) % 3), r">= 0.*-2"),
    (np.linspace(0, 2, 64), "fractions"),
    (np.eye(3)[GOOD][:, :2], "integer class labels shaped"),
    (keras.utils.to_categorical(GOOD, 3), "look like one-hot rows"),
    (np.array(["a"] * 64), "integer class labels"),
]


def _classifier():
    return PMMClassifier(num_classes=3, n=3)


def _ensemble():
    return uq.DeepEnsemble(_classifier(), num_members=2, seed=0)


class TestClassifierLabels(TestCase):
    @pytest.mark.parametrize("make", [_classifier, _ensemble])
    @pytest.mark.parametrize("labels,message", BAD_LABELS)
    def test_fit_refuses_labels_the_model_cannot_have(
        self, make, labels, message
    ):
        with pytest.raises(ValueError, match=message):
            make().fit(FEATURES, labels, epochs=1, verbose=0)

    @pytest.mark.parametrize("make", [_classifier, _ensemble])
    def test_evaluate_and_validation_data_are_checked_too(self, make):
        model = make()  # the checks run before any training or building
        with pytest.raises(ValueError, match="0..2"):
            model.evaluate(FEATURES, np.full(64, 3), verbose=0)
        with pytest.raises(ValueError, match="y_val"):
            model.fit(
                FEATURES,
                GOOD,
                epochs=1,
                verbose=0,
                validation_data=(FEATURES, np.full(64, 5)),
            )

    def test_good_labels_in_every_accepted_form_train(self):
        model = _classifier()
        history = model.fit(FEATURES, GOOD, epochs=1, verbose=0)
        assert history.history["loss"][0] > 0.0
        for labels in (GOOD[:, None], GOOD.astype("float32"), GOOD > 0):
            loss = model.evaluate(FEATURES, labels, verbose=0)[0]
            assert np.isfinite(loss) and loss > 0.0

    def test_one_hot_loss_takes_one_hot_rows_and_refuses_indices(self):
        model = _classifier()
        model.compile(loss="categorical_crossentropy", metrics=[])
        one_hot = keras.utils.to_categorical(GOOD, 3)
        history = model.fit(FEATURES, one_hot, epochs=1, verbose=0)
        assert history.history["loss"][0] > 0.0
        with pytest.raises(ValueError, match="look like integer labels"):
            model.fit(FEATURES, GOOD, epochs=1, verbose=0)
        with pytest.raises(ValueError, match=r"\(batch, 3\)"):
            model.fit(FEATURES, one_hot[:, :2], epochs=1, verbose=0)

    def test_image_classifier_checks_labels(self):
        model = ImagePMMClassifier(
            2, image_shape=(8, 8), block_shape=(4, 4), n=3
        )
        with pytest.raises(ValueError, match=r"0\.\.1 for a model of 2"):
            model.fit(images(4, 8, 8), np.array([0, 1, 2, 1]), verbose=0)

    def test_tensor_labels_are_checked(self):
        labels = keras.ops.convert_to_tensor(np.full(64, 9))
        with pytest.raises(ValueError, match="0..2"):
            _classifier().fit(FEATURES, labels, epochs=1, verbose=0)


class TestEmptyArrays(TestCase):
    """Issue 31, item 14: an empty array is named, not an UnboundLocalError
    from inside Keras or a fit on nothing."""

    @pytest.mark.parametrize("make", [_classifier, _ensemble])
    def test_empty_fit_predict_evaluate(self, make):
        model = make()
        empty = FEATURES[:0]
        with pytest.raises(ValueError, match="`x` is empty"):
            model.fit(empty, GOOD[:0], verbose=0)
        model.fit(FEATURES, GOOD, epochs=1, verbose=0)
        with pytest.raises(ValueError, match="`x` is empty"):
            model.predict(empty, verbose=0)
        with pytest.raises(ValueError, match="`x` is empty"):
            model.evaluate(empty, GOOD[:0], verbose=0)

    def test_empty_regressor_fit_and_predict(self):
        model = PMMRegressor(n=3)
        with pytest.raises(ValueError, match="`x` is empty"):
            model.fit(FEATURES[:0], np.zeros(0), verbose=0)
        model.fit(FEATURES, FEATURES[:, 0], epochs=1, verbose=0)
        with pytest.raises(ValueError, match="`x` is empty"):
            model.predict(FEATURES[:0], verbose=0)


class TestRegressorRefit(TestCase):
    """Issue 31, item 14: a second fit on data of another range warns
    (it kept the first fit's scaling silently)."""

    def test_refit_on_far_data_warns_and_adapt_refits(self):
        model = PMMRegressor(n=3)
        model.fit(FEATURES, FEATURES[:, 0], epochs=1, verbose=0)
        far = FEATURES * 50 + 300
        with pytest.warns(UserWarning, match=r"model.adapt\(x, y\)"):
            model.fit(far, far[:, 0], epochs=1, verbose=0)
        model.adapt(far, far[:, 0])
        assert model.input_scaler.drift(far) == pytest.approx(0.0, abs=1e-5)
        with warnings_as_errors():
            model.fit(far, far[:, 0], epochs=1, verbose=0)

    def test_refit_on_more_of_the_same_data_is_silent(self):
        model = PMMRegressor(n=3)
        model.fit(FEATURES[:32], FEATURES[:32, 0], epochs=1, verbose=0)
        with warnings_as_errors():
            model.fit(FEATURES[32:], FEATURES[32:, 0], epochs=1, verbose=0)


@contextlib.contextmanager
def warnings_as_errors():
    """Turns the drift warning into an error inside the block."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="PMMRegressor.fit")
        yield
