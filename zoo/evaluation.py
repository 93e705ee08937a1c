"""A preset's test figures: accuracy, per class, confusion matrix, latency."""

import statistics
import time

import numpy as np


def confusion_matrix(labels, predictions, num_classes):
    """(num_classes, num_classes) counts: rows true, columns predicted."""
    matrix = np.zeros((num_classes, num_classes), dtype="int64")
    np.add.at(
        matrix,
        (np.asarray(labels, "int64"), np.asarray(predictions, "int64")),
        1,
    )
    return matrix


def evaluate(model, x, y, num_classes, batch_size=1000):
    """Test figures of a classifier returning probabilities.

    Returns:
        dict with `correct`, `size`, `accuracy`, `per_class_accuracy` (list)
        and `confusion` ((C, C) numpy array).
    """
    predictions = np.argmax(
        model.predict(x, batch_size=batch_size, verbose=0), axis=-1
    )
    confusion = confusion_matrix(y, predictions, num_classes)
    correct = int(np.trace(confusion))
    per_class = np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1)
    return {
        "correct": correct,
        "size": int(len(y)),
        "accuracy": correct / len(y),
        "per_class_accuracy": per_class.tolist(),
        "confusion": confusion,
    }


def predict_latency(model, images, batch_size, repeats=20, warmup=3):
    """Median seconds per image of `model.predict` on `batch_size` batches."""
    batch = np.resize(images, (batch_size,) + images.shape[1:])
    timings = []
    for index in range(warmup + repeats):
        start = time.perf_counter()
        model.predict(batch, batch_size=batch_size, verbose=0)
        if index >= warmup:
            timings.append(time.perf_counter() - start)
    return statistics.median(timings) / batch_size


def headline_figure(info):
    """A preset's test figure as text, from its metadata: the accuracy of a
    classifier, the headline figure of an array preset, or "not trained
    here"."""
    from keras_pmm.zoo.registry import PRESETS

    if not info["trained"]:
        return "not trained here"
    if "evaluation" in info:
        return percent(info["evaluation"]["test_accuracy"])
    data = PRESETS[info["name"]].data
    value = info["test_figures"][data.headline]
    if data.headline_percent:
        return f"{percent(value)} {data.headline_label}"
    return f"{value:.3g} ({data.headline_label})"


def percent(value):
    """A fraction as a percentage with two decimals: 0.9649 -> "96.49%"."""
    return f"{100 * value:.2f}%"


ROTATION_ANGLES = tuple(range(15, 181, 15))


def uncertainty_figures(model, x, y, x_ood, batch_size=1000, num_bins=15):
    """Calibration and out-of-distribution figures of a classifier.

    Args:
        model: a model returning class probabilities (any Keras model, a
            `DeepEnsemble`, a Bayesian PMM), or an exported
            `keras_pmm.export.litert.TFLiteModel` (its `outputs`, and its
            `mutual_information` output if it has one).
        x, y: in-distribution test images and labels.
        x_ood: out-of-distribution images (another data set's test set).
        batch_size: batch size of `predict`.
        num_bins: bins of the expected calibration error.

    Returns:
        dict of full-precision floats (round them once, where shown):
        `test_accuracy`, `nll` (nats per image), `ece` (top-label,
        `num_bins` equal-width bins), `brier`, `ood_auroc` (max probability
        separating `x` from `x_ood`), `mean_entropy` and `mean_entropy_ood`
        (nats), and for a model of several members or posterior draws
        `ood_auroc_mutual_information` (low mutual information, the
        members' agreement, as the in-distribution score).
    """
    probabilities, information = _probabilities_and_information(
        model, x, batch_size
    )
    ood, ood_information = _probabilities_and_information(
        model, x_ood, batch_size
    )
    return figures_from_outputs(
        y, probabilities, ood, information, ood_information, num_bins
    )


def _probabilities_and_information(model, x, batch_size):
    """(probabilities, mutual information or None), float64."""
    from keras_pmm import uq

    if hasattr(model, "predict_all"):  # an exported TFLiteModel
        outputs = model.predict_all(x)
        information = outputs.get("mutual_information")
        return np.asarray(outputs["outputs"], "float64"), (
            None if information is None else np.asarray(information, "float64")
        )
    result = uq.predict_with_uncertainty(
        model, x, batch_size=batch_size, kind="classification"
    )
    return np.asarray(result["mean"], "float64"), result.get("epistemic")


def figures_from_outputs(
    y, probabilities, ood, information=None, ood_information=None, num_bins=15
):
    """`uncertainty_figures` from outputs already computed.

    Args:
        y: (n,) labels of the in-distribution set.
        probabilities, ood: (n, C) and (n_ood, C) class probabilities in
            and out of distribution.
        information, ood_information: optional (n,) and (n_ood,) mutual
            information (nats) of the same sets.
        num_bins: bins of the expected calibration error.

    Returns:
        the dict of `uncertainty_figures`.
    """
    from keras_pmm import uq

    figures = {
        "test_accuracy": float(np.mean(probabilities.argmax(-1) == y)),
        "nll": uq.negative_log_likelihood(y, probabilities),
        "ece": uq.expected_calibration_error(y, probabilities, num_bins),
        "brier": uq.brier_score(y, probabilities),
        "ood_auroc": uq.ood_auroc(probabilities, ood),
        "mean_entropy": float(np.mean(uq.predictive_entropy(probabilities))),
        "mean_entropy_ood": float(np.mean(uq.predictive_entropy(ood))),
    }
    if information is not None and ood_information is not None:
        figures["ood_auroc_mutual_information"] = uq.auroc(
            -np.asarray(information), -np.asarray(ood_information)
        )
    return figures


def rotate_images(images, degrees):
    """Images rotated by `degrees` about their centre.

    Bilinear interpolation, zeros outside the image (the rotated-MNIST
    shift of Ovadia et al., NeurIPS 2019), with
    `keras.ops.image.affine_transform`.

    Args:
        images: (batch, height, width) images.
        degrees: the angle.

    Returns:
        float32 numpy array of the same shape.
    """
    import keras

    images = np.asarray(images, "float32")
    height, width = images.shape[1:3]
    angle = np.deg2rad(degrees)
    cos, sin = np.cos(angle), np.sin(angle)
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
    # Output pixel (x, y) samples input (x', y') = R(angle) (x - c) + c.
    transform = np.array(
        [
            cos,
            -sin,
            centre_x - cos * centre_x + sin * centre_y,
            sin,
            cos,
            centre_y - sin * centre_x - cos * centre_y,
            0.0,
            0.0,
        ],
        "float32",
    )
    rotated = keras.ops.image.affine_transform(
        images[..., None],
        np.broadcast_to(transform, (len(images), 8)),
        interpolation="bilinear",
        fill_mode="constant",
        fill_value=0,
    )
    return keras.ops.convert_to_numpy(rotated)[..., 0]


def rotation_study(model, x, y, angles=ROTATION_ANGLES, batch_size=1000):
    """Accuracy, ECE and NLL of a classifier on rotated test images.

    Returns:
        dict of lists, one entry per angle: `angles`, `accuracy`, `ece`,
        `nll`.
    """
    from keras_pmm import uq

    result = {"angles": list(angles), "accuracy": [], "ece": [], "nll": []}
    for angle in angles:
        probabilities = np.asarray(
            model.predict(
                rotate_images(x, angle), batch_size=batch_size, verbose=0
            ),
            "float64",
        )
        result["accuracy"].append(float(np.mean(probabilities.argmax(-1) == y)))
        result["ece"].append(uq.expected_calibration_error(y, probabilities))
        result["nll"].append(uq.negative_log_likelihood(y, probabilities))
    return result


_PERCENT = r"(\d+(?:\.\d+)?)%"
_NUMBER = r"(\d+(?:\.\d+)?)"
_NAME = r"([a-z0-9_]+)"


def _accuracy_clause(match, metadata):
    return [
        (
            "test_accuracy",
            metadata["evaluation"]["test_accuracy"]
            >= float(match[1]) / 100 - 1e-12,
        ),
        (
            "parameters",
            metadata["parameters"] <= int(match[2].replace(",", "")),
        ),
    ]


def _uncertainty(metadata, key):
    return metadata["uncertainty"][key]


# Target clauses of the image presets: (pattern, checks(match, metadata)
# -> [(figure, met)]).
_CLAUSES = (
    (
        rf">= {_PERCENT} test accuracy with <= ([\d,]+) parameters",
        _accuracy_clause,
    ),
    (
        rf"ECE (<=?) {_NUMBER}",
        lambda m, md: [
            (
                "ece",
                _uncertainty(md, "preset")["ece"] <= float(m[2])
                if m[1] == "<="
                else _uncertainty(md, "preset")["ece"] < float(m[2]),
            )
        ],
    ),
    (
        rf"accuracy within {_NUMBER} points of {_NAME}",
        lambda m, md: [
            (
                "test_accuracy",
                abs(
                    _uncertainty(md, "preset")["test_accuracy"]
                    - _uncertainty(md, "baseline")["test_accuracy"]
                )
                <= float(m[1]) / 100 + 1e-12,
            )
        ],
    ),
    (
        rf"NLL below {_NAME}",
        lambda m, md: [
            (
                "nll",
                _uncertainty(md, "preset")["nll"]
                < _uncertainty(md, "baseline")["nll"],
            )
        ],
    ),
    (
        rf"OOD AUROC >= {_NUMBER} against .+",
        lambda m, md: [
            (
                "ood_auroc",
                _uncertainty(md, "preset")["ood_auroc"] >= float(m[1]),
            )
        ],
    ),
)


def target_clauses(target):
    """A target's clauses: the text split at commas that start a clause
    ("ECE < 0.02, accuracy within ..."), not at thousands separators."""
    import re

    return [c.strip() for c in re.split(r",\s+(?=\D)", target) if c.strip()]


def target_status(metadata):
    """Which clauses of a trained image preset's target its figures meet.

    Reads the target text (`metadata["target"]`) clause by clause: test
    accuracy and parameter bounds, ECE bounds, accuracy within some points
    of the baseline, NLL below the baseline, OOD AUROC (from the maximum
    probability) bounds; the figures are the card's own (its evaluation
    and, for an uncertainty preset, its uncertainty table).

    Args:
        metadata: a preset's metadata (`keras_pmm.zoo.metadata(name)`).

    Returns:
        list of `(clause, [(figure key, met)])`, one per clause; None for a
        preset that is not trained here or whose target has a clause of
        another form (the array presets': they are not checked here).
    """
    import re

    if not metadata.get("trained") or "evaluation" not in metadata:
        return None
    status = []
    for clause in target_clauses(metadata["target"]):
        for pattern, checks in _CLAUSES:
            match = re.fullmatch(pattern, clause)
            if match:
                status.append((clause, checks(match, metadata)))
                break
        else:
            return None
    return status


def missed_figures(metadata):
    """{figure key: [clauses it misses]} of a preset (empty when every
    clause is met or the target is not checked, see `target_status`)."""
    missed = {}
    for clause, checks in target_status(metadata) or ():
        for figure, met in checks:
            if not met:
                missed.setdefault(figure, []).append(clause)
    return missed
