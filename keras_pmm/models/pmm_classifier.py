"""Affine AO-PMM for classification of feature vectors."""

import keras

from keras_pmm import _validation
from keras_pmm.layers import AffineHermitian
from keras_pmm.layers import ObservableReadout
from keras_pmm.linalg.selection import check_selection
from keras_pmm.models.pmm_classifier_task import PMMClassifierTask
from keras_pmm.models.pmm_task import AffinePMMTask


@keras.saving.register_keras_serializable(package="keras_pmm")
class PMMClassifier(AffinePMMTask, PMMClassifierTask):
    """Affine AO-PMM classifier returning class probabilities.

    H(x) = A_0 + sum_i x_i A_i; one observable read-out per class gives z_c,
    and p_c = softmax(z_c / temperature). Compiled with Adam(1e-2), sparse
    categorical cross-entropy and accuracy.

    Parameters, for p features and L = packed_size(n, field):
        (p + 1) L + num_classes * (P * L + 1),   P = r(r+1)/2 or 1.

    Args:
        num_classes: number of classes, >= 2.
        n, r, decoder, field, which, method, commutator_penalty: as for
            `PMMRegressor`.
        temperature: softmax temperature, > 0.
        **kwargs: `keras.Model` arguments.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.models import PMMClassifier
    >>> model = PMMClassifier(num_classes=3, n=4, r=2)
    >>> model.predict(np.zeros((2, 5), "float32"), verbose=0).shape
    (2, 3)
    """

    def __init__(
        self,
        num_classes,
        n=6,
        r=2,
        decoder="pairwise",
        field="real",
        which="lowest",
        method="lapack",
        temperature=1.0,
        commutator_penalty=0.0,
        **kwargs,
    ):
        super().__init__(
            num_classes=num_classes, temperature=temperature, **kwargs
        )
        self.n = _validation.check_positive_int(n, "n")
        self.r = check_selection(r, n, which)
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
        self.readout_layer = ObservableReadout(
            self.num_classes,
            r,
            which=which,
            decoder=decoder,
            field=field,
            method=method,
            dtype=self.dtype_policy,
            name="readout",
        )
        self.compile()

    def call(self, inputs):
        self.check_inputs(inputs)
        return self.probabilities(self.readout_layer(self.primary(inputs)))

    def get_config(self):
        return {
            **super().get_config(),
            "n": self.n,
            "r": self.r,
            "decoder": self.decoder,
            "field": self.field,
            "which": self.which,
            "method": self.method,
            "commutator_penalty": self.commutator_penalty,
        }
