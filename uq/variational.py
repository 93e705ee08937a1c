"""Variational (Bayesian) versions of the PMM layers.

Each layer keeps its deterministic parent's weights as the posterior means
(same names, same shapes, so the posterior-mean layer *is* the parent layer
and exports like it) and adds, per variational weight w with packed
parameters theta (Blundell et al., "Weight Uncertainty in Neural Networks",
ICML 2015):

- `{w}_rho`: posterior standard deviations s = softplus(rho) (mean field),
- `{w}_factor` (with `posterior="low_rank"`): a rank-k factor F of each
  packed matrix, so that the posterior of one matrix's parameters is
  N(mu, diag(s^2) + F F^T): entries of the same Hermitian matrix are
  correlated, entries of different matrices are not.

A sample theta = mu + s * eps + F eta (eps, eta standard normal, drawn from
the layer's `keras.random.SeedGenerator`) is reparameterised, so gradients
flow to mu, rho and F on every backend; theta holds packed free parameters,
so every sampled matrix is exactly Hermitian. While training, each layer
adds kl_weight * KL(q || prior) (closed form, `keras_pmm.uq.priors`) with
`add_loss`; kl_weight is 1/N for N training examples (the ELBO per
example), set by the Bayesian models' `fit` unless given.
"""

import math

import keras
from keras import ops

from keras_pmm import _validation
from keras_pmm.layers import AffineHermitian
from keras_pmm.layers import ClassHamiltonians
from keras_pmm.layers import ObservableReadout
from keras_pmm.linalg.hermitian import hermitian_from_packed
from keras_pmm.uq import priors as priors_lib

POSTERIORS = ("mean_field", "low_rank")


def _inverse_softplus(value):
    return math.log(math.expm1(value))


class _GaussianPosterior:
    """q(theta) over one weight: its mean is the layer's own variable."""

    def __init__(self, layer, name, loc, prior, rank, init_scale):
        self.loc = loc
        self.prior = prior
        self.rho = layer.add_weight(
            name=f"{name}_rho",
            shape=loc.shape,
            initializer=keras.initializers.Constant(
                _inverse_softplus(init_scale)
            ),
        )
        self.factor = None
        if rank:
            self.factor = layer.add_weight(
                name=f"{name}_factor",
                shape=tuple(loc.shape) + (rank,),
                initializer=keras.initializers.RandomNormal(
                    stddev=init_scale / math.sqrt(rank)
                ),
            )

    def scale(self):
        return ops.softplus(ops.convert_to_tensor(self.rho))

    def sample(self, seed):
        """One reparameterised draw; `seed` is a `SeedGenerator` (a fresh
        draw per call) or an int (the same draw for the same int)."""
        loc = ops.convert_to_tensor(self.loc)
        noise = keras.random.normal(loc.shape, dtype=loc.dtype, seed=seed)
        theta = loc + self.scale() * noise
        if self.factor is not None:
            rank = self.factor.shape[-1]
            eta = keras.random.normal(
                tuple(loc.shape[:-1]) + (rank,),
                dtype=loc.dtype,
                seed=seed + 1 if isinstance(seed, int) else seed,
            )
            theta = theta + ops.einsum("...lk,...k->...l", self.factor, eta)
        return theta

    def kl(self):
        factor = None
        if self.factor is not None:
            factor = ops.convert_to_tensor(self.factor)
        return self.prior.kl_divergence(
            ops.convert_to_tensor(self.loc), self.scale(), factor
        )


def _draws(sample):
    """Whether a `sample` call argument asks for a posterior draw: True (a
    fresh draw) or an int (draw number `sample`); False / None for the
    posterior mean."""
    return sample is True or (
        sample is not None and not isinstance(sample, bool)
    )


class VariationalMixin:
    """What the variational layers share: posterior, priors, KL and noise.

    Constructor arguments (besides the parent layer's):
        prior: prior of the Hermitian weights: `GOEPrior(sigma)` /
            `GUEPrior(sigma)` (matching the field) or `GaussianPrior`;
            `GOEPrior(1.0)` / `GUEPrior(1.0)` by default.
        posterior: `"mean_field"` or `"low_rank"`.
        rank: k of the low-rank posterior factor, >= 1.
        posterior_scale: initial posterior standard deviation, > 0.
        kl_weight: weight of the KL term, >= 0; None for 1/N set by the
            Bayesian models' `fit` (0 until then: a layer used on its own
            needs an explicit value, usually 1 / training-set size).
        seed: seed of the layer's noise (int or None).

    Call arguments:
        sample: draw weights from the posterior (True: a fresh draw from
            the layer's seed generator), use the posterior means (False),
            or take draw number `sample` (an int: the same weights on every
            call, from `seed` and the int); defaults to `training`.
    """

    def _init_variational(
        self, prior, posterior, rank, posterior_scale, kl_weight, seed
    ):
        field = getattr(self, "field", "real")
        self.prior = priors_lib.get(
            prior or priors_lib.matrix_prior(field), field
        )
        self.posterior = _validation.check_choice(
            posterior, "posterior", POSTERIORS
        )
        self.rank = _validation.check_positive_int(rank, "rank")
        self.posterior_scale = _validation.check_positive(
            posterior_scale, "posterior_scale"
        )
        if kl_weight is not None and not float(kl_weight) >= 0:
            raise ValueError(
                f"`kl_weight` must be >= 0 or None. Received: {kl_weight}"
            )
        self.kl_weight = None if kl_weight is None else float(kl_weight)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.posteriors = {}

    def _add_posterior(self, name, loc, prior, low_rank=True):
        rank = self.rank if self.posterior == "low_rank" and low_rank else 0
        self.posteriors[name] = _GaussianPosterior(
            self, name, loc, prior, rank, self.posterior_scale
        )

    def _add_kl_weight(self):
        self.kl_weight_variable = self.add_weight(
            name="kl_weight",
            shape=(),
            initializer=keras.initializers.Constant(self.kl_weight or 0.0),
            trainable=False,
        )

    def kl_divergence(self):
        """KL(q || prior) of all the layer's variational weights (nats)."""
        return sum(posterior.kl() for posterior in self.posteriors.values())

    def _sampled(self, name, sample=True):
        """A draw of weight `name`: `sample=True` a fresh one from the
        layer's seed generator, an int `sample` the draw of that number
        (the same for every call and batch)."""
        seed = self.seed_generator
        if not isinstance(sample, bool):
            index = list(self.posteriors).index(name)
            seed = (
                int(sample) * 7919 + 4 * index + 104729 * (self.seed or 0)
            ) % (2**31 - 1)
        return ops.cast(self.posteriors[name].sample(seed), self.compute_dtype)

    def _add_kl_loss(self):
        self.add_loss(
            ops.cast(self.kl_weight_variable, "float32")
            * ops.cast(self.kl_divergence(), "float32")
        )

    def _variational_config(self):
        return {
            "prior": priors_lib.serialize(self.prior),
            "posterior": self.posterior,
            "rank": self.rank,
            "posterior_scale": self.posterior_scale,
            "kl_weight": self.kl_weight,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="keras_pmm")
class VariationalAffineHermitian(VariationalMixin, AffineHermitian):
    """Bayesian primary matrix H(x) = A_0 + sum_i x_i A_i.

    A Gaussian posterior over the packed A_0..A_p (`bias_matrix`,
    `kernel_matrices` are the means) under a random-matrix prior; see
    `VariationalMixin` for the extra arguments. Weights: 2(p + 1)L (mean
    field) or (2 + k)(p + 1)L (low rank), L = packed_size(n, field), plus
    the non-trainable KL weight.

    Example:

    >>> import keras
    >>> from keras_pmm.uq.variational import VariationalAffineHermitian
    >>> import numpy as np
    >>> layer = VariationalAffineHermitian(3, kl_weight=1e-3, seed=0)
    >>> x = np.ones((2, 4), "float32")
    >>> draw = lambda: keras.ops.convert_to_numpy(layer(x, sample=True))
    >>> a, b = draw(), draw()
    >>> bool(np.allclose(a, b))  # two posterior draws
    False
    >>> import numpy as np
    >>> bool(np.allclose(a, np.swapaxes(a, -1, -2)))  # exactly symmetric
    True
    """

    def __init__(
        self,
        n,
        field="real",
        prior=None,
        posterior="mean_field",
        rank=2,
        posterior_scale=1e-2,
        kl_weight=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(n, field=field, **kwargs)
        self._init_variational(
            prior, posterior, rank, posterior_scale, kl_weight, seed
        )

    def build(self, input_shape):
        super().build(input_shape)
        self._add_posterior("bias_matrix", self.bias_matrix, self.prior)
        self._add_posterior("kernel_matrices", self.kernel_matrices, self.prior)
        self._add_kl_weight()

    def call(self, inputs, training=None, sample=None):
        sample = bool(training) if sample is None else sample
        if training:
            self._add_kl_loss()
        if not _draws(sample):
            return super().call(inputs)
        return self.hermitian(
            inputs,
            self._sampled("kernel_matrices", sample),
            self._sampled("bias_matrix", sample),
        )

    def get_config(self):
        return {**super().get_config(), **self._variational_config()}


@keras.saving.register_keras_serializable(package="keras_pmm")
class VariationalClassHamiltonians(VariationalMixin, ClassHamiltonians):
    """Bayesian class Hamiltonians H_c = D_c M D_c^T + B_c.

    The symmetric offsets B_c take the matrix `prior` (GOE by default);
    the projections D_c (not Hermitian) take `projection_prior`
    (`GaussianPrior(1.0)` by default); both get Gaussian posteriors (the
    low-rank factor applies to each B_c). See `VariationalMixin`.

    Example:

    >>> import keras
    >>> from keras_pmm.uq.variational import VariationalClassHamiltonians
    >>> import numpy as np
    >>> layer = VariationalClassHamiltonians(3, kl_weight=1e-3, seed=0)
    >>> h = layer(np.eye(4, dtype="float32")[None], sample=True)
    >>> h = keras.ops.convert_to_numpy(h)
    >>> tuple(h.shape), bool(np.allclose(h, np.swapaxes(h, -1, -2)))
    ((1, 3, 4, 4), True)
    """

    def __init__(
        self,
        num_classes,
        size=None,
        prior=None,
        projection_prior=None,
        posterior="mean_field",
        rank=2,
        posterior_scale=1e-2,
        kl_weight=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(num_classes, size=size, **kwargs)
        self._init_variational(
            prior, posterior, rank, posterior_scale, kl_weight, seed
        )
        self.projection_prior = priors_lib.get(
            projection_prior or priors_lib.GaussianPrior(1.0)
        )
        if self.projection_prior.field is not None:
            raise ValueError(
                "The projections D_c are not Hermitian: `projection_prior` "
                f"must be a GaussianPrior. Received: {self.projection_prior}"
            )

    def build(self, input_shape):
        super().build(input_shape)
        self._add_posterior("offsets", self.offsets, self.prior)
        self._add_posterior(
            "projections",
            self.projections,
            self.projection_prior,
            low_rank=False,
        )
        self._add_kl_weight()

    def call(self, inputs, training=None, sample=None):
        sample = bool(training) if sample is None else sample
        if training:
            self._add_kl_loss()
        if not _draws(sample):
            return super().call(inputs)
        offsets = hermitian_from_packed(self._sampled("offsets", sample))
        return self.hamiltonians(
            inputs, self._sampled("projections", sample), offsets
        )

    def get_config(self):
        return {
            **super().get_config(),
            **self._variational_config(),
            "projection_prior": priors_lib.serialize(self.projection_prior),
        }


@keras.saving.register_keras_serializable(package="keras_pmm")
class VariationalObservableReadout(VariationalMixin, ObservableReadout):
    """Bayesian observable read-out: a posterior over the decoders.

    The packed Hermitian decoders D take the matrix `prior` (GOE / GUE by
    the decoder field); the biases stay point estimates. A sampled decoder
    set is used for the bilinears and its own centring norms. See
    `VariationalMixin` and `ObservableReadout`.

    Example:

    >>> from keras_pmm.uq.variational import VariationalObservableReadout
    >>> import numpy as np
    >>> readout = VariationalObservableReadout(2, 2, kl_weight=1e-3, seed=0)
    >>> h = np.diag([3.0, 1.0, 2.0]).astype("float32")[None]
    >>> tuple(readout(h, sample=True).shape)
    (1, 2)
    """

    def __init__(
        self,
        units,
        r,
        prior=None,
        posterior="mean_field",
        rank=2,
        posterior_scale=1e-2,
        kl_weight=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(units, r, **kwargs)
        self._init_variational(
            prior, posterior, rank, posterior_scale, kl_weight, seed
        )

    def build(self, input_shape):
        super().build(input_shape)
        self._add_posterior("decoders", self.decoders, self.prior)
        self._add_kl_weight()

    def call(self, inputs, training=None, sample=None):
        sample = bool(training) if sample is None else sample
        if training:
            self._add_kl_loss()
        if not _draws(sample):
            return super().call(inputs)
        decoders = self.decoder_matrices(self._sampled("decoders", sample))
        norms = None
        if self.centered and self.decoder != "expectation":
            norms = self.centring_norms(decoders)
        return self.read(inputs, decoders, norms)

    def get_config(self):
        return {**super().get_config(), **self._variational_config()}


VARIATIONAL_LAYERS = (
    VariationalAffineHermitian,
    VariationalClassHamiltonians,
    VariationalObservableReadout,
)


def variational_layers(model):
    """The variational layers of a model (depth-first)."""
    return [
        layer
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, VARIATIONAL_LAYERS)
    ]


def set_kl_weight(model, weight):
    """Sets the KL weight of every variational layer of `model`.

    Args:
        model: a Keras model with variational layers.
        weight: the weight, >= 0 (1 / training-set size for the ELBO per
            example).

    Returns:
        The number of layers set.
    """
    weight = float(weight)
    if not weight >= 0:
        raise ValueError(f"The KL weight must be >= 0. Received: {weight}")
    layers = variational_layers(model)
    for layer in layers:
        layer.kl_weight_variable.assign(weight)
    return len(layers)
