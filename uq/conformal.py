"""Split-conformal prediction intervals and prediction sets.

Split conformal prediction (Vovk et al. 2005; Lei et al. 2018; Angelopoulos
& Bates, "A Gentle Introduction to Conformal Prediction", 2021): score each
example of a held-out calibration set (never the training set) by how
badly the model fits it, take the ceil((n + 1)(1 - alpha)) / n empirical
quantile q of the n scores, and predict every answer whose score on a new
example is <= q. When calibration and test examples are exchangeable, the
intervals or sets contain the truth with probability >= 1 - alpha
(marginally, over the calibration draw and the test example).

Scores:
    regression `"absolute"`: |y - mu(x)|; interval mu(x) +- q.
    regression `"normalized"`: |y - mu(x)| / sigma(x), sigma a predicted
        standard deviation (a Gaussian ensemble's, or your own `scale`);
        interval mu(x) +- q sigma(x), wider where the model is unsure.
    classification `"aps"` (Romano et al. 2020): the probability mass of
        the classes ranked strictly above y, plus U p(y) with the uniform
        draw U set to 0 by default (the top class scores 0 and is always in
        the set) or, with `randomized=True`, drawn U ~ Uniform(0, 1) per
        example (the paper's randomised score: coverage is 1 - alpha
        exactly rather than at least, and a set may be empty). Measured by
        `benchmarks/conformal_scores.py` on `pmm_mnist` (accuracy 0.977) at
        alpha = 0.1, calibrated on random halves of the MNIST test set:
        U = 0 gives one-class sets and coverage 0.977, the model's
        accuracy, not the asked-for 0.9; U ~ Uniform(0, 1) gives 0.898 with
        0.96 classes per set (9% empty, 87% one class, 4% two or more);
        the inclusive mass (U = 1) gives 1.000 with 4.0 classes per set.
    classification `"raps"` (Angelopoulos et al. 2021): APS plus
        `penalty` * max(0, rank(y) - `k_reg`), which keeps sets small.

The classes take any model with `predict` (a keras_pmm model, a
`DeepEnsemble`, a Bayesian PMM) or, through the `*_from_predictions`
methods, predictions you already have.
"""

import numpy as np

from keras_pmm.uq import _checks

REGRESSION_SCORES = ("absolute", "normalized")
CLASSIFICATION_SCORES = ("aps", "raps")


def conformal_quantile(scores, alpha):
    """The split-conformal threshold of calibration scores.

    The ceil((n + 1)(1 - alpha))-th smallest of the n scores (Angelopoulos
    & Bates 2021, eq. 1), or +inf when that rank exceeds n (too few
    calibration examples for the level: every answer is kept).

    Args:
        scores: (n,) finite calibration scores, n >= 1.
        alpha: miscoverage level in (0, 1).

    Returns:
        The threshold q, a float (possibly inf).

    Raises:
        ValueError: for an empty or non-finite score set or alpha outside
            (0, 1).

    Example:

    >>> import numpy as np
    >>> from keras_pmm.uq.conformal import conformal_quantile
    >>> conformal_quantile(np.arange(1.0, 20.0), alpha=0.1)  # rank 18 of 19
    18.0
    """
    scores = _checks.scores(scores, "scores")
    alpha = _checks.alpha(alpha)
    rank = int(np.ceil((len(scores) + 1) * (1.0 - alpha)))
    if rank > len(scores):
        return float("inf")
    return float(np.sort(scores)[rank - 1])


def _predict(model, x, batch_size):
    if not hasattr(model, "predict"):
        raise TypeError(
            f"`model` must have a `predict` method (a Keras model). "
            f"Received: {type(model).__name__}"
        )
    return model.predict(x, batch_size=batch_size, verbose=0)


def gaussian_outputs(prediction):
    """(mean, std or None) of a model's `predict` output.

    A dict with `"mean"` and `"variance"` (a Gaussian `DeepEnsemble`) gives
    both; a plain array is a mean without a spread.
    """
    if isinstance(prediction, dict):
        if "mean" not in prediction:
            raise ValueError(
                "A dict prediction must have a 'mean' entry. Received keys: "
                f"{sorted(prediction)}"
            )
        mean = _checks.as_numpy(prediction["mean"], "mean")
        variance = prediction.get("variance")
        std = None
        if variance is not None:
            std = np.sqrt(_checks.as_numpy(variance, "variance"))
        return mean.astype("float64"), std
    return _checks.as_numpy(prediction, "prediction").astype("float64"), None


class SplitConformalRegressor:
    """Split-conformal prediction intervals around a regression model.

    Args:
        model: a fitted model whose `predict` returns the mean (batch, k),
            or a dict with `"mean"` and `"variance"` (a Gaussian
            `keras_pmm.uq.DeepEnsemble`); None when you only use the
            `*_from_predictions` methods.
        alpha: miscoverage level in (0, 1); intervals cover with
            probability >= 1 - alpha.
        score: `"absolute"` or `"normalized"` (needs a spread: the model's
            variance or `scale`).
        scale: optional callable x -> (batch, k) positive spreads for
            `"normalized"` with a model that has no variance.
        batch_size: batch size of `model.predict`.

    Attributes:
        quantile: the fitted threshold q (None before `calibrate`).

    Example:

    >>> import numpy as np
    >>> from keras_pmm.uq.conformal import SplitConformalRegressor
    >>> rng = np.random.default_rng(0)
    >>> y_cal = rng.normal(size=1000)
    >>> conformal = SplitConformalRegressor(None, alpha=0.1)
    >>> conformal = conformal.calibrate_from_predictions(
    ...     y_cal, np.zeros(1000)
    ... )
    >>> lower, upper = conformal.interval_from_predictions(np.zeros(3))
    >>> bool(1.5 < upper[0] < 1.8)  # about the normal's 95% point, 1.645
    True
    """

    def __init__(
        self, model, alpha=0.1, score="absolute", scale=None, batch_size=256
    ):
        if score not in REGRESSION_SCORES:
            raise ValueError(
                f"`score` must be one of {REGRESSION_SCORES}. Received: "
                f"{score!r}"
            )
        self.model = model
        self.alpha = _checks.alpha(alpha)
        self.score = score
        self.scale = scale
        self.batch_size = batch_size
        self.quantile = None

    def _mean_and_scale(self, x):
        mean, std = gaussian_outputs(_predict(self.model, x, self.batch_size))
        if self.scale is not None:
            std = _checks.as_numpy(self.scale(x), "scale(x)")
        return mean, std

    def _spread(self, y_pred, scale):
        if self.score == "absolute":
            return np.ones_like(y_pred)
        if scale is None:
            raise ValueError(
                "score='normalized' needs a predicted spread: a model whose "
                "predict returns {'mean', 'variance'} (a Gaussian "
                "DeepEnsemble) or a `scale` callable."
            )
        scale = _checks.as_numpy(scale, "scale").astype("float64")
        scale = np.broadcast_to(scale, y_pred.shape)
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise ValueError("Predicted spreads must be finite and > 0.")
        return scale

    def calibrate(self, x, y):
        """Fits the threshold on a held-out calibration set (x, y)."""
        mean, std = self._mean_and_scale(x)
        return self.calibrate_from_predictions(y, mean, std)

    def calibrate_from_predictions(self, y_true, y_pred, scale=None):
        """Fits the threshold from calibration targets and predictions.

        Args:
            y_true: calibration targets, the shape of `y_pred`.
            y_pred: the model's means on the calibration inputs.
            scale: predicted spreads (for `"normalized"`).

        Returns:
            self.
        """
        y_true, y_pred = _checks.regression_pairs(y_true, y_pred)
        scores = np.abs(y_true - y_pred) / self._spread(y_pred, scale)
        self.quantile = conformal_quantile(scores.reshape(-1), self.alpha)
        return self

    def predict_interval(self, x):
        """(mean, lower, upper) arrays of the model's intervals on `x`."""
        mean, std = self._mean_and_scale(x)
        lower, upper = self.interval_from_predictions(mean, std)
        return mean, lower, upper

    def interval_from_predictions(self, y_pred, scale=None):
        """(lower, upper) = y_pred -+ q * spread."""
        if self.quantile is None:
            raise ValueError("Call `calibrate` before predicting intervals.")
        y_pred = _checks.as_numpy(y_pred, "y_pred").astype("float64")
        half_width = self.quantile * self._spread(y_pred, scale)
        return y_pred - half_width, y_pred + half_width


def _sorted_mass(probabilities):
    """Classes by decreasing probability and the mass ranked above each."""
    order = np.argsort(-probabilities, axis=-1, kind="stable")
    sorted_p = np.take_along_axis(probabilities, order, axis=-1)
    return order, np.cumsum(sorted_p, axis=-1) - sorted_p


class SplitConformalClassifier:
    """Split-conformal prediction sets (APS or RAPS) for a classifier.

    The score of class y is the total probability of the classes ranked
    strictly above it, plus U p(y) (plus, for RAPS, `penalty` for each rank
    beyond `k_reg`); the set of an example holds every class scoring <= q.

    With `randomized=False` (the default) U = 0: the top class scores 0
    (with `k_reg` >= 1) and is always included, so no set is empty, and
    coverage is at least 1 - alpha; a model more accurate than 1 - alpha
    then gets one-class sets whose coverage is its accuracy. With
    `randomized=True`, U ~ Uniform(0, 1) is drawn afresh for each
    calibration and test example (Romano et al. 2020, eq. 5): coverage is
    1 - alpha up to 1 / (n + 1), set sizes vary with the model's
    confidence, and a set may be empty (no class is needed at that level).

    Args:
        model: a fitted classifier whose `predict` returns (batch,
            num_classes) probabilities (any keras_pmm classifier or a
            `DeepEnsemble`); None when you only use `*_from_predictions`.
        alpha: miscoverage level in (0, 1).
        score: `"aps"` or `"raps"`.
        penalty: RAPS rank penalty lambda >= 0.
        k_reg: RAPS rank from which the penalty applies, >= 0.
        randomized: draw U ~ Uniform(0, 1) (randomised APS / RAPS) instead
            of U = 0.
        seed: int seed of the draws of U (with `randomized=True`): each
            `calibrate*` call and each `predict_set` / `sets_from_predictions`
            call draws from its own generator made from the seed, so the
            same inputs give the same threshold and the same sets every
            time; None draws fresh U on every call.
        batch_size: batch size of `model.predict`.

    Raises:
        ValueError: for an unknown `score`, `alpha` outside (0, 1), a
            negative `penalty` or `k_reg`, or a `seed` that is not an int.

    Example:

    >>> import numpy as np
    >>> from keras_pmm.uq.conformal import SplitConformalClassifier
    >>> rng = np.random.default_rng(0)
    >>> p = rng.dirichlet(np.ones(4), size=500)
    >>> y = np.array([rng.choice(4, p=row) for row in p])
    >>> sets = SplitConformalClassifier(None, alpha=0.2)
    >>> sets = sets.calibrate_from_predictions(y, p).sets_from_predictions(p)
    >>> sets.shape, sets.dtype
    ((500, 4), dtype('bool'))
    """

    def __init__(
        self,
        model,
        alpha=0.1,
        score="aps",
        penalty=0.01,
        k_reg=1,
        randomized=False,
        seed=None,
        batch_size=256,
    ):
        if score not in CLASSIFICATION_SCORES:
            raise ValueError(
                f"`score` must be one of {CLASSIFICATION_SCORES}. Received: "
                f"{score!r}"
            )
        if not float(penalty) >= 0:
            raise ValueError(f"`penalty` must be >= 0. Received: {penalty}")
        if int(k_reg) < 0:
            raise ValueError(f"`k_reg` must be >= 0. Received: {k_reg}")
        if not isinstance(randomized, (bool, np.bool_)):
            raise ValueError(
                f"`randomized` must be True or False. Received: {randomized!r}"
            )
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
        ):
            raise ValueError(
                f"`seed` must be an int or None. Received: {seed!r}"
            )
        self.model = model
        self.alpha = _checks.alpha(alpha)
        self.score = score
        self.penalty = float(penalty) if score == "raps" else 0.0
        self.k_reg = int(k_reg)
        self.randomized = bool(randomized)
        self.seed = None if seed is None else int(seed)
        self.batch_size = batch_size
        self.quantile = None

    def _uniform_draws(self, size, stream):
        """U for `size` examples: zeros, or Uniform(0, 1) draws from the
        seed's `stream` (0: calibration, 1: prediction)."""
        if not self.randomized:
            return None
        entropy = None if self.seed is None else [self.seed, stream]
        return np.random.default_rng(entropy).uniform(size=size)

    def class_scores(self, probabilities, u=None):
        """(batch, num_classes) conformity score of every class.

        Args:
            probabilities: (batch, num_classes) class probabilities.
            u: optional (batch,) values in [0, 1]: each class's own
                probability times u is added to its score (the randomised
                score); None for u = 0.
        """
        probabilities = _checks.probabilities(probabilities)
        order, mass = _sorted_mass(probabilities)
        ranks = np.arange(1, probabilities.shape[-1] + 1)
        mass = mass + self.penalty * np.maximum(0, ranks - self.k_reg)
        if u is not None:
            u = _checks.as_numpy(u, "u").astype("float64")
            if u.shape != probabilities.shape[:1] or not np.all(
                (u >= 0) & (u <= 1)
            ):
                raise ValueError(
                    "`u` must be (batch,) values in [0, 1], one per row of "
                    f"`probabilities` {probabilities.shape}. Received shape "
                    f"{u.shape}"
                )
            sorted_p = np.take_along_axis(probabilities, order, axis=-1)
            mass = mass + u[:, None] * sorted_p
        scores = np.empty_like(mass)
        np.put_along_axis(scores, order, mass, axis=-1)
        return scores

    def calibrate(self, x, y):
        """Fits the threshold on a held-out calibration set (x, y)."""
        return self.calibrate_from_predictions(
            y, _predict(self.model, x, self.batch_size)
        )

    def calibrate_from_predictions(self, y_true, probabilities):
        """Fits the threshold from labels and predicted probabilities."""
        y_true, probabilities = _checks.labelled_probabilities(
            y_true, probabilities
        )
        u = self._uniform_draws(len(y_true), stream=0)
        scores = self.class_scores(probabilities, u)
        true_scores = scores[np.arange(len(y_true)), y_true]
        self.quantile = conformal_quantile(true_scores, self.alpha)
        return self

    def predict_set(self, x):
        """(batch, num_classes) boolean prediction sets of the model on x."""
        return self.sets_from_predictions(
            _predict(self.model, x, self.batch_size)
        )

    def sets_from_predictions(self, probabilities):
        """(batch, num_classes) boolean sets: classes scoring <= q (and,
        unless `randomized`, the top class always)."""
        if self.quantile is None:
            raise ValueError("Call `calibrate` before predicting sets.")
        probabilities = _checks.probabilities(probabilities)
        u = self._uniform_draws(len(probabilities), stream=1)
        sets = self.class_scores(probabilities, u) <= self.quantile
        if not self.randomized:
            top = probabilities.argmax(axis=-1)
            sets[np.arange(len(top)), top] = True
        return sets


def coverage(y_true, sets_or_intervals):
    """Empirical coverage of prediction sets or intervals.

    Args:
        y_true: (batch,) labels (with boolean (batch, num_classes) sets) or
            targets (with a `(lower, upper)` pair of arrays).
        sets_or_intervals: boolean sets, or a `(lower, upper)` tuple.

    Returns:
        The fraction of examples whose truth is covered.

    Example:

    >>> import numpy as np
    >>> from keras_pmm.uq.conformal import coverage
    >>> coverage([0, 1], np.array([[True, False], [True, False]]))
    0.5
    """
    if isinstance(sets_or_intervals, tuple):
        lower, upper = sets_or_intervals
        y_true, lower = _checks.regression_pairs(y_true, lower, "lower")
        _, upper = _checks.regression_pairs(y_true, upper, "upper")
        return float(np.mean((lower <= y_true) & (y_true <= upper)))
    sets = _checks.prediction_sets(sets_or_intervals)
    y_true = _checks.labels(y_true, num_classes=sets.shape[-1])
    if len(y_true) != len(sets) or not len(y_true):
        raise ValueError(
            f"{len(y_true)} labels for {len(sets)} sets: they must describe "
            "the same non-empty set."
        )
    return float(np.mean(sets[np.arange(len(y_true)), y_true]))
