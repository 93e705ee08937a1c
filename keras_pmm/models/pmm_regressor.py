"""Affine PMM for regression."""

import keras

from keras_pmm import _validation
from keras_pmm.layers import AffineHermitian
from keras_pmm.layers import EigenvalueReadout
from keras_pmm.layers import ObservableReadout
from keras_pmm.linalg.selection import check_selection
from keras_pmm.models.pmm_task import AffinePMMTask

READOUTS = ("observable", "eigenvalue")


@keras.saving.register_keras_serializable(package="keras_pmm")
class PMMRegressor(AffinePMMTask):
    """Affine PMM regressor: H(x) = A_0 + sum_i x_i A_i, then a read-out.

    `readout="observable"` (AO-PMM) reads `num_outputs` values from eigenvector
    bilinears with decoders (see `ObservableReadout`); `readout="eigenvalue"`
    (AE-PMM) maps the r selected eigenvalues affinely to `num_outputs` values.
    Compiled with Adam(1e-2), mean squared error and mean absolute error.

    Parameters, for p input features and L = packed_size(n, field):
        (p + 1) L + num_outputs * (P L + 1)   (observable, P decoders each)
        (p + 1) L + num_outputs * (r + 1)     (eigenvalue)

    Args:
        num_outputs: number of regression targets.
        n: matrix size.
        r: eigenpairs used by the read-out.
        readout: `"observable"` or `"eigenvalue"`.
        decoder: decoder form of the observable read-out.
        field: `"real"` or `"complex"` matrices.
        which: `"lowest"`, `"highest"` or `"largest_magnitude"` eigenpairs.
        method: eigensolver, `"lapack"` or `"jacobi"`.
        commutator_penalty: commutator smoothing strength (`AffineHermitian`).
        **kwargs: `keras.Model` arguments (name, dtype).

    Example:
    >>> import numpy as np
    >>> from keras_pmm.models import PMMRegressor
    >>> x = np.linspace(-1, 1, 64, dtype="float32")[:, None]
    >>> model = PMMRegressor(n=4, r=2)
    >>> history = model.fit(x, np.sin(3 * x), epochs=1, verbose=0)
    >>> model.count_params()  # built by fit, from the 1 feature
    51

    References:
        Cook et al., "Parametric matrix models", Nat. Commun. 16, 5929 (2025).
    """

    def __init__(
        self,
        num_outputs=1,
        n=6,
        r=2,
        readout="observable",
        decoder="pairwise",
        field="real",
        which="lowest",
        method="lapack",
        commutator_penalty=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_outputs = _validation.check_positive_int(
            num_outputs, "num_outputs"
        )
        self.n = _validation.check_positive_int(n, "n")
        self.r = check_selection(r, n, which)
        self.readout = _validation.check_choice(readout, "readout", READOUTS)
        self.decoder = decoder
        self.field = field
        self.which = which
        self.method = method
        self.commutator_penalty = commutator_penalty
        self.primary = AffineHermitian(
            n,
            field=field,
            commutator_penalty=commutator_penalty,
            dtype=self.dtype_policy,
            name="primary",
        )
        if readout == "observable":
            self.readout_layer = ObservableReadout(
                self.num_outputs,
                r,
                which=which,
                decoder=decoder,
                field=field,
                method=method,
                dtype=self.dtype_policy,
                name="readout",
            )
        else:
            self.readout_layer = EigenvalueReadout(
                r,
                which=which,
                units=self.num_outputs,
                method=method,
                dtype=self.dtype_policy,
                name="readout",
            )
        self.compile()

    def call(self, inputs):
        self.check_inputs(inputs)
        return self.readout_layer(self.primary(inputs))

    def default_loss(self):
        return keras.losses.MeanSquaredError()

    def default_metrics(self):
        return [keras.metrics.MeanAbsoluteError(name="mae")]

    def get_config(self):
        return {
            **super().get_config(),
            "num_outputs": self.num_outputs,
            "n": self.n,
            "r": self.r,
            "readout": self.readout,
            "decoder": self.decoder,
            "field": self.field,
            "which": self.which,
            "method": self.method,
            "commutator_penalty": self.commutator_penalty,
        }
