"""
Title: Learning matrix functions with a spectral PMM
Author: keras-pmm developers
Date created: 2026/12/05
Last modified: 2026/12/05
Description: Train MatrixFunctionPMM to map symmetric 5 x 5 matrices A to exp(A) and sign(A), measure it on fresh matrices, plot the learned spectral function, and see why general matrices are out of its reach.
Accelerator: None
"""

"""
## Introduction

A matrix function f(A) of a symmetric A = V diag(l) V^T is
V diag(f(l)) V^T: f acts on the eigenvalues and leaves the eigenvectors
alone. `keras_pmm.models.MatrixFunctionPMM` is built the same way
(Padmanabhan and Brugiapaglia, arXiv:2602.07800): the matrix-input primary
matrix H(A) = B + K A K^T is diagonalised, a tiny learned scalar function
g is applied to each eigenvalue, and the output is W^T V diag(g(l)) V^T W.
Starting from K = W = I and B = 0 it is equivariant by construction,
F(Q A Q^T) = Q F(A) Q^T, so all it has to learn is one function of one
variable.

This tutorial trains it for exp and sign on 5 x 5 symmetric matrices with
entries uniform in [-5, 5] (eigenvalues reach about +-15, so exp spans
thirteen decades), and reports the relative L1 error
sum|F - f(A)| / sum|f(A)| per matrix and the share of fresh matrices
within 5%.

Run it with `python tutorials/matrix_functions.py` (about two minutes on
a 2-core CPU), or `--fast` for a smoke run. `benchmarks/matrix_functions.py`
has every function, size and the MLP baseline.
"""

"""
## Setup
"""

import argparse
import os
import tempfile

import keras
import numpy as np

from keras_pmm.datasets import matrix_function_data
from keras_pmm.models import MatrixFunctionPMM
from keras_pmm.models.matrix_function_pmm import relative_l1_error

SIZE = 5
# exp: positive, many decades -> g = exp(network); sign: in [-1, 1] -> tanh.
TRANSFORMS = {"exp": "exp", "sign": "tanh"}


def predict(model, x):
    """`model.predict` in batches of 1,000 (one compiled batch shape for
    the 200-matrix sets below)."""
    return model.predict(x, batch_size=1000, verbose=0)


def relative_errors(model, x, y):
    """Relative L1 error of every matrix, as a numpy array."""
    predictions = predict(model, x)
    return keras.ops.convert_to_numpy(relative_l1_error(y, predictions))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument(
        "--fast", action="store_true", help="tiny run for smoke tests"
    )
    parser.add_argument(
        "--output-dir", default=None, help="where to write the plot"
    )
    args = parser.parse_args(argv)
    output_dir = args.output_dir or tempfile.mkdtemp()
    os.makedirs(output_dir, exist_ok=True)
    keras.utils.set_random_seed(0)
    train_count, test_count, epochs = 20000, 10000, 40
    if args.fast:
        train_count, test_count, epochs = 1024, 200, 2

    """
    ## Training

    The data are drawn fresh: training matrices with one seed, test
    matrices with another. The loss is the relative L1 error itself
    (`RelativeL1`, the model's default), which weighs a matrix with
    entries near 1e6 the same as one with entries near 1e-3. Adam's
    learning rate decays along a cosine.
    """

    models, errors = {}, {}
    for function, transform in TRANSFORMS.items():
        x, y = matrix_function_data(function, SIZE, train_count, seed=0)
        x_test, y_test = matrix_function_data(function, SIZE, test_count, 1)
        model = MatrixFunctionPMM(
            size=SIZE,
            hidden_units=(32, 32),
            output_transform=transform,
            eigenvalue_scale=10.0,
        )
        steps = epochs * int(np.ceil(train_count / 256))
        model.compile(
            optimizer=keras.optimizers.Adam(
                keras.optimizers.schedules.CosineDecay(1e-2, steps)
            )
        )
        model.fit(x, y, batch_size=256, epochs=epochs, verbose=0)
        models[function] = model
        errors[function] = relative_errors(model, x_test, y_test)
        e = errors[function]
        print(
            f"{function} {SIZE}x{SIZE}: {model.count_params()} parameters, "
            f"mean relative L1 {e.mean():.4f}, median {np.median(e):.4f}, "
            f"within 5% {np.mean(e <= 0.05):.2%}"
        )

    """
    ## Equivariance

    Rotating the input rotates the output: F(Q A Q^T) = Q F(A) Q^T holds
    exactly at the start (K = W = I, B = 0) and, after training, to the
    degree that K and W stayed orthogonal and B a multiple of I.
    """

    x_test, _ = matrix_function_data("exp", SIZE, 200, seed=2)
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(SIZE, SIZE)))
    q = q.astype("float32")
    model = models["sign"]
    rotated = predict(model, q @ x_test @ q.T)
    expected = q @ predict(model, x_test) @ q.T
    gap = np.abs(rotated - expected).sum((1, 2)) / np.abs(expected).sum((1, 2))
    print(f"equivariance (sign, mean relative gap): {gap.mean():.2e}")

    """
    ## General matrices

    For a non-symmetric A, f(A) is not a function of its symmetric part,
    which is all this model sees: the spectral model cannot represent it.
    Here the trained exp model meets general matrices.
    """

    x_general, y_general = matrix_function_data(
        "exp", SIZE, 200, seed=4, symmetric=False
    )
    e = relative_errors(models["exp"], x_general, y_general)
    print(
        f"general exp {SIZE}x{SIZE}: mean relative L1 {e.mean():.3f}, "
        f"within 5% {np.mean(e <= 0.05):.2%} (not representable)"
    )

    """
    ## The learned function

    On a multiple of the identity, t I, the exact answer is f(t) I, so the
    model's F(t I)[0, 0] over the eigenvalue range shows the scalar function
    it has learned (its g(l) alone does not: training also rescales K, and
    g compensates). Beside it, the distribution of the test errors.
    """

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    grid = np.linspace(-15, 15, 200).astype("float32")
    figure, axes = plt.subplots(1, 3, figsize=(14, 4))
    for axis, (function, scalar) in zip(
        axes[:2], (("exp", np.exp), ("sign", np.sign))
    ):
        identities = grid[:, None, None] * np.eye(SIZE, dtype="float32")
        learned = predict(models[function], identities)[:, 0, 0]
        axis.plot(grid, scalar(grid), "k", label=f"{function}(t)")
        axis.plot(grid, learned, "--", label="model F(t I)[0, 0]")
        axis.set_xlabel("t")
        axis.legend()
        if function == "exp":
            axis.set_yscale("log")
    for function, e in errors.items():
        axes[2].hist(
            np.log10(np.maximum(e, 1e-8)), bins=50, alpha=0.6, label=function
        )
    axes[2].axvline(np.log10(0.05), color="k", linestyle=":", label="5%")
    axes[2].set_xlabel("log10 relative L1 error (test matrices)")
    axes[2].legend()
    figure.tight_layout()
    path = os.path.join(output_dir, "matrix_functions.png")
    figure.savefig(path, dpi=80)
    print(f"plot: {path}")

    """
    ## Save and reload

    The model is a regular Keras model: `.keras` files round-trip it on
    every backend.
    """

    path = os.path.join(output_dir, "matrix_exp.keras")
    models["exp"].save(path)
    reloaded = keras.saving.load_model(path)
    before = predict(models["exp"], x_test)
    after = predict(reloaded, x_test)
    # Identical up to float32 rounding (backends may compile the two
    # models' predict functions differently).
    gap = np.abs(after - before).max() / np.abs(before).max()
    same = gap < 1e-5
    print(
        f"reloaded: {'identical predictions' if same else 'MISMATCH'} "
        f"(max gap {gap:.1e} of the largest entry)"
    )


if __name__ == "__main__":
    main()
