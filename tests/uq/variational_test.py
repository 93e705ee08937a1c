"""Variational PMM layers and the Bayesian image classifier."""

import keras
import numpy as np
import pytest

from keras_pmm import uq
from keras_pmm.layers import ClassHamiltonians
from keras_pmm.models import ImagePMMClassifier
from keras_pmm.uq.variational import variational_layers
from tests.test_case import TestCase
from tests.test_case import to_numpy

LAYERS = [
    (
        lambda **kw: uq.VariationalAffineHermitian(4, **kw),
        np.ones((3, 2), "float32"),
    ),
    (
        lambda **kw: uq.VariationalAffineHermitian(3, field="complex", **kw),
        np.ones((3, 2), "float32"),
    ),
    (
        lambda **kw: uq.VariationalClassHamiltonians(3, **kw),
        np.tile(np.eye(4, dtype="float32"), (2, 1, 1)),
    ),
    (
        lambda **kw: uq.VariationalObservableReadout(2, 2, **kw),
        np.tile(np.diag([3.0, 1.0, 2.0]).astype("float32"), (2, 1, 1)),
    ),
]


class TestVariationalLayers(TestCase):
    @pytest.mark.parametrize("posterior", ["mean_field", "low_rank"])
    @pytest.mark.parametrize("make, x", LAYERS)
    def test_draws_differ_are_hermitian_and_mean_is_the_parent(
        self, make, x, posterior
    ):
        layer = make(posterior=posterior, kl_weight=1e-3, seed=0)
        mean = to_numpy(layer(x))  # sample defaults to training (False)
        draws = [to_numpy(layer(x, sample=True)) for _ in range(2)]
        assert not np.allclose(draws[0], draws[1])
        assert np.all(np.isfinite(draws[0]))
        if draws[0].ndim >= 3 and draws[0].shape[-1] == draws[0].shape[-2]:
            np.testing.assert_array_equal(
                draws[0], np.conj(np.swapaxes(draws[0], -1, -2))
            )
        # The posterior mean is the deterministic parent with the same means.
        parent_class = type(layer).__mro__[2]
        parent = parent_class.from_config(
            {
                key: value
                for key, value in layer.get_config().items()
                if key
                not in (
                    "prior",
                    "projection_prior",
                    "posterior",
                    "rank",
                    "posterior_scale",
                    "kl_weight",
                    "seed",
                )
            }
        )
        parent(x)
        for variable in parent.weights:
            variable.assign(
                next(
                    w
                    for w in layer.weights
                    if w.path.endswith(variable.path.split("/")[-1])
                )
            )
        self.assert_allclose(parent(x), mean, atol=1e-6)
        restored = type(layer).from_config(layer.get_config())
        assert restored.get_config() == layer.get_config()

    def test_kl_loss_is_added_in_training_with_its_weight(self):
        layer = uq.VariationalClassHamiltonians(2, kl_weight=0.5, seed=0)
        x = np.tile(np.eye(3, dtype="float32"), (2, 1, 1))
        layer(x)
        assert not layer.losses
        layer(x, training=True)
        expected = 0.5 * float(to_numpy(layer.kl_divergence()))
        assert float(to_numpy(layer.losses[0])) == pytest.approx(
            expected, rel=1e-5
        )

    def test_gradients_reach_means_and_spreads(self):
        inputs = keras.Input((4, 4))
        layer = uq.VariationalClassHamiltonians(
            2, posterior="low_rank", kl_weight=1e-3, seed=0
        )
        outputs = keras.layers.Flatten()(layer(inputs))
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        x = np.random.default_rng(0).normal(size=(8, 4, 4)).astype("float32")
        x = (x + np.swapaxes(x, 1, 2)) / 2
        before = {w.path: to_numpy(w).copy() for w in layer.trainable_weights}
        model.fit(x, np.zeros((8, 32), "float32"), epochs=1, verbose=0)
        for w in layer.trainable_weights:
            assert not np.allclose(to_numpy(w), before[w.path]), w.path
        assert {w.name for w in layer.trainable_weights} >= {
            "offsets_rho",
            "offsets_factor",
            "projections_rho",
        }

    def test_bad_arguments_are_refused(self):
        with pytest.raises(ValueError, match="posterior"):
            uq.VariationalAffineHermitian(3, posterior="full")
        with pytest.raises(ValueError, match="kl_weight"):
            uq.VariationalAffineHermitian(3, kl_weight=-1.0)
        with pytest.raises(ValueError, match="posterior_scale"):
            uq.VariationalAffineHermitian(3, posterior_scale=0.0)


class TestBayesianImagePMMClassifier(TestCase):
    def test_fit_sets_kl_weight_and_predicts_by_sampling_or_mean(self):
        rng = np.random.default_rng(0)
        x = rng.integers(0, 255, (64, 28, 28)).astype("uint8")
        y = rng.integers(0, 10, 64)
        model = uq.BayesianImagePMMClassifier(
            10, n=4, num_samples=4, seed=0, block_shape=(7, 7)
        )
        model.fit(x, y, epochs=1, batch_size=32, verbose=0)
        assert float(
            to_numpy(model.hamiltonians.kl_weight_variable)
        ) == pytest.approx(1 / 64)
        first = model.predict(x[:3], verbose=0)
        second = model.predict(x[:3], batch_size=1, verbose=0)
        # Seeded: the same S posterior draws for every batch and call.
        np.testing.assert_allclose(first, second, atol=1e-5)
        np.testing.assert_allclose(first.sum(-1), 1, atol=1e-5)
        unseeded = uq.BayesianImagePMMClassifier(
            10, n=4, num_samples=2, block_shape=(7, 7), posterior_scale=0.3
        )
        assert not np.allclose(  # fresh posterior draws every call
            unseeded.predict(x[:3], verbose=0),
            unseeded.predict(x[:3], verbose=0),
        )
        samples = model.predict_samples(x[:3])
        assert samples.shape == (4, 3, 10)
        assert uq.mutual_information(samples).min() >= 0
        restored = self.save_and_load(model)
        restored.inference = "mean"
        model.inference = "mean"
        self.assert_allclose(restored(x[:3]), model(x[:3]), atol=1e-6)
        # Switching the mode after a compiled predict retraces it.
        mean = model.predict(x[:3], verbose=0)
        self.assert_allclose(mean, model(x[:3]), atol=1e-6)
        assert np.abs(mean - first).max() > 1e-4
        model.inference = "sample"
        self.assert_allclose(model.predict(x[:3], verbose=0), first, 1e-5)
        model.inference = "mean"
        # The posterior mean is exactly the deterministic model.
        plain = ImagePMMClassifier(10, n=4, block_shape=(7, 7))
        for variable in plain.weights:
            suffix = variable.path.split("/", 1)[1]
            match = [w for w in model.weights if w.path.endswith(suffix)]
            variable.assign(match[0])
        self.assert_allclose(plain(x[:3]), model(x[:3]), atol=1e-5)
        assert isinstance(model.hamiltonians, ClassHamiltonians)

    def test_posterior_ensemble_is_the_seeded_predictive(self):
        rng = np.random.default_rng(1)
        x = rng.integers(0, 255, (5, 28, 28)).astype("uint8")
        model = uq.BayesianImagePMMClassifier(
            4,
            n=4,
            hamiltonian_size=3,
            num_samples=3,
            seed=5,
            posterior="low_rank",
            posterior_scale=0.3,
        )
        ensemble = model.posterior_ensemble()
        assert isinstance(ensemble, uq.DeepEnsemble)
        assert ensemble.num_members == 3 and ensemble.built  # exportable
        for member in ensemble.members:
            assert type(member) is ImagePMMClassifier
            assert not variational_layers(member)  # no random draws
        # Its mean is the model's Monte-Carlo predictive over the same
        # seeded draws, which disagree.
        outputs = ensemble.serving_outputs(x)
        self.assert_allclose(outputs["outputs"], model(x), atol=1e-5)
        assert to_numpy(outputs["mutual_information"]).min() > 1e-4
        with pytest.raises(ValueError, match="seed"):
            uq.BayesianImagePMMClassifier(3, n=4).posterior_ensemble()
        with pytest.raises(ValueError, match="num_samples"):
            model.posterior_ensemble(num_samples=0)

    def test_bad_arguments_are_refused(self):
        with pytest.raises(ValueError, match="num_samples"):
            uq.BayesianImagePMMClassifier(10, num_samples=0)
        with pytest.raises(ValueError, match="inference"):
            uq.BayesianImagePMMClassifier(10, inference="mode")
        with pytest.raises(ValueError, match="> 0"):
            uq.BayesianImagePMMClassifier(10, prior=uq.GOEPrior(-1.0))
