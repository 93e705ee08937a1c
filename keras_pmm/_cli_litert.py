"""`keras-pmm predict MODEL.tflite FILE...`: LiteRT alone, no Keras.

Imports numpy, Pillow and `ai_edge_litert` only, as a phone app would run
the exported file; `keras_pmm.cli` calls it before anything imports Keras.
"""

import numpy as np


class UsageError(Exception):
    """A command cannot run as typed; the message says why."""


UNCERTAINTY_NAMES = (
    ("total", "entropy"),
    ("epistemic", "mutual information"),
)


def print_top_k(path, probabilities, class_names, top_k, uncertainty=None):
    """Prints each image's `top_k` classes of a file's (n, C) probabilities.

    One line per image, `path` (or `path[i]` for a file of several images)
    then `name (probability)` in descending order; with `uncertainty` (a
    `keras_pmm.uq.predict_with_uncertainty` dict) then `| entropy H nats`
    and, where defined, `mutual information I nats`.
    """
    top_k = min(top_k, len(class_names))
    for index, row in enumerate(probabilities):
        label = path if len(probabilities) == 1 else f"{path}[{index}]"
        best = np.argsort(-row)[:top_k]
        line = f"{label}: " + ", ".join(
            f"{class_names[c]} ({row[c]:.3f})" for c in best
        )
        if uncertainty is not None:
            line += " | " + ", ".join(
                f"{name} {uncertainty[key][index]:.3f} nats"
                for key, name in UNCERTAINTY_NAMES
                if key in uncertainty
            )
        print(line)


def file_uncertainty(outputs):
    """`print_top_k`'s uncertainty dict from a `.tflite` file's outputs: its
    own `entropy` and `mutual_information` (an exported ensemble or
    Bayesian model), or the entropy of a plain model's probabilities."""
    if "entropy" in outputs:
        uncertainty = {"total": outputs["entropy"]}
    else:
        p = outputs["outputs"]
        uncertainty = {
            "total": -np.sum(p * np.log(np.maximum(p, 1e-12)), axis=-1)
        }
    if "mutual_information" in outputs:
        uncertainty["epistemic"] = outputs["mutual_information"]
    return uncertainty


def predict(args):
    from keras_pmm import _images
    from keras_pmm.export.litert import TFLiteModel

    try:
        model = TFLiteModel(args.name)
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(error) from error
    batches = []
    for path in args.files:
        try:
            batches.append(_images.read_images(path, args.invert))
        except (FileNotFoundError, ValueError) as error:
            raise UsageError(error) from error
    for path, batch in zip(args.files, batches):
        try:
            outputs = model.predict_all(batch)
        except ValueError as error:
            raise UsageError(error) from error
        probabilities = outputs["outputs"]
        names = model.class_names or [
            str(c) for c in range(probabilities.shape[-1])
        ]
        uncertainty = file_uncertainty(outputs) if args.uncertainty else None
        print_top_k(path, probabilities, names, args.top_k, uncertainty)
