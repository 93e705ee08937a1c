"""
Title: A pure PMM image classifier for MNIST in under a minute
Author: keras-pmm developers
Date created: 2026/11/23
Last modified: 2026/11/23
Description: Train a ~4k-parameter Parametric Matrix Model on MNIST, save it and reload it.
Accelerator: None
"""

"""
## Introduction

A Parametric Matrix Model (PMM) classifies an image by building small
Hermitian matrices from it, diagonalising them, and reading class scores from
its eigenvectors (Cook et al., "Parametric matrix models", Nat. Commun. 16,
5929 (2025)). `keras_pmm.models.ImagePMMClassifier` does this in three steps:

1. `BlockGramEncoder`: the 28 x 28 image is cut into 7 x 7 blocks X_b and
   encoded as one symmetric matrix M = sum_b (K_b X_b)(K_b X_b)^T +
   (L_b X_b^T)(L_b X_b^T)^T.
2. `ClassHamiltonians`: each class c gets H_c = D_c M D_c^T + B_c.
3. `ObservableReadout`: the r lowest eigenvectors v_i of H_c give the score
   z_c = b_c + sum_{i<=j} |v_i^T D_cij v_j|^2 - ||D_cij||^2 / 2, and a softmax
   turns the scores into probabilities.

The whole model has a few thousand parameters. This script trains it, prints
its test accuracy and size, saves it as `.keras`, reloads it and checks that
the reloaded model predicts exactly the same probabilities.

Run it with `python tutorials/mnist_image_pmm.py` (training takes 15-40 s on a
2-core CPU with the TensorFlow backend), or `--fast` for a seconds-long smoke
run.
"""

"""
## Setup
"""

import argparse
import os
import tempfile
import time

import keras
import numpy as np

import keras_pmm

"""
## The recipe

Three epochs of Adam with a cosine-decayed learning rate. The sizes come
from a small sweep over the encoding size n, the Hamiltonian size m and the
learning rate; `tests/large_test.py` holds the accuracy this recipe must
reach.
"""

RECIPE = {
    "model": {"n": 12, "hamiltonian_size": 6, "block_shape": (7, 7), "r": 2},
    "epochs": 3,
    "batch_size": 128,
    "learning_rate": 0.04,
}


def build_model(
    num_classes, epochs, steps_per_epoch, model_settings, learning_rate
):
    """An `ImagePMMClassifier` compiled with Adam and a cosine-decayed rate."""
    model = keras_pmm.models.ImagePMMClassifier(
        num_classes=num_classes, **model_settings
    )
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, epochs * steps_per_epoch
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule))
    return model


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
        "--output", default=None, help="where to save the .keras file"
    )
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)

    """
    ## Data

    `load_mnist` reads a local folder of IDX files (checked against the
    published SHA-256) or downloads MNIST through Keras when none is given.
    The model takes raw uint8 images; scaling happens inside it.
    """

    (x_train, y_train), (x_test, y_test) = keras_pmm.datasets.load_mnist(
        args.data_dir
    )
    epochs, batch_size = RECIPE["epochs"], RECIPE["batch_size"]
    if args.fast:
        x_train, y_train, x_test, y_test = (
            x_train[:10000],
            y_train[:10000],
            x_test[:1000],
            y_test[:1000],
        )
        epochs = 1

    """
    ## Train
    """

    model = build_model(
        num_classes=10,
        epochs=epochs,
        steps_per_epoch=-(-len(x_train) // batch_size),
        model_settings=RECIPE["model"],
        learning_rate=RECIPE["learning_rate"],
    )
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=2)
    seconds = time.perf_counter() - start

    """
    ## Evaluate
    """

    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    print(f"backend:        {keras.backend.backend()}")
    print(f"parameters:     {model.count_params():,}")
    print(f"training time:  {seconds:.1f} s for {epochs} epochs")
    print(f"test accuracy:  {accuracy:.4f} on {len(x_test):,} images")

    """
    ## Save, reload, compare

    The `.keras` file holds the configuration, the weights and the optimizer
    state; the reloaded model must give bit-identical probabilities.
    """

    path = args.output or os.path.join(
        tempfile.mkdtemp(), "mnist_image_pmm.keras"
    )
    model.save(path)
    reloaded = keras.saving.load_model(path)
    before = model.predict(x_test[:1000], batch_size=500, verbose=0)
    after = reloaded.predict(x_test[:1000], batch_size=500, verbose=0)
    if not np.array_equal(before, after):
        raise SystemExit(
            "Reloaded model differs: max |diff| = "
            f"{np.abs(before - after).max():.3g}"
        )
    print(
        f"saved to:       {path} (reloaded: identical predictions on 1,000 "
        "images)"
    )
    return accuracy


if __name__ == "__main__":
    main()
