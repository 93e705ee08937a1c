"""The main job: evaluate every trained preset and classify the bundled samples.

The samples are a few images of the official test sets, saved as PNG under
`zoo/samples/<dataset>_test_<index>_<label>.png` by the maintainer tool
`tools/make_samples.py`. `pmm_mnist_ensemble` then shows each digit
sample's prediction with its entropy, and flags a clothing image as
uncertain. Last, `pmm_mnist` is exported to a builtins-only
`.tflite` file and the samples are classified again by the LiteRT
interpreter alone (`keras_pmm.export.litert.TFLiteModel`), as on a phone,
and compared with Keras.
"""

import importlib.util
import pathlib
import tempfile
import time

import keras
import numpy as np

from keras_pmm.zoo import evaluation
from keras_pmm.zoo import images
from keras_pmm.zoo.registry import PRESETS

SAMPLES_DIR = pathlib.Path(__file__).resolve().parent / "samples"
# The preset exported to TFLite at the end of the demo.
TFLITE_PRESET = "pmm_mnist"
# The ensemble whose uncertainty the demo shows, with an out-of-distribution
# image.
UNCERTAINTY_PRESET = "pmm_mnist_ensemble"
# What exporting and running a `.tflite` file needs (the `export` extra).
TFLITE_MODULES = ("tensorflow", "ai_edge_litert")


def show_array_presets(print_fn=print):
    """Evaluates every trained array preset (regression, eigenvalue and
    matrix-function models) and prints its headline figure beside its
    card's.

    Returns:
        dict: preset name -> {"figures": measured now, "card": the card's}.
    """
    from keras_pmm import zoo
    from keras_pmm.zoo import array_training

    rows = [("preset", "parameters", "figure", "now", "card")]
    results = {}
    for name in zoo.list():
        preset, info = PRESETS[name], zoo.metadata(name)
        if preset.kind != "array" or not info["trained"]:
            continue
        figures = array_training.array_figures(preset, zoo.load(name))
        results[name] = {"figures": figures, "card": info["test_figures"]}
        key = preset.data.headline
        rows.append(
            (
                name,
                f"{info['parameters']:,}",
                preset.data.headline_label,
                f"{figures[key]:.4g}",
                f"{info['test_figures'][key]:.4g}",
            )
        )
    if results:
        print_fn(format_table(rows) + "\n")
    return results


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
    """Evaluates every trained preset, classifies the samples, runs TFLite.

    Returns:
        dict: preset name -> {"accuracy", "card_accuracy", "samples_correct",
        "samples"} for every trained preset; `UNCERTAINTY_PRESET`'s entry
        also has "uncertainty" (`show_uncertainty`); `TFLITE_PRESET`'s also
        has "tflite": the result of `compare_tflite`, or None where the
        export's packages are missing.
    """
    from keras_pmm import zoo

    print_fn(f"keras-pmm zoo on the {keras.backend.backend()} backend\n")
    rows = [
        ("preset", "parameters", "test accuracy", "card", "evaluation time")
    ]
    results, models = {}, {}
    for name in zoo.list():
        info = zoo.metadata(name)
        if PRESETS[name].kind == "array":
            continue  # `show_array_presets` below
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
    show_array_presets(print_fn)

    rows = [("sample", "preset", "true", "predicted", "probability")]
    # TFLITE_PRESET's samples: file name -> (image, label, probabilities).
    keras_probabilities = {}
    for path, dataset, label in samples():
        image = images.read_images(path, invert="no")
        for name in sorted(models):
            if PRESETS[name].dataset != dataset:
                continue
            class_names = PRESETS[name].data.class_names
            probabilities = models[name].predict(image, verbose=0)[0]
            if name == TFLITE_PRESET:
                keras_probabilities[path.name] = (
                    image[0],
                    label,
                    probabilities,
                )
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

    if UNCERTAINTY_PRESET in models:
        results[UNCERTAINTY_PRESET]["uncertainty"] = show_uncertainty(
            models[UNCERTAINTY_PRESET], data_dir, print_fn
        )

    if TFLITE_PRESET in models:
        missing = [
            m for m in TFLITE_MODULES if importlib.util.find_spec(m) is None
        ]
        if missing:
            print_fn(
                f"\nTFLite: skipped ({', '.join(missing)} not installed; "
                "pip install keras-pmm[tensorflow,export])"
            )
            results[TFLITE_PRESET]["tflite"] = None
        else:
            results[TFLITE_PRESET]["tflite"] = compare_tflite(
                TFLITE_PRESET, keras_probabilities, print_fn
            )
    return results


def show_uncertainty(ensemble, data_dir=None, print_fn=print):
    """The digit ensemble on the digit samples and on one clothing image.

    Prints each sample's prediction with its predictive entropy and mutual
    information (`keras_pmm.uq.predict_with_uncertainty`), and flags as
    uncertain every image whose entropy exceeds the 95th percentile of the
    ensemble's entropies on the MNIST test set (so about 5% of real digits
    are flagged).

    Returns:
        dict with `threshold` (nats) and `samples`: a list of (file name,
        data set, predicted class, entropy, mutual information, flagged).
    """
    from keras_pmm import uq

    preset = PRESETS[UNCERTAINTY_PRESET]
    _, (x_test, _) = preset.data.load(data_dir)
    entropies = uq.predictive_entropy(
        ensemble.predict(x_test, batch_size=1000, verbose=0)
    )
    threshold = float(np.quantile(entropies, 0.95))
    chosen = [s for s in samples() if s[1] == preset.dataset]
    chosen += [s for s in samples() if s[1] == preset.ood_dataset][:1]
    batch = np.concatenate(
        [images.read_images(path, invert="no") for path, _, _ in chosen]
    )
    result = uq.predict_with_uncertainty(ensemble, batch)
    rows = [("sample", "predicted", "entropy", "mutual info", "")]
    shown = []
    for index, (path, dataset, _) in enumerate(chosen):
        predicted = int(np.argmax(result["mean"][index]))
        entropy = float(result["total"][index])
        mutual = float(result["epistemic"][index])
        flagged = entropy > threshold
        shown.append((path.name, dataset, predicted, entropy, mutual, flagged))
        rows.append(
            (
                path.name,
                preset.data.class_names[predicted],
                f"{entropy:.3f}",
                f"{mutual:.3f}",
                "UNCERTAIN" if flagged else "",
            )
        )
    print_fn(
        f"\n{UNCERTAINTY_PRESET} with its uncertainty (nats; UNCERTAIN: "
        f"entropy above {threshold:.3f}, the 95th percentile on the "
        f"{preset.data.name} test set; the last image is "
        f"{preset.ood_data.name}, which the digit model never saw):"
    )
    print_fn(format_table(rows))
    return {"threshold": threshold, "samples": shown}


def compare_tflite(name, keras_probabilities, print_fn=print):
    """Exports a preset to TFLite and classifies the samples with LiteRT.

    The `.tflite` file (float32, every operator a builtin) is written to a
    temporary folder and run by `TFLiteModel`: the LiteRT interpreter
    without TensorFlow ops, as a phone app would.

    Args:
        name: the preset.
        keras_probabilities: dict sample file name -> (image (28, 28),
            true class, Keras class probabilities).
        print_fn: where the lines go.

    Returns:
        dict with "file_bytes", "ops" (the file's operators), "images",
        "agree" (samples whose TFLite argmax is Keras'), "max_difference"
        (max |probability difference|, all samples and classes) and
        "samples": list of (sample, Keras class, TFLite class).
    """
    from keras_pmm import export
    from keras_pmm.export.litert import TFLiteModel

    names = sorted(keras_probabilities)
    images = np.stack([keras_probabilities[n][0] for n in names])
    labels = [keras_probabilities[n][1] for n in names]
    expected = np.stack([keras_probabilities[n][2] for n in names])
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        path = export.export_tflite(
            name, pathlib.Path(folder) / f"{name}.tflite"
        )
        seconds = time.perf_counter() - start
        content = path.read_bytes()
        ops = export.check_builtin_ops(content)
        model = TFLiteModel(path)
        probabilities = model.predict(images)
        class_names = model.class_names or [
            str(c) for c in range(probabilities.shape[-1])
        ]
        del model  # the interpreter maps the file; release it first
    print_fn(
        f"\n{name} exported to TFLite in {seconds:.1f} s: "
        f"{len(content) / 1024:.0f} KB, float32, {len(ops)} builtin "
        "operators (Jacobi eigensolver, no TensorFlow ops)"
    )
    difference = np.abs(probabilities - expected)
    keras_classes = expected.argmax(axis=-1)
    tflite_classes = probabilities.argmax(axis=-1)
    rows = [
        ("sample", "true", "Keras", "TFLite", "probability", "agree", "|dp|")
    ]
    for index, sample in enumerate(names):
        predicted = tflite_classes[index]
        rows.append(
            (
                sample,
                class_names[labels[index]],
                class_names[keras_classes[index]],
                class_names[predicted],
                f"{probabilities[index, predicted]:.3f}",
                "yes" if predicted == keras_classes[index] else "NO",
                f"{difference[index].max():.1g}",
            )
        )
    print_fn(format_table(rows))
    agree = int(np.sum(tflite_classes == keras_classes))
    max_difference = float(difference.max()) if len(names) else 0.0
    print_fn(
        f"\nTFLite (builtins only, {len(content) / 1024:.0f} KB): "
        f"{agree}/{len(names)} sample images agree with Keras, "
        f"max |p difference| {max_difference:.1g}"
    )
    return {
        "file_bytes": len(content),
        "ops": ops,
        "images": len(names),
        "agree": agree,
        "max_difference": max_difference,
        "samples": list(
            zip(names, keras_classes.tolist(), tflite_classes.tolist())
        ),
    }
