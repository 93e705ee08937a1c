"""Bayesian image PMM classifier: variational Hamiltonians and decoders."""

import keras
from keras import ops

from keras_pmm import _precision
from keras_pmm import _validation
from keras_pmm.models import ImagePMMClassifier
from keras_pmm.uq import _tensors
from keras_pmm.uq import priors as priors_lib
from keras_pmm.uq.variational import VariationalClassHamiltonians
from keras_pmm.uq.variational import VariationalObservableReadout
from keras_pmm.uq.variational import set_kl_weight

INFERENCE_MODES = ("sample", "mean")
# Constructor arguments of BayesianImagePMMClassifier that
# ImagePMMClassifier does not take.
_BAYESIAN_ARGUMENTS = (
    "prior",
    "projection_prior",
    "posterior",
    "rank",
    "posterior_scale",
    "kl_weight",
    "num_samples",
    "inference",
    "seed",
)


def _relative_path(variable):
    """A model variable's path without the model's name: "layer/weight"."""
    return variable.path.split("/", 1)[-1]


@keras.saving.register_keras_serializable(package="keras_pmm")
class BayesianImagePMMClassifier(ImagePMMClassifier):
    """`ImagePMMClassifier` with a Gaussian posterior over its PMM weights.

    The block Gram encoder stays a point estimate; the class Hamiltonians
    (offsets B_c under a GOE prior, projections D_c under a Gaussian one)
    and the decoders (GOE prior) are variational
    (`VariationalClassHamiltonians`, `VariationalObservableReadout`).
    Training maximises the ELBO per example: the cross-entropy of one
    posterior draw per batch plus KL(q || prior) / N (`kl_weight=None`
    sets 1/N from the training set in `fit`).

    Prediction (`inference`):
        `"sample"`: the Monte-Carlo predictive 1/S sum_s p(y | x, theta_s)
            over `num_samples` posterior draws: with a `seed`, the same S
            draws for every batch and call (predictions are deterministic
            on a backend; each backend has its own random stream); without
            one, new draws every call.
        `"mean"`: the posterior-mean network, deterministic; what export
            of the model itself uses (the model is then an
            `ImagePMMClassifier` in all but name). It keeps no uncertainty
            beyond its own entropy.
    `predict_samples(x)` returns the S draws' probabilities themselves, and
    `posterior_ensemble()` the S seeded draws as a `DeepEnsemble` of fixed
    networks: export that to keep the Monte-Carlo predictive and its
    mutual information in a deterministic graph (no random ops).

    Args:
        num_classes, **kwargs: as for `ImagePMMClassifier`.
        prior: prior of the Hermitian weights (`GOEPrior(1.0)` default).
        projection_prior: prior of the projections (`GaussianPrior(1.0)`).
        posterior: `"mean_field"` or `"low_rank"` (rank-`rank` factor per
            Hermitian matrix).
        rank: the low-rank factor's rank.
        posterior_scale: initial posterior standard deviation.
        kl_weight: KL weight; None for 1/N of the data passed to `fit`.
        num_samples: S, posterior draws per prediction, >= 1.
        inference: `"sample"` or `"mean"`.
        seed: seed of the posterior draws.

    Example:

    >>> from keras_pmm.uq.bayesian import BayesianImagePMMClassifier
    >>> import numpy as np
    >>> model = BayesianImagePMMClassifier(10, n=4, num_samples=3, seed=0)
    >>> images = np.zeros((2, 28, 28), "uint8")
    >>> model.predict(images, verbose=0).shape
    (2, 10)
    >>> model.predict_samples(images).shape  # (S, batch, classes)
    (3, 2, 10)

    References:
        Blundell et al., "Weight Uncertainty in Neural Networks", ICML 2015;
        Nooraiepour, "Bayesian Parametric Matrix Models", arXiv 2509.12406.
    """

    def __init__(
        self,
        num_classes,
        prior=None,
        projection_prior=None,
        posterior="mean_field",
        rank=2,
        posterior_scale=1e-2,
        kl_weight=None,
        num_samples=10,
        inference="sample",
        seed=None,
        **kwargs,
    ):
        # Read by the layer hooks that ImagePMMClassifier.__init__ calls.
        self.prior = priors_lib.get(prior or priors_lib.GOEPrior(1.0))
        self.projection_prior = priors_lib.get(projection_prior)
        self.posterior = posterior
        self.rank = rank
        self.posterior_scale = posterior_scale
        self.kl_weight = kl_weight
        self.seed = seed
        self.num_samples = _validation.check_positive_int(
            num_samples, "num_samples"
        )
        self.inference = inference
        super().__init__(num_classes, **kwargs)

    @property
    def inference(self):
        """`"sample"` or `"mean"`; may be changed at any time (the next
        `predict` or `evaluate` then retraces its step)."""
        return self._inference

    @inference.setter
    def inference(self, value):
        self._inference = _validation.check_choice(
            value, "inference", INFERENCE_MODES
        )
        # A compiled predict / evaluate step has the old mode traced in.
        self.predict_function = None
        self.test_function = None

    def _variational_arguments(self, offset):
        return dict(
            prior=self.prior,
            posterior=self.posterior,
            rank=self.rank,
            posterior_scale=self.posterior_scale,
            kl_weight=self.kl_weight,
            seed=None if self.seed is None else self.seed + offset,
        )

    def make_hamiltonians(self, layer_class, *args, **kwargs):
        return VariationalClassHamiltonians(
            *args,
            projection_prior=self.projection_prior,
            **self._variational_arguments(1),
            **kwargs,
        )

    def make_readout(self, layer_class, *args, **kwargs):
        return VariationalObservableReadout(
            *args, **self._variational_arguments(2), **kwargs
        )

    def sample_logits(self, encodings, training=None, draw=None):
        """Logits of one posterior draw, (batch, num_classes): a fresh one,
        or with an int `draw` the seeded draw of that number."""
        return self.class_logits(
            encodings, training=training, sample=True if draw is None else draw
        )

    def call(self, inputs, training=None):
        encodings = self.encode(inputs)
        if training:
            return self.probabilities(self.sample_logits(encodings, True))
        if self.inference == "mean":
            return self.probabilities(
                self.class_logits(encodings, sample=False)
            )
        return _precision.mean(self._sample_probabilities(encodings), axis=0)

    def serving_outputs(self, inputs):
        """The named outputs `keras_pmm.export` writes: the posterior-mean
        network's, whatever `inference` is (random draws have no TFLite
        builtins, and an exported model should be deterministic).

        Args:
            inputs: raw images (batch, H, W).

        Returns:
            `{"outputs": class probabilities (batch, C), "entropy": their
            entropy H[p] (batch,) in nats}`.
        """
        probabilities = self.probabilities(
            self.class_logits(self.encode(inputs), sample=False)
        )
        return {
            "outputs": probabilities,
            "entropy": _tensors.predictive_entropy(probabilities),
        }

    def _sample_probabilities(self, encodings):
        # With a seed, prediction uses the same S draws for every batch and
        # call (deterministic, like a fixed ensemble of S networks);
        # without one, fresh draws each call.
        draws = range(self.num_samples)
        return ops.stack(
            [
                self.probabilities(
                    self.sample_logits(
                        encodings, draw=None if self.seed is None else draw
                    )
                )
                for draw in draws
            ]
        )

    def predict_samples(self, x, batch_size=256):
        """(S, batch, num_classes) probabilities of S posterior draws."""
        import numpy as np

        self.check_inputs(x)
        outputs = []
        for start in range(0, len(x), batch_size):
            encodings = self.encode(x[start : start + batch_size])
            outputs.append(
                ops.convert_to_numpy(self._sample_probabilities(encodings))
            )
        return np.concatenate(outputs, axis=1)

    def posterior_ensemble(self, num_samples=None):
        """The seeded posterior draws as a `DeepEnsemble`, for export.

        Member s is an `ImagePMMClassifier` whose class Hamiltonians and
        decoders are posterior draw number s (the encoder and biases are
        the model's own point estimates): with the default `num_samples`
        its `predict` is this model's `inference="sample"` predictive, the
        same S draws averaged. The ensemble is an ordinary deterministic
        model: `keras_pmm.export` writes it with no random ops, and its
        exported `outputs`, `entropy` and `mutual_information` are the
        Monte-Carlo predictive, its entropy and the draws' disagreement.

        Args:
            num_samples: S, the number of draws (members), an int >= 1;
                None for the model's `num_samples`.

        Returns:
            a classification `keras_pmm.uq.DeepEnsemble` of S members.

        Raises:
            ValueError: the model has no `seed` (its draws would change on
                every call, so no fixed set of draws represents it), or
                `num_samples` is not an int >= 1.

        Example:

        >>> from keras_pmm.uq.bayesian import BayesianImagePMMClassifier
        >>> import numpy as np
        >>> model = BayesianImagePMMClassifier(3, n=4, num_samples=2, seed=0)
        >>> ensemble = model.posterior_ensemble()
        >>> images = np.zeros((1, 28, 28), "uint8")
        >>> bool(np.allclose(
        ...     ensemble.predict(images, verbose=0),
        ...     model.predict(images, verbose=0), atol=1e-5))
        True
        """
        from keras_pmm.uq.ensemble import DeepEnsemble

        if self.seed is None:
            raise ValueError(
                "posterior_ensemble needs a model with a `seed`: without one "
                "its posterior draws change on every call. Received: "
                "seed=None"
            )
        num_samples = _validation.check_positive_int(
            self.num_samples if num_samples is None else num_samples,
            "num_samples",
        )
        own = {_relative_path(v): v for v in self.variables}
        config = {
            key: value
            for key, value in self.get_config().items()
            if key not in _BAYESIAN_ARGUMENTS
        }
        members = []
        for draw in range(num_samples):
            member = ImagePMMClassifier.from_config(
                {**config, "name": f"{self.name}_draw_{draw}"}
            )
            for variable in member.variables:
                path = _relative_path(variable)
                layer_name, weight_name = path.rsplit("/", 1)
                layer = getattr(self, layer_name, None)
                posteriors = getattr(layer, "posteriors", {})
                if weight_name in posteriors:
                    value = layer._sampled(weight_name, draw)
                else:
                    value = own[path]
                variable.assign(ops.convert_to_numpy(value))
            members.append(member)
        ensemble = DeepEnsemble(
            members, task="classification", name=f"{self.name}_draws"
        )
        ensemble.build((None,) + self.image_shape)
        return ensemble

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; with `kl_weight=None` the KL weight is first
        set to 1/N, N the number of training examples in `x` (arrays)."""
        if self.kl_weight is None:
            if not hasattr(x, "__len__") or not hasattr(x, "shape"):
                raise ValueError(
                    "With kl_weight=None the KL weight is 1/N from the "
                    "training arrays; for a dataset pass kl_weight=1/N to "
                    "the model or call keras_pmm.uq.set_kl_weight(model, "
                    "1 / N) first."
                )
            set_kl_weight(self, 1.0 / len(x))
        return super().fit(x, y, *args, **kwargs)

    def kl_divergence(self):
        """KL(q || prior) of all variational weights, in nats."""
        return self.hamiltonians.kl_divergence() + self.readout.kl_divergence()

    def get_config(self):
        return {
            **super().get_config(),
            "prior": priors_lib.serialize(self.prior),
            "projection_prior": priors_lib.serialize(self.projection_prior),
            "posterior": self.posterior,
            "rank": self.rank,
            "posterior_scale": self.posterior_scale,
            "kl_weight": self.kl_weight,
            "num_samples": self.num_samples,
            "inference": self.inference,
            "seed": self.seed,
        }
