"""
Title: Export a PMM to TFLite and run it with LiteRT
Author: keras-pmm developers
Date created: 2026/11/29
Last modified: 2026/11/29
Description: Export the pmm_mnist preset to a builtins-only .tflite file, quantise it, and check LiteRT against Keras.
Accelerator: None
"""

"""
## Introduction

A Parametric Matrix Model classifies an image by diagonalising small
Hermitian matrices built from it. On a phone, that model has to run in the
LiteRT (TensorFlow Lite) interpreter, which only knows its builtin operators.
`keras_pmm.export.export_tflite` writes such a file from any keras_pmm model
or preset:

- **The eigensolver.** Keras' `ops.eigh` becomes TensorFlow's
  `SelfAdjointEigV2` on the TensorFlow backend, and TFLite has no builtin
  for it: a plain conversion needs the Flex delegate (select TensorFlow
  ops), which a stock LiteRT interpreter does not have. So the exported
  graph diagonalises every input-dependent matrix with the cyclic Jacobi
  solver (`keras_pmm.linalg.jacobi_eigh`): rotations made of multiplies,
  divisions and square roots, run in a `WHILE` loop, all of them builtins.
- **Weight-only quantities are constants.** Matrices that depend on the
  weights only (the Hermitian matrices unpacked from packed weights, the
  decoders' spectral norms) are computed once at export, with the layer's
  own solver, and stored in the file. The phone never diagonalises anything
  that does not depend on the input.

This script exports the `pmm_mnist` preset (97.7% on MNIST, about 2,500
parameters) to float32, float16 and dynamic-range int8 `.tflite` files,
checks their operator lists, and runs them with `TFLiteModel`, a thin
wrapper of the LiteRT interpreter that imports neither Keras nor
TensorFlow, on the bundled sample images and on the MNIST test set. The
Keras model's predictions are the reference.

Run it with `python tutorials/export_to_tflite.py` (about a minute on a
2-core CPU), or `--fast` for a run on 1,000 test images instead of 10,000.
"""

"""
## Setup

Only TensorFlow can trace the export graph, so this tutorial picks the
TensorFlow backend before importing Keras. Under JAX or PyTorch,
`keras_pmm.export` still works: it runs the same export in a TensorFlow
subprocess.
"""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"

import argparse
import pathlib
import tempfile
import time

import keras
import numpy as np

import keras_pmm
from keras_pmm import export
from keras_pmm import zoo
from keras_pmm.export.litert import TFLiteModel
from keras_pmm.zoo import demo
from keras_pmm.zoo import images

PRESET = "pmm_mnist"
QUANTIZATIONS = (None, "float16", "dynamic_int8")


def tflite_predict(model, x, batch_size=1000):
    """Class probabilities from a `TFLiteModel`, batch by batch."""
    return np.concatenate(
        [
            model.predict(x[start : start + batch_size].astype("float32"))
            for start in range(0, len(x), batch_size)
        ]
    )


def compare(reference, probabilities, labels=None):
    """Max |probability difference|, argmax agreement and accuracies."""
    agree = probabilities.argmax(-1) == reference.argmax(-1)
    result = {
        "max_difference": float(np.abs(probabilities - reference).max()),
        "agree": int(agree.sum()),
        "agreement": float(agree.mean()),
    }
    if labels is not None:
        result["keras_accuracy"] = float(
            np.mean(reference.argmax(-1) == labels)
        )
        result["tflite_accuracy"] = float(
            np.mean(probabilities.argmax(-1) == labels)
        )
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder with the MNIST IDX files "
        "(default: $KERAS_PMM_DATA_DIR, else download)",
    )
    parser.add_argument(
        "--fast", action="store_true", help="tiny run for smoke tests"
    )
    parser.add_argument(
        "--output-dir",
        default=None,
        help="where to write the .tflite files (default: a temporary folder)",
    )
    args = parser.parse_args(argv)

    """
    ## The Keras model

    `zoo.load` returns the trained preset as an `ImagePMMClassifier`. It
    takes raw 28 x 28 images with pixel values 0..255 and returns class
    probabilities.
    """

    model = zoo.load(PRESET)
    print(f"backend:        {keras.backend.backend()}")
    print(f"preset:         {PRESET} ({model.count_params():,} parameters)")

    """
    ## Export to `.tflite`

    `export_tflite` takes the model (or just the preset's name) and a path.
    The class names are stored inside the file (its metadata entry
    `class_names`), and the input's batch axis stays resizable. Then `check_builtin_ops`
    reads the operators of every subgraph (the Jacobi loop's body included)
    from the file's bytes with LiteRT's own schema, and raises
    `NotBuiltinError` if any is a Flex (TensorFlow) or custom op.
    `export_tflite` runs the same check after writing; here we look at the
    list.

    Quantisation is post-training: `"float16"` stores the weights as float16
    (computed in float32); `"dynamic_int8"` stores large dense kernels as int8,
    but the preset's kernels are below TFLite's 1,024-element threshold, so
    the file barely changes. A PMM is small to start with.
    """

    folder = pathlib.Path(args.output_dir or tempfile.mkdtemp())
    paths = {}
    for quantization in QUANTIZATIONS:
        label = quantization or "float32"
        start = time.perf_counter()
        path = export.export_tflite(
            model,
            folder / f"{PRESET}_{label}.tflite",
            quantization=quantization,
            overwrite=True,
        )
        seconds = time.perf_counter() - start
        ops = export.check_builtin_ops(path.read_bytes())
        paths[label] = path
        print(
            f"{label + ':':15s} {path.stat().st_size / 1024:5.1f} KB, "
            f"{len(ops)} builtin ops, exported in {seconds:.1f} s"
        )
    ops = export.check_builtin_ops(paths["float32"].read_bytes())
    print(f"float32 ops:    {', '.join(ops)}")
    print(
        f"Jacobi loop:    {'WHILE' in ops} (WHILE); no Flex, custom or "
        "SelfAdjointEig op (check_builtin_ops passed)"
    )

    """
    ## Run it with LiteRT: the sample images

    `TFLiteModel` loads the file into the LiteRT interpreter with the builtin
    op resolver only, as a phone app would, and reads the class names from
    the file's metadata. The bundled samples are six MNIST test images saved as
    PNG under `zoo/samples/`; `images.read_images` turns each into a
    (1, 28, 28) float32 array in 0..255, as `keras-pmm demo` does.
    """

    tflite = TFLiteModel(paths["float32"])
    print(f"class names:    {tflite.class_names}")
    shipped = [(p, label) for p, ds, label in demo.samples() if ds == "mnist"]
    x_samples = np.concatenate(
        [images.read_images(p, invert="no") for p, _ in shipped]
    )
    y_samples = np.array([label for _, label in shipped])
    reference = model.predict(x_samples, verbose=0)
    probabilities = tflite.predict(x_samples)
    for (path, label), p, q in zip(shipped, reference, probabilities):
        print(
            f"  {path.name}: true {label}, Keras {p.argmax()}, "
            f"TFLite {tflite.class_names[q.argmax()]} ({q.max():.3f})"
        )
    result = compare(reference, probabilities, y_samples)
    print(
        f"samples:        {result['agree']}/{len(shipped)} agree with Keras, max |p difference| "
        f"{result['max_difference']:.1g}"
    )

    """
    ## The MNIST test set

    The same comparison on the test set, for each of the three files.
    The float32 file computes what Keras computes, up to float32 rounding
    (the Jacobi solver converges to the same eigenvectors as LAPACK);
    the quantised files differ by their rounded weights.
    """

    _, (x_test, y_test) = keras_pmm.datasets.load_mnist(args.data_dir)
    if args.fast:
        x_test, y_test = x_test[:1000], y_test[:1000]
    reference = model.predict(x_test, batch_size=1000, verbose=0)
    print(f"test images:    {len(x_test):,}")
    results = {}
    for label, path in paths.items():
        start = time.perf_counter()
        probabilities = tflite_predict(TFLiteModel(path), x_test)
        seconds = time.perf_counter() - start
        result = results[label] = compare(reference, probabilities, y_test)
        print(
            f"{label + ':':15s} max |p difference| "
            f"{result['max_difference']:.1g}, argmax agreement "
            f"{100 * result['agreement']:.2f}%, accuracy Keras "
            f"{100 * result['keras_accuracy']:.2f}% / TFLite "
            f"{100 * result['tflite_accuracy']:.2f}% ({seconds:.1f} s)"
        )
    print(f"files in:       {folder}")
    return results


if __name__ == "__main__":
    main()
