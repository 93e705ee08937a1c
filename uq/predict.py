"""`predict_with_uncertainty`: one call for every kind of keras_pmm model."""

import numpy as np

from keras_pmm.uq import _checks
from keras_pmm.uq.conformal import SplitConformalClassifier
from keras_pmm.uq.conformal import SplitConformalRegressor
from keras_pmm.uq.metrics import mutual_information
from keras_pmm.uq.metrics import predictive_entropy


def _draws(model, x, batch_size):
    """(draws, batch, ...) member or posterior-sample predictions, or None."""
    from keras_pmm.uq.bayesian import BayesianImagePMMClassifier
    from keras_pmm.uq.ensemble import DeepEnsemble

    if isinstance(model, DeepEnsemble):
        return model.predict_members(x, batch_size=batch_size)
    if isinstance(model, BayesianImagePMMClassifier):
        return model.predict_samples(x, batch_size=batch_size)
    return None


KINDS = ("classification", "regression")


def _declared_kind(model):
    """The task a model declares (a `DeepEnsemble`'s task, "classification"
    for a model with `num_classes`), or None."""
    from keras_pmm.uq.ensemble import DeepEnsemble

    if isinstance(model, DeepEnsemble):
        return model.task
    if getattr(model, "num_classes", None) is not None:
        return "classification"
    return None


def _looks_like_probabilities(prediction):
    """Whether a prediction holds class probabilities: a finite array of
    rank >= 2 with >= 2 entries on its last axis, all >= 0, every row
    summing to 1 (within float32 rounding)."""
    if isinstance(prediction, (dict, list, tuple)):
        return False
    try:
        _checks.probabilities(prediction)
    except ValueError:
        return False
    return True


def _kind(model, kind, prediction):
    declared = _declared_kind(model)
    if kind is None:
        if declared is not None:
            return declared
        if _looks_like_probabilities(prediction()):
            return "classification"
        return "regression"
    if kind not in KINDS:
        raise ValueError(
            f"`kind` must be one of {KINDS} or None. Received: {kind!r}"
        )
    if declared is not None and kind != declared:
        raise ValueError(
            f"`kind={kind!r}` but `model` ({type(model).__name__}) is a "
            f"{declared} model: leave `kind` as None for it."
        )
    return kind


def predict_with_uncertainty(
    model, x, conformal=None, batch_size=256, kind=None
):
    """Predictions of any Keras model with their uncertainty, as a dict.

    The task is the model's own (a `DeepEnsemble`'s `task`; classification
    for a model with `num_classes`), else `kind`, else read from the
    output: class probabilities (non-negative rows summing to 1 on the last
    axis, e.g. a `keras.Sequential` ending in a softmax) make it a
    classifier, anything else (logits too) a regressor.

    Classification:
        `"mean"`: (batch, num_classes) predictive probabilities, what
            `model.predict` returns; for a Bayesian model the mean over its
            `num_samples` posterior draws, for an ensemble over its members.
        `"total"`: (batch,) predictive entropy H[mean] in nats (0 to
            log num_classes).
        `"epistemic"`: (batch,) mutual information
            H[mean] - mean_m H[p_m] in nats (ensembles and Bayesian models:
            the disagreement of the members or posterior draws;
            Depeweg et al. 2018).
        `"aleatoric"`: (batch,) `total - epistemic`, the expected entropy of
            one member or draw (ensembles and Bayesian models).
        `"set"`: (batch, num_classes) boolean conformal prediction sets, when
            a calibrated `SplitConformalClassifier` is passed.
    Regression:
        `"mean"`: the prediction, (batch, outputs) (a Gaussian
            `DeepEnsemble`'s `"mean"`).
        `"total"`, `"epistemic"`, `"aleatoric"` (Gaussian `DeepEnsemble`
            only): (batch, outputs) predictive variance of the mixture, the
            variance of the member means and the mean member variance, in
            squared target units (total = epistemic + aleatoric).
        `"interval"`: `(lower, upper)` arrays shaped like `"mean"`, when a
            calibrated `SplitConformalRegressor` is passed.
    Keys that a model kind does not define are absent: a plain
    `ImagePMMClassifier` (or any other single classifier) has `"mean"` and
    `"total"` (no model disagreement to measure), a plain `PMMRegressor`
    (or any other regressor) only `"mean"` (and `"interval"`).

    Args:
        model: any Keras model with `predict` (a keras_pmm model, a
            `DeepEnsemble`, a `BayesianImagePMMClassifier`, your own).
        x: inputs as for `model.predict` (a numpy array).
        conformal: an optional calibrated `SplitConformalClassifier`
            (classification) or `SplitConformalRegressor` (regression);
            its own `model` is not used, `model`'s predictions are.
        batch_size: batch size of the predictions.
        kind: `"classification"`, `"regression"` or None (the model's own
            task, else read from its output). Say `"classification"` for a
            classifier whose output should be probabilities: then output
            that is not (logits, say) is an error instead of a regression.

    Returns:
        dict of numpy arrays (float64 uncertainties).

    Raises:
        TypeError: `model` has no `predict`, or `conformal` is not one of
            the two conformal predictors.
        ValueError: an unknown `kind` or one that contradicts the model's
            own task; `kind="classification"` with output that is not class
            probabilities; a conformal predictor of the other task, or one
            not yet calibrated.

    Example:

    >>> import numpy as np
    >>> from keras_pmm.models import PMMClassifier
    >>> from keras_pmm.uq import DeepEnsemble
    >>> from keras_pmm.uq import predict_with_uncertainty
    >>> x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    >>> ensemble = DeepEnsemble(
    ...     PMMClassifier(num_classes=2, n=4), num_members=3, seed=0
    ... )
    >>> result = predict_with_uncertainty(ensemble, x)
    >>> sorted(result)
    ['aleatoric', 'epistemic', 'mean', 'total']
    >>> result["mean"].shape, result["total"].shape
    ((4, 2), (4,))
    """
    if not hasattr(model, "predict"):
        raise TypeError(
            "`model` must be a Keras model with `predict`. Received: "
            f"{type(model).__name__}"
        )
    if conformal is not None and not isinstance(
        conformal, (SplitConformalClassifier, SplitConformalRegressor)
    ):
        raise TypeError(
            "`conformal` must be a calibrated SplitConformalClassifier or "
            f"SplitConformalRegressor. Received: {type(conformal).__name__}"
        )
    if conformal is not None and conformal.quantile is None:
        raise ValueError(
            "`conformal` is not calibrated: call its `calibrate(x, y)` on "
            "held-out data first."
        )
    predictions = []

    def prediction():
        if not predictions:
            predictions.append(
                model.predict(x, batch_size=batch_size, verbose=0)
            )
        return predictions[0]

    classifier = _kind(model, kind, prediction) == "classification"
    if conformal is not None and classifier != isinstance(
        conformal, SplitConformalClassifier
    ):
        task = "a classifier" if classifier else "a regressor"
        raise ValueError(
            f"`model` is {task}, but `conformal` is a "
            f"{type(conformal).__name__}: use SplitConformalClassifier for "
            "classifiers and SplitConformalRegressor for regressors."
        )
    if classifier:
        return _classification(model, x, conformal, batch_size, prediction)
    return _regression(model, x, conformal, batch_size, prediction)


def _classification(model, x, conformal, batch_size, prediction):
    draws = _draws(model, x, batch_size)
    if draws is None:
        mean = _checks.probabilities(prediction(), name="model.predict(x)")
        result = {"mean": mean, "total": predictive_entropy(mean)}
    else:
        mean = draws.mean(axis=0)
        total = predictive_entropy(mean)
        epistemic = mutual_information(draws)
        result = {
            "mean": mean,
            "total": total,
            "epistemic": epistemic,
            "aleatoric": np.maximum(total - epistemic, 0.0),
        }
    if conformal is not None:
        result["set"] = conformal.sets_from_predictions(mean)
    return result


def _regression(model, x, conformal, batch_size, prediction):
    from keras import ops

    from keras_pmm.uq.losses import gaussian_parameters

    prediction = prediction()
    if isinstance(prediction, dict):
        mean = np.asarray(prediction["mean"], "float64")
        members = _draws(model, x, batch_size)
        means, variances = (
            ops.convert_to_numpy(part).astype("float64")
            for part in gaussian_parameters(members)
        )
        epistemic = means.var(axis=0)
        aleatoric = variances.mean(axis=0)
        result = {
            "mean": mean,
            "total": epistemic + aleatoric,
            "epistemic": epistemic,
            "aleatoric": aleatoric,
        }
    elif isinstance(prediction, (list, tuple)):
        raise ValueError(
            f"`model` has {len(prediction)} outputs; predict_with_uncertainty "
            "takes a model with one output (class probabilities or "
            "regression values): wrap the output you want in a "
            "keras.Model(model.inputs, model.outputs[i])."
        )
    else:
        mean = _checks.as_numpy(prediction, "model.predict(x)")
        result = {"mean": mean}
    if conformal is not None:
        scale = None
        if conformal.score == "normalized":
            if conformal.scale is not None:
                scale = conformal.scale(x)
            elif "total" in result:
                scale = np.sqrt(result["total"])
        result["interval"] = conformal.interval_from_predictions(mean, scale)
    return result
