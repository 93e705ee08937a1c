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
        model: a model returning class probabilities.
        x, y: in-distribution test images and labels.
        x_ood: out-of-distribution images (another data set's test set).
        batch_size: batch size of `predict`.
        num_bins: bins of the expected calibration error.

    Returns:
        dict with `test_accuracy`, `nll` (nats per image), `ece` (top-label,
        `num_bins` equal-width bins), `brier`, `ood_auroc` (max probability
        separating `x` from `x_ood`), `mean_entropy` and `mean_entropy_ood`
        (nats), all floats.
    """
    from keras_pmm import uq

    probabilities = np.asarray(
        model.predict(x, batch_size=batch_size, verbose=0), "float64"
    )
    ood = np.asarray(
        model.predict(x_ood, batch_size=batch_size, verbose=0), "float64"
    )
    return {
        "test_accuracy": float(np.mean(probabilities.argmax(-1) == y)),
        "nll": uq.negative_log_likelihood(y, probabilities),
        "ece": uq.expected_calibration_error(y, probabilities, num_bins),
        "brier": uq.brier_score(y, probabilities),
        "ood_auroc": uq.ood_auroc(probabilities, ood),
        "mean_entropy": float(np.mean(uq.predictive_entropy(probabilities))),
        "mean_entropy_ood": float(np.mean(uq.predictive_entropy(ood))),
    }


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
