"""scikit-learn estimators of the affine PMMs, on Keras's own wrappers."""

import keras

from keras_pmm.models.pmm_classifier import PMMClassifier
from keras_pmm.models.pmm_regressor import PMMRegressor

_FIT_PARAMETERS = ("epochs", "batch_size", "verbose")


class _PMMEstimatorMixin:
    """Hyper-parameters as constructor arguments, for `GridSearchCV`.

    Keras's `SKLearnRegressor`/`SKLearnClassifier` take a model-building
    callable plus `model_kwargs` and `fit_kwargs` dicts. Here every PMM and
    fit argument is an estimator parameter of its own (so `set_params`,
    `GridSearchCV(param_grid={"n": [4, 6]})` and `clone` see them), and the
    two dicts are derived from them.
    """

    _model_parameters = ()

    @property
    def model_kwargs(self):
        return {name: getattr(self, name) for name in self._model_parameters}

    @model_kwargs.setter
    def model_kwargs(self, value):
        self._check_derived("model_kwargs", value)

    @property
    def fit_kwargs(self):
        return {name: getattr(self, name) for name in _FIT_PARAMETERS}

    @fit_kwargs.setter
    def fit_kwargs(self, value):
        self._check_derived("fit_kwargs", value)

    def _check_derived(self, name, value):
        if value:
            raise ValueError(
                f"{type(self).__name__} takes its {name} as estimator "
                f"parameters (e.g. n=..., epochs=...). Received: {name}="
                f"{value!r}"
            )

    def __sklearn_clone__(self):
        # Keras's wrappers clone with `model=` only (and drop fit_kwargs).
        return type(self)(**self.get_params(deep=False))

    def _raw_predict(self, X):
        from sklearn.utils.validation import check_is_fitted
        from sklearn.utils.validation import validate_data

        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.model_.predict(X, verbose=self.verbose)

    def predict(self, X):
        """Predictions for X, (N, n_features), in the targets' form."""
        return self._reverse_process_target(self._raw_predict(X))

    def _get_model(self, X, y):
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        return super()._get_model(X, y)


def _build_regressor(X, y, learning_rate, seed, **kwargs):
    model = PMMRegressor(num_outputs=y.shape[1], **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return model


def _build_classifier(X, y, learning_rate, seed, **kwargs):
    model = PMMClassifier(num_classes=y.shape[1], **kwargs)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    return model


class PMMSKLearnRegressor(_PMMEstimatorMixin, keras.wrappers.SKLearnRegressor):
    """`PMMRegressor` as a scikit-learn regressor (`keras.wrappers`).

    `fit(X, y)` builds a fresh `PMMRegressor` with this estimator's
    parameters (y (N,) or (N, k): k outputs) and trains it with
    `model.fit`; `predict(X)` returns (N,) or (N, k) in the targets' units
    (the model scales inputs and targets itself). `score` is R^2. The
    fitted model is `model_`, its history `history_`. Works in
    `GridSearchCV`, `cross_val_score` and `Pipeline` on every backend.
    Needs scikit-learn (`pip install keras-pmm[sklearn]`).

    Args:
        n, r, readout, decoder, field, which, rank, input_scaling,
            target_scaling, method: as for `PMMRegressor`.
        learning_rate: Adam's learning rate.
        epochs, batch_size, verbose: `model.fit` arguments.
        seed: None, or an int passed to `keras.utils.set_random_seed`
            before each model is built (this sets Python's, NumPy's and
            the backend's global seeds), for repeatable fits.
        warm_start: continue training `model_` on the next `fit`.

    Raises:
        ValueError: `model_kwargs`/`fit_kwargs` given (use the parameters).

    Example:
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_val_score
    >>> from keras_pmm.models import PMMSKLearnRegressor
    >>> x = np.linspace(-2, 2, 60)[:, None]
    >>> estimator = PMMSKLearnRegressor(n=4, epochs=40, seed=0)
    >>> scores = cross_val_score(estimator, x, x[:, 0] ** 2, cv=3)
    >>> scores.shape
    (3,)
    """

    _model_parameters = (
        "n",
        "r",
        "readout",
        "decoder",
        "field",
        "which",
        "rank",
        "input_scaling",
        "target_scaling",
        "method",
        "learning_rate",
        "seed",
    )

    def __init__(
        self,
        n=6,
        r=2,
        readout="observable",
        decoder="pairwise",
        field="real",
        which="lowest",
        rank=None,
        input_scaling="minmax",
        target_scaling="minmax",
        method="lapack",
        learning_rate=1e-2,
        epochs=100,
        batch_size=32,
        verbose=0,
        seed=None,
        warm_start=False,
    ):
        super().__init__(model=_build_regressor, warm_start=warm_start)
        self.n = n
        self.r = r
        self.readout = readout
        self.decoder = decoder
        self.field = field
        self.which = which
        self.rank = rank
        self.input_scaling = input_scaling
        self.target_scaling = target_scaling
        self.method = method
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.verbose = verbose
        self.seed = seed

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, **kwargs):
        """Builds a fresh `PMMRegressor` (see `warm_start`) and fits it.

        Args:
            X: (N, n_features) inputs.
            y: (N,) or (N, k) targets (Keras's wrapper takes (N,) only).
            **kwargs: `model.fit` arguments over the estimator's own.

        Returns:
            self.
        """
        from sklearn.utils.validation import validate_data

        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True)
        y = self._process_target(y, reset=True)
        model = self._get_model(X, y)
        self.history_ = model.fit(X, y, **{**self.fit_kwargs, **kwargs})
        self.model_ = model
        return self


class PMMSKLearnClassifier(
    _PMMEstimatorMixin, keras.wrappers.SKLearnClassifier
):
    """`PMMClassifier` as a scikit-learn classifier (`keras.wrappers`).

    `fit(X, y)` one-hot encodes the labels (any hashable labels, kept in
    `classes_`), builds a fresh `PMMClassifier` with one output per class
    and trains it with categorical cross-entropy; `predict(X)` returns
    labels and `decision_function(X)` the (N, classes) probabilities
    (Keras's wrapper has no `predict_proba`). `score` is accuracy. Scale
    features first (e.g. a `sklearn.pipeline` with a `MinMaxScaler`):
    `PMMClassifier` has no scaling of its own.
    Needs scikit-learn (`pip install keras-pmm[sklearn]`).

    Args:
        n, r, decoder, field, which, temperature, method: as for
            `PMMClassifier`.
        learning_rate, epochs, batch_size, verbose, seed, warm_start: as
            for `PMMSKLearnRegressor`.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.models import PMMSKLearnClassifier
    >>> x = np.random.default_rng(0).uniform(-1, 1, (80, 2))
    >>> labels = np.where(x[:, 0] > 0, "right", "left")
    >>> estimator = PMMSKLearnClassifier(n=3, epochs=60, seed=0)
    >>> estimator.fit(x, labels).score(x, labels) > 0.9
    True
    """

    _model_parameters = (
        "n",
        "r",
        "decoder",
        "field",
        "which",
        "temperature",
        "method",
        "learning_rate",
        "seed",
    )

    def __init__(
        self,
        n=6,
        r=2,
        decoder="pairwise",
        field="real",
        which="lowest",
        temperature=1.0,
        method="lapack",
        learning_rate=1e-2,
        epochs=100,
        batch_size=32,
        verbose=0,
        seed=None,
        warm_start=False,
    ):
        super().__init__(model=_build_classifier, warm_start=warm_start)
        self.n = n
        self.r = r
        self.decoder = decoder
        self.field = field
        self.which = which
        self.temperature = temperature
        self.method = method
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.verbose = verbose
        self.seed = seed

    def decision_function(self, X):
        """Class probabilities, (N, n_classes), in `classes_` order."""
        return self._raw_predict(X)
