"""Affine PMM for regression."""

import itertools
import warnings

import keras
import numpy as np
from keras import ops

from keras_pmm import _validation
from keras_pmm.layers import AffineHermitian
from keras_pmm.layers import EigenvalueReadout
from keras_pmm.layers import FeatureScaling
from keras_pmm.layers import LowRankAffineHermitian
from keras_pmm.layers import ObservableReadout
from keras_pmm.linalg.selection import check_selection
from keras_pmm.models.pmm_task import AffinePMMTask

READOUTS = ("observable", "eigenvalue")
EIGENVALUE_MAPS = ("affine", None)
SCALINGS = ("minmax", "standard", None)
# A later fit warns when its data's own scaling is this far from the kept
# one (FeatureScaling.drift: 0.7 of its range, or a factor e^0.7 ~ 2).
_DRIFT_WARNING = 0.7


@keras.saving.register_keras_serializable(package="keras_pmm")
class PMMRegressor(AffinePMMTask):
    """Affine PMM regressor: H(x) = A_0 + sum_i x_i A_i, then a read-out.

    `readout="observable"` (AO-PMM) reads `num_outputs` values from eigenvector
    bilinears with decoders (see `ObservableReadout`); `readout="eigenvalue"`
    (AE-PMM) maps the r selected eigenvalues affinely to `num_outputs` values,
    or, with `eigenvalue_map=None`, returns them as they are (num_outputs =
    r): the outputs are then eigenvalues of H(x), which is what lets an
    AE-PMM of an affine Hamiltonian extrapolate in x (an affine mix of
    eigenvalues is not an eigenvalue).
    With `rank=k` the couplings are low-rank, A_i = U_i diag(s_i) U_i^H
    (`LowRankAffineHermitian`). Compiled with Adam(1e-2), mean squared error
    and mean absolute error.

    Scaling. Inputs are scaled inside the model, x -> (x - offset) / scale
    per feature (`input_scaling`: min-max to [-1, 1] by default, so that
    A_0 is H at the centre of the data, or standard scores), and the
    read-out's values z are mapped to targets as y = z * scale_y + offset_y
    (`target_scaling`: min-max, z in [0, 1] on the training targets, as
    scikit-learn's `MinMaxScaler` and the PMM paper's examples, or
    standard scores). See `FeatureScaling`. The statistics come from
    `adapt(x, y)`, which `fit` calls on its training arrays the first time
    (call `adapt` yourself before fitting a dataset or generator). They are
    non-trainable weights, so they are saved and exported with the model,
    and `predict` returns targets in their own units. The training loss is
    measured on scaled targets (so its value is comparable across data
    sets, as in the PMM paper); the metrics (MAE) are in target units.
    `None` switches a scaling off.

    Parameters (trainable), for p input features and L = packed_size(n,
    field):
        (p + 1) L + num_outputs * (P L + 1)   (observable, P decoders each)
        (p + 1) L + num_outputs * (r + 1)     (eigenvalue)
        (p + 1) L                             (eigenvalue, no map)
    with `rank=k`, replace (p + 1) L by L + p k (n + 1) (real) or
    L + p k (2 n + 1) (complex). `count_params()` adds the 2 p + 2
    num_outputs non-trainable scaling values.

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
        rank: None for full couplings A_i, or k in [1, n] for rank-k ones.
        input_scaling: `"minmax"`, `"standard"` or None.
        target_scaling: `"minmax"`, `"standard"` or None.
        eigenvalue_map: `"affine"` (default) or None: how the eigenvalue
            read-out maps its r eigenvalues to the outputs (None needs
            `readout="eigenvalue"` and num_outputs = r).
        **kwargs: `keras.Model` arguments (name, dtype).

    Raises:
        ValueError: invalid arguments; inputs that are not (batch, p) or not
            finite; `fit` on a dataset before `adapt` when scaling is on.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.models import PMMRegressor
    >>> x = np.linspace(-3, 3, 64, dtype="float32")[:, None]
    >>> model = PMMRegressor(n=4, r=2)
    >>> history = model.fit(x, 10 + np.sin(x), epochs=1, verbose=0)
    >>> len(model.trainable_weights), model.count_params()  # built by fit
    (4, 55)
    >>> round(float(model.target_scaler.offset[0]), 1)  # min(y), from fit
    9.0

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
        rank=None,
        input_scaling="minmax",
        target_scaling="minmax",
        eigenvalue_map="affine",
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
        self.rank = rank
        self.input_scaling = _validation.check_choice(
            input_scaling, "input_scaling", SCALINGS
        )
        self.target_scaling = _validation.check_choice(
            target_scaling, "target_scaling", SCALINGS
        )
        self.eigenvalue_map = _validation.check_choice(
            eigenvalue_map, "eigenvalue_map", EIGENVALUE_MAPS
        )
        if eigenvalue_map is None and (
            readout != "eigenvalue" or self.num_outputs != self.r
        ):
            raise ValueError(
                "`eigenvalue_map=None` returns the r selected eigenvalues "
                "themselves: it needs readout='eigenvalue' and num_outputs "
                f"== r. Received: readout={readout!r}, "
                f"num_outputs={num_outputs}, r={r}"
            )
        primary = dict(
            field=field,
            commutator_penalty=commutator_penalty,
            dtype=self.dtype_policy,
            name="primary",
        )
        self.primary = (
            AffineHermitian(n, **primary)
            if rank is None
            else LowRankAffineHermitian(n, rank, **primary)
        )
        self.input_scaler = self._scaler(
            input_scaling, "input_scaler", (-1.0, 1.0)
        )
        self.target_scaler = self._scaler(
            target_scaling, "target_scaler", (0.0, 1.0)
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
                units=None if eigenvalue_map is None else self.num_outputs,
                method=method,
                dtype=self.dtype_policy,
                name="readout",
            )
        self.compile()

    def _scaler(self, mode, name, feature_range):
        if mode is None:
            return None
        # float32 statistics under mixed precision: targets may exceed
        # float16's range before scaling.
        policy = self.dtype_policy
        dtype = "float32" if policy.compute_dtype == "float16" else policy
        return FeatureScaling(mode, feature_range, dtype=dtype, name=name)

    @property
    def adapted(self):
        """Whether the scaling statistics were fitted (or loaded)."""
        return all(
            scaler.adapted
            for scaler in (self.input_scaler, self.target_scaler)
            if scaler is not None
        )

    def adapt(self, x, y=None, steps=None):
        """Fits the input and target scaling to training data.

        Args:
            x: (N, p) inputs, or a dataset/iterable of (x, y) batches (a
                `tf.data.Dataset`, `keras.utils.PyDataset`, generator).
            y: (N,) or (N, num_outputs) targets with array inputs. None
                with arrays: only the input scaling is fitted, and the
                target scaling stays the identity (for outputs that are not
                targets, e.g. the mean/variance heads of a `DeepEnsemble`).
            steps: batches to read from a dataset; needed where its length
                is unknown (a generator, a repeated dataset).

        Raises:
            ValueError: NaN/inf or empty data, a shape that does not fit, or
                a dataset of unknown length without `steps`.
        """
        targets_given = y is not None
        if y is None and not _validation.is_array_like(x):
            if steps is None:
                try:
                    len(x)
                except TypeError:
                    raise ValueError(
                        "`adapt` cannot tell where this dataset or generator "
                        "ends: pass `steps`, the number of batches to read."
                    ) from None
            else:
                x = itertools.islice(iter(x), steps)
            batches = list(x)  # one pass over the dataset
            x = [batch[0] for batch in batches]
            y = [batch[1] for batch in batches]
            targets_given = True
        else:
            self.check_inputs(x)
            x, y = [x], [y]
        if self.input_scaler is not None:
            self.input_scaler.adapt(x)
        if self.target_scaler is not None and not targets_given:
            self.target_scaler.adapt([np.zeros((1, self.num_outputs))])
        elif self.target_scaler is not None:
            targets = [keras.ops.convert_to_numpy(t) for t in y]
            for target in targets:
                self.check_targets(target)
            targets = [t.reshape(t.shape[0], -1) for t in targets]
            self.target_scaler.adapt(targets)

    def check_targets(self, y, name="y"):
        """Raises unless array targets `y` are finite, (N,) or (N, num_outputs).

        Keras's losses would broadcast (N, k) targets against (N, 1)
        predictions without a word.
        """
        super().check_targets(y, name)
        if not _validation.is_array_like(y):
            return
        shape = tuple(y.shape)
        if shape[1:] not in ((), (self.num_outputs,)) or (
            not shape[1:] and self.num_outputs != 1
        ):
            raise ValueError(
                f"PMMRegressor(num_outputs={self.num_outputs}) expects "
                f"targets shaped (N, {self.num_outputs})"
                + (" or (N,)" if self.num_outputs == 1 else "")
                + f". Received: shape={shape}"
            )

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`, after fitting the scaling on a first fit.

        The first `fit` on arrays adapts the input and target scaling to
        (x, y); later fits keep it, so a model can be trained on. A later
        fit on data that lie far outside that scaling (shifted by more than
        0.7 of its range, or wider or narrower by more than a factor 2) warns:
        call `adapt(x, y)` first to re-fit the scaling to the new data.

        Raises:
            ValueError: empty, NaN/inf or wrongly shaped data, or a dataset
                for a model that was never adapted.
        """
        _validation.check_not_empty(x, "x")
        self.check_targets(y)
        if self.adapted and _validation.is_array_like(x) and y is not None:
            self._warn_on_drift(x, y)
        if not self.adapted:
            if not (_validation.is_array_like(x) and y is not None):
                raise ValueError(
                    "PMMRegressor scales inputs and targets with statistics "
                    "of the training data: call `model.adapt(dataset)` "
                    "(with `steps=` for a generator) before `fit` on a "
                    "dataset or generator (or build the "
                    "model with input_scaling=None, target_scaling=None)."
                )
            self.check_inputs(x)
            _validation.check_finite(y, "y")
            self.adapt(x, y)
        return super().fit(x, y, *args, **kwargs)

    def _warn_on_drift(self, x, y):
        drifts = [
            (what, scaler.drift(np.reshape(data, (len(data), -1))))
            for what, scaler, data in (
                ("inputs", self.input_scaler, keras.ops.convert_to_numpy(x)),
                ("targets", self.target_scaler, keras.ops.convert_to_numpy(y)),
            )
            if scaler is not None and len(data)
        ]
        far = [
            f"{what} (drift {value:.2g})"
            for what, value in drifts
            if value > _DRIFT_WARNING
        ]
        if far:
            warnings.warn(
                f"PMMRegressor.fit: the {' and '.join(far)} lie far outside "
                "the scaling fitted by the first fit, which this fit keeps. "
                "Call `model.adapt(x, y)` before `fit` to re-fit the scaling "
                "to these data.",
                stacklevel=3,
            )

    def build(self, input_shape):
        super().build(input_shape)
        if self.input_scaler is not None and not self.input_scaler.built:
            self.input_scaler.build(input_shape)
        if self.target_scaler is not None and not self.target_scaler.built:
            self.target_scaler.build((None, self.num_outputs))

    def call(self, inputs):
        self.check_inputs(inputs)
        if self.input_scaler is not None:
            inputs = ops.cast(self.input_scaler(inputs), self.compute_dtype)
        outputs = self.readout_layer(self.primary(inputs))
        if self.target_scaler is None:
            return outputs
        return ops.cast(self.target_scaler.inverse(outputs), outputs.dtype)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        """The compiled loss on scaled targets (see the class docstring)."""
        if self.target_scaler is not None and y is not None:
            y = self.target_scaler(ops.reshape(y, ops.shape(y_pred)))
            y_pred = self.target_scaler(y_pred)
        return super().compute_loss(
            x, y, y_pred, sample_weight=sample_weight, training=training
        )

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
            "rank": self.rank,
            "input_scaling": self.input_scaling,
            "target_scaling": self.target_scaling,
            "eigenvalue_map": self.eigenvalue_map,
        }
