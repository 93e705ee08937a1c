"""
Title: Fitting a smooth surface with a PMM: Franke's function, PMM against an MLP
Author: keras-pmm developers
Date created: 2026/12/05
Last modified: 2026/12/05
Description: Train a 203-parameter complex AO-PMM and a larger MLP on 150 scattered samples of Franke's function and compare both surfaces off the samples.
Accelerator: None
"""

"""
## Introduction

Franke's function (Franke 1979) is the classic test of scattered-data
interpolation: two broad bumps, a narrow one and a dip on [0, 1]^2. Here a
`PMMRegressor` learns it from 150 random samples: H(x, y) = A_0 + x A_1 +
y A_2, complex Hermitian 7 x 7 matrices, read out through one shared
decoder on the 4 lowest eigenvectors (203 parameters, scaling included).
An MLP with two tanh layers of 32 units (1,185 parameters, the size that
`benchmarks/regression/run.py` tuned for scikit-learn on this surface)
trains with the same recipe. Both are scored on the 10,000 midpoints of a
100 x 100 grid, off every training sample.

Run it with `python tutorials/regression.py` (about two minutes on a
2-core CPU), or `--fast` for a smoke run. The zoo's trained model is the preset
`pmm_franke`; the benchmark against kernel ridge regression, random forests
and MLPs is `benchmarks/regression/run.py`.
"""

"""
## Setup
"""

import argparse
import os
import tempfile

import keras
import numpy as np

import keras_pmm
from keras_pmm.training import cosine_adam
from keras_pmm.training import fit_steps
from keras_pmm.zoo import array_data

"""
## Data

`keras_pmm.zoo.array_data.franke_data` gives the preset's data: 150 points
uniform on [0, 1]^2 (seed 0) and the 100 x 100 test grid.
"""


def rmse(predicted, exact):
    return float(np.sqrt(np.mean((np.asarray(predicted) - exact) ** 2)))


"""
## The recipe

The README's small-data recipe: full batches, 100 unshuffled copies of the
training set per epoch, Adam from 5e-2 with cosine decay.
"""


def fit(model, x, y, steps):
    """The README's small-data recipe: every step on the whole training set
    (`fit_steps` runs them in one compiled loop), Adam with cosine decay."""
    model.compile(optimizer=cosine_adam(5e-2, steps), loss="mse")
    fit_steps(model, x, y, steps)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument(
        "--fast", action="store_true", help="tiny run for smoke tests"
    )
    parser.add_argument(
        "--output-dir", default=None, help="folder for the plot"
    )
    args = parser.parse_args(argv)
    output_dir = args.output_dir or tempfile.mkdtemp()
    os.makedirs(output_dir, exist_ok=True)
    steps = 200 if args.fast else 10000  # the preset's recipe
    (x_train, y_train), (x_test, y_test) = array_data.franke_data()

    """
    ## The PMM

    `PMMRegressor` scales x and y inside the model (fitted by `adapt`, saved
    with it), so it takes the data as they are.
    """

    keras.utils.set_random_seed(0)
    pmm = keras_pmm.models.PMMRegressor(
        n=7, r=4, field="complex", decoder="shared"
    )
    pmm.adapt(x_train, y_train)
    fit(pmm, x_train, y_train, steps)

    """
    ## The MLP

    The same recipe, with the inputs and targets min-max scaled as the PMM
    scales them.
    """

    keras.utils.set_random_seed(0)
    low, high = y_train.min(), y_train.max()
    mlp = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Rescaling(2.0, offset=-1.0),  # [0, 1] -> [-1, 1]
            keras.layers.Dense(32, activation="tanh"),
            keras.layers.Dense(32, activation="tanh"),
            keras.layers.Dense(1),
        ]
    )
    fit(mlp, x_train, (y_train - low) / (high - low), steps)

    """
    ## Results
    """

    surfaces = {
        f"PMM ({pmm.count_params()} parameters)": pmm.predict(
            x_test, verbose=0
        ),
        f"MLP ({mlp.count_params():,} parameters)": low
        + (high - low) * mlp.predict(x_test, verbose=0),
    }
    for label, predicted in surfaces.items():
        print(f"{label:28s} test RMSE {rmse(predicted, y_test):.2e}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    side = array_data.FRANKE_TEST_SIDE
    figure, axes = plt.subplots(2, 3, figsize=(12, 7))
    panels = [("Franke's function", y_test, "viridis")]
    for label, predicted in surfaces.items():
        panels.append((label, predicted, "viridis"))
    vmax = max(np.abs(p - y_test).max() for p in surfaces.values())
    for ax, (title, values, cmap) in zip(axes[0], panels):
        image = ax.imshow(
            values.reshape(side, side).T,
            origin="lower",
            extent=(0, 1, 0, 1),
            cmap=cmap,
        )
        figure.colorbar(image, ax=ax, shrink=0.8)
        ax.set_title(title, fontsize=9)
    axes[0, 0].plot(*x_train.T, "k.", ms=3)
    axes[1, 0].axis("off")
    for ax, (label, predicted) in zip(axes[1, 1:], surfaces.items()):
        image = ax.imshow(
            (predicted - y_test).reshape(side, side).T,
            origin="lower",
            extent=(0, 1, 0, 1),
            cmap="RdBu_r",
            vmin=-vmax,
            vmax=vmax,
        )
        figure.colorbar(image, ax=ax, shrink=0.8)
        ax.set_title(f"{label} - exact", fontsize=9)
    figure.tight_layout()
    path = os.path.join(output_dir, "franke.png")
    figure.savefig(path, dpi=100)
    print(f"plot: {path}")
    return {label: rmse(p, y_test) for label, p in surfaces.items()}


if __name__ == "__main__":
    main()
