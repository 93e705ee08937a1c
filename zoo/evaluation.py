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


def percent(value):
    """A fraction as a percentage with two decimals: 0.9649 -> "96.49%"."""
    return f"{100 * value:.2f}%"
