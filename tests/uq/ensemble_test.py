"""DeepEnsemble: members, training, outputs, saving and bad input."""

import keras
import numpy as np
import pytest

from keras_pmm import uq
from keras_pmm.models import ImagePMMClassifier
from keras_pmm.models import PMMClassifier
from keras_pmm.models import PMMRegressor
from keras_pmm.uq.ensemble import _MemberBatches
from tests.test_case import TestCase
from tests.test_case import to_numpy


def _blobs(num=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(num, 3)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int32")
    return x, y


class TestDeepEnsemble(TestCase):
    def test_members_start_apart_and_train_together(self):
        x, y = _blobs()
        ensemble = uq.DeepEnsemble(
            PMMClassifier(num_classes=2, n=4), num_members=3, seed=0
        )
        ensemble(x[:1])
        starts = [
            to_numpy(m.trainable_weights[0]).copy() for m in ensemble.members
        ]
        assert not np.allclose(starts[0], starts[1])
        history = ensemble.fit(x, y, epochs=6, batch_size=32, verbose=0)
        losses = history.history["loss"]
        assert losses[-1] < losses[0]
        for member, start in zip(ensemble.members, starts):
            assert not np.allclose(to_numpy(member.trainable_weights[0]), start)
        members = ensemble.predict_members(x)
        assert members.shape == (3, 256, 2)
        self.assert_allclose(
            ensemble.predict(x, verbose=0), members.mean(0), atol=1e-6
        )
        _, accuracy = ensemble.evaluate(x, y, verbose=0)
        assert accuracy > 0.8

    def test_each_member_has_its_own_data_order(self):
        x, y = _blobs(num=100)
        batches = _MemberBatches(x, y, 10, 3, seed=7, shuffle=True)
        (x0, x1, x2), (y0, y1, y2) = batches[0]
        assert not np.array_equal(x0, x1) and not np.array_equal(x1, x2)
        first = [b.copy() for b in batches[0][0]]
        batches.on_epoch_end()
        assert not np.array_equal(first[0], batches[0][0][0])
        again = _MemberBatches(x, y, 10, 3, seed=7, shuffle=True)
        np.testing.assert_array_equal(again[0][0][1], first[1])
        # Every example is seen once per epoch by every member.
        seen = np.concatenate([batches[i][1][2] for i in range(len(batches))])
        assert np.sort(seen).tolist() == np.sort(y).tolist()

    def test_same_seed_same_ensemble(self):
        x, _ = _blobs(num=8)
        template = PMMClassifier(num_classes=2, n=4)
        first = uq.DeepEnsemble(template, num_members=2, seed=3)
        second = uq.DeepEnsemble(template, num_members=2, seed=3)
        self.assert_allclose(
            first.predict(x, verbose=0), second.predict(x, verbose=0)
        )

    def test_pretrained_members_are_kept_and_saved_as_one_file(self):
        x, y = _blobs()
        members = []
        for seed in (1, 2):
            keras.utils.set_random_seed(seed)
            member = PMMClassifier(num_classes=2, n=4)
            member.fit(x, y, epochs=1, verbose=0)
            members.append(member)
        ensemble = uq.DeepEnsemble(members)
        expected = (
            members[0].predict(x, verbose=0) + members[1].predict(x, verbose=0)
        ) / 2
        self.assert_allclose(
            ensemble.predict(x, verbose=0), expected, atol=1e-6
        )
        restored = self.save_and_load(ensemble)
        assert isinstance(restored, uq.DeepEnsemble)
        assert restored.num_members == 2
        self.assert_allclose(
            restored.predict(x, verbose=0), expected, atol=1e-6
        )

    def test_image_members_from_a_preset_name(self):
        ensemble = uq.DeepEnsemble("pmm_mnist", num_members=2, seed=0)
        assert ensemble.image_shape == (28, 28)
        assert ensemble.num_classes == 10
        images = np.random.default_rng(0).integers(0, 255, (3, 28, 28))
        probabilities = ensemble.predict(images.astype("uint8"), verbose=0)
        assert probabilities.shape == (3, 10)
        np.testing.assert_allclose(probabilities.sum(-1), 1, atol=1e-5)
        assert isinstance(ensemble.members[0], ImagePMMClassifier)

    def test_gaussian_regression_ensemble(self):
        rng = np.random.default_rng(0)
        x = rng.uniform(-1, 1, (512, 1)).astype("float32")
        y = (np.sin(3 * x) + rng.normal(0, 0.1, x.shape)).astype("float32")
        ensemble = uq.DeepEnsemble(
            PMMRegressor(num_outputs=2, n=4), num_members=3, seed=0
        )
        assert ensemble.task == "regression"
        history = ensemble.fit(x, y, epochs=3, batch_size=64, verbose=0)
        assert np.all(np.isfinite(history.history["loss"]))
        output = ensemble.predict(x[:5], verbose=0)
        assert set(output) == {"mean", "variance"}
        members = ensemble.predict_members(x[:5])
        means = members[..., :1]
        variances = np.log1p(np.exp(members[..., 1:])) + 1e-6
        mixture = (variances + means**2).mean(0) - means.mean(0) ** 2
        self.assert_allclose(output["mean"], means.mean(0), atol=1e-5)
        self.assert_allclose(output["variance"], mixture, atol=1e-5)
        restored = self.save_and_load(ensemble)
        self.assert_allclose(
            restored.predict(x[:5], verbose=0)["variance"], mixture, atol=1e-5
        )
        with pytest.raises(
            NotImplementedError, match="predict_with_uncertainty"
        ):
            ensemble.evaluate(x, y)

    def test_gaussian_nll_matches_scipy(self):
        stats = pytest.importorskip("scipy.stats")
        mean, logit = 0.3, 0.7
        variance = np.log1p(np.exp(logit)) + 1e-6
        loss = uq.GaussianNLL()(
            np.array([[1.2]], "float32"), np.array([[mean, logit]], "float32")
        )
        expected = -stats.norm.logpdf(1.2, mean, np.sqrt(variance))
        assert float(to_numpy(loss)) == pytest.approx(expected, rel=1e-5)

    def test_bad_input_is_refused(self):
        template = PMMClassifier(num_classes=2, n=4)
        with pytest.raises(ValueError, match="num_members"):
            uq.DeepEnsemble(template, num_members=0)
        with pytest.raises(ValueError, match="num_members"):
            uq.DeepEnsemble(template)
        with pytest.raises(ValueError, match="empty"):
            uq.DeepEnsemble([])
        with pytest.raises(ValueError, match="Unknown preset"):
            uq.DeepEnsemble("pmm_nope", num_members=2)
        with pytest.raises(ValueError, match="task"):
            uq.DeepEnsemble(template, num_members=2, task="ranking")
        ensemble = uq.DeepEnsemble(template, num_members=2)
        x, y = _blobs(num=8)
        with pytest.raises(ValueError, match="8 examples"):
            ensemble.fit(x, y[:4])
        with pytest.raises(ValueError, match="arrays"):
            ensemble.fit(iter([(x, y)]))
