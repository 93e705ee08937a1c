"""`keras-pmm predict MODEL.tflite FILE...`: LiteRT alone, no Keras.

Imports numpy, Pillow and `ai_edge_litert` only, as a phone app would run
the exported file; `keras_pmm.cli` calls it before anything imports Keras.
"""

import numpy as np


class UsageError(Exception):
    """A command cannot run as typed; the message says why."""


def print_top_k(path, probabilities, class_names, top_k):
    """Prints each image's `top_k` classes of a file's (n, C) probabilities.

    One line per image, `path` (or `path[i]` for a file of several images)
    then `name (probability)` in descending order.
    """
    top_k = min(top_k, len(class_names))
    for index, row in enumerate(probabilities):
        label = path if len(probabilities) == 1 else f"{path}[{index}]"
        best = np.argsort(-row)[:top_k]
        print(
            f"{label}: "
            + ", ".join(f"{class_names[c]} ({row[c]:.3f})" for c in best)
        )


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
            probabilities = model.predict(batch)
        except ValueError as error:
            raise UsageError(error) from error
        names = model.class_names or [
            str(c) for c in range(probabilities.shape[-1])
        ]
        print_top_k(path, probabilities, names, args.top_k)
