"""
Title: Extrapolating the energies of a quantum anharmonic oscillator with an eigenvalue PMM
Author: keras-pmm developers
Date created: 2026/12/05
Last modified: 2026/12/05
Description: Train an AE-PMM on the two lowest energies of a^dag a + g (a^dag + a)^4 for small couplings, extrapolate ten times further, and compare with polynomial fits and an MLP.
Accelerator: None
"""

"""
## Introduction

The PMM paper's founding example (Cook et al., Nat. Commun. 16, 5929
(2025)): the energies of a Hamiltonian that depends on a coupling g are
eigenvalues of an affine matrix function of g, so an eigenvalue PMM
(AE-PMM), E(g) = the lowest eigenvalues of A_0 + g A_1, has the right
analytic structure to continue them past the data. Here the quartic
anharmonic oscillator

    H(g) = a^dag a + g (a^dag + a)^4

gives the two lowest energies E0(g), E1(g) (computed exactly in a
converged truncated basis by `keras_pmm.datasets.anharmonic_oscillator_energies`).
We train on 10 couplings in [0, 0.05] and predict up to g = 0.5. The
perturbation series of this problem diverges for every g > 0, so a
polynomial in g is the wrong tool; we check that, and an MLP, against the
PMM.

Run it with `python tutorials/quantum_extrapolation.py` (about a minute on
a 2-core CPU), or `--fast` for a smoke run. The zoo's trained model is the
preset `pmm_anharmonic_oscillator`; its card holds the measured figures.
"""

"""
## Setup
"""

import argparse
import os
import tempfile

import keras
import numpy as np

from keras_pmm import zoo
from keras_pmm.zoo import array_data

"""
## Data

Ten couplings in [0, 0.05] to train on, 101 in [0, 0.5] to test.
"""


def relative_errors_at_far_coupling(predicted, energies):
    """|pred - true| / true of both energies at g = 0.5 (the last test
    coupling)."""
    return np.abs(predicted[-1] - energies[-1]) / energies[-1]


"""
## Baselines

Polynomials in g of degree 2 to 5 fitted by least squares (one per
energy), and a small MLP (two tanh layers of 16) trained by Adam on the
same ten points.
"""


def polynomial_predictions(g_train, e_train, g_test, degree):
    coefficients = np.polyfit(g_train[:, 0], e_train, degree)
    return np.stack(
        [np.polyval(coefficients[:, k], g_test[:, 0]) for k in range(2)],
        axis=-1,
    )


def mlp_predictions(g_train, e_train, g_test, epochs, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Rescaling(1 / 0.05),  # g in [0, 1] on the data
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Dense(2),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    model.fit(
        np.repeat(g_train, 100, axis=0),
        np.repeat(e_train, 100, axis=0),
        batch_size=len(g_train) * 100,
        epochs=epochs,
        verbose=0,
    )
    return model.predict(g_test, verbose=0), model.count_params()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument(
        "--fast", action="store_true", help="tiny run for smoke tests"
    )
    parser.add_argument(
        "--output-dir",
        default=None,
        help="folder for the plot and the trained preset (default: a "
        "temporary folder)",
    )
    args = parser.parse_args(argv)
    output_dir = args.output_dir or tempfile.mkdtemp()
    os.makedirs(output_dir, exist_ok=True)
    (g_train, e_train), (g_test, e_test) = array_data.oscillator_data()

    """
    ## The eigenvalue PMM

    `keras-pmm train pmm_anharmonic_oscillator` runs the zoo's recipe:
    a `PMMRegressor(readout="eigenvalue", eigenvalue_map=None)`, whose two
    outputs are the two lowest eigenvalues of H(g) = A_0 + g A_1 themselves
    (an affine mix of eigenvalues would not be an eigenvalue of anything,
    and extrapolates far worse), trained full-batch by Adam. The same call
    from Python:
    """

    from keras_pmm.zoo import training

    metadata = training.train(
        "pmm_anharmonic_oscillator",
        output=os.path.join(output_dir, "pmm_anharmonic_oscillator"),
        epochs=2 if args.fast else None,
        overwrite=True,
        verbose=0,
    )
    pmm = zoo.load(os.path.join(output_dir, "pmm_anharmonic_oscillator"))
    results = {
        f"AE-PMM ({metadata['parameters']} parameters)": pmm.predict(
            g_test, verbose=0
        )
    }

    """
    ## The baselines
    """

    for degree in (2, 3, 5):
        results[f"polynomial, degree {degree}"] = polynomial_predictions(
            g_train, e_train, g_test, degree
        )
    mlp, parameters = mlp_predictions(
        g_train, e_train, g_test, epochs=2 if args.fast else 30
    )
    results[f"MLP ({parameters} parameters)"] = mlp

    """
    ## Results

    Relative errors of both energies at g = 0.5, ten times the largest
    training coupling (the target: within 1%).
    """

    print(f"{'model':32s} {'E0 error':>10s} {'E1 error':>10s}")
    for label, predicted in results.items():
        errors = relative_errors_at_far_coupling(predicted, e_test)
        print(f"{label:32s} {errors[0]:10.2%} {errors[1]:10.2%}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    for level, ax in enumerate(axes):
        ax.plot(g_test[:, 0], e_test[:, level], "k", lw=2, label="exact")
        for label, predicted in results.items():
            ax.plot(g_test[:, 0], predicted[:, level], "--", label=label)
        ax.plot(g_train[:, 0], e_train[:, level], "ko", ms=4)
        ax.axvspan(0, g_train[-1, 0], color="0.9")
        top = 2 * e_test[:, level].max()
        ax.set_ylim(min(0, e_test[:, level].min()) - 0.1, top)
        ax.set_xlabel("coupling g")
        ax.set_title(f"E{level}(g); trained on the shaded range")
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    path = os.path.join(output_dir, "quantum_extrapolation.png")
    figure.savefig(path, dpi=100)
    print(f"plot: {path}")
    return {
        label: relative_errors_at_far_coupling(predicted, e_test)
        for label, predicted in results.items()
    }


if __name__ == "__main__":
    main()
