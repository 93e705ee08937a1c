"""The main job: evaluate every trained preset and classify the bundled samples.

The samples are a few images of the official test sets, saved as PNG under
`zoo/samples/<dataset>_test_<index>_<label>.png` by the maintainer tool
`tools/make_samples.py`.
"""

import pathlib
import time

import keras
import numpy as np

from keras_pmm.zoo import evaluation
from keras_pmm.zoo import images
from keras_pmm.zoo.registry import PRESETS

SAMPLES_DIR = pathlib.Path(__file__).resolve().parent / "samples"


def samples():
    """(path, dataset key, label) of the bundled sample images."""
    found = []
    for path in sorted(SAMPLES_DIR.glob("*.png")):
        dataset, _, _, label = path.stem.rsplit("_", 3)
        found.append((path, dataset, int(label)))
    return found


def format_table(rows):
    """Plain-text table: the first row is the header, underlined with dashes."""
    widths = [
        max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))
    ]
    lines = []
    for index, row in enumerate(rows):
        lines.append(
            "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()
        )
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(data_dir=None, print_fn=print):
    """Evaluates every trained preset and classifies the samples.

    Returns:
        dict: preset name -> {"accuracy", "card_accuracy", "samples_correct",
        "samples"} for every trained preset.
    """
    from keras_pmm import zoo

    print_fn(f"keras-pmm zoo on the {keras.backend.backend()} backend\n")
    rows = [
        ("preset", "parameters", "test accuracy", "card", "evaluation time")
    ]
    results, models = {}, {}
    for name in zoo.list():
        info = zoo.metadata(name)
        if not info["trained"]:
            rows.append(
                (name, f"{info['parameters']:,}", "not trained here", "-", "-")
            )
            continue
        model = models[name] = zoo.load(name)
        preset = PRESETS[name]
        _, (x_test, y_test) = preset.data.load(data_dir)
        start = time.perf_counter()
        result = evaluation.evaluate(
            model, x_test, y_test, len(preset.data.class_names)
        )
        seconds = time.perf_counter() - start
        card = info["evaluation"]["test_accuracy"]
        results[name] = {
            "accuracy": result["accuracy"],
            "card_accuracy": card,
            "samples": [],
            "samples_correct": 0,
        }
        rows.append(
            (
                name,
                f"{info['parameters']:,}",
                f"{100 * result['accuracy']:.2f}%",
                f"{100 * card:.2f}%",
                f"{seconds:.1f} s",
            )
        )
    print_fn(format_table(rows) + "\n")

    rows = [("sample", "preset", "true", "predicted", "probability")]
    for path, dataset, label in samples():
        image = images.read_images(path, invert="no")
        for name in sorted(models):
            if PRESETS[name].dataset != dataset:
                continue
            class_names = PRESETS[name].data.class_names
            probabilities = models[name].predict(image, verbose=0)[0]
            predicted = int(np.argmax(probabilities))
            results[name]["samples"].append((path.name, label, predicted))
            results[name]["samples_correct"] += int(predicted == label)
            rows.append(
                (
                    path.name,
                    name,
                    class_names[label],
                    class_names[predicted],
                    f"{probabilities[predicted]:.3f}",
                )
            )
    print_fn(format_table(rows))
    return results
