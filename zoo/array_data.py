"""The data of the zoo's array presets: computed, seeded, never downloaded.

Each entry is a `keras_pmm.zoo.registry.ArrayData`: a loader giving
((x_train, y_train), (x_test, y_test)), the card's test figures, and the
card's plot.
"""

import numpy as np

from keras_pmm.datasets import anharmonic_oscillator_energies

# The extrapolation task of issue 20 (Cook et al. 2025, the anharmonic
# oscillator): 10 couplings in [0, 0.05] to train on, the two lowest
# energies wanted up to g = 0.5, ten times further out.
OSCILLATOR_TRAIN_COUPLINGS = np.linspace(0.0, 0.05, 10)
OSCILLATOR_TEST_COUPLINGS = np.linspace(0.0, 0.5, 101)
OSCILLATOR_FAR_COUPLING = 0.5


def oscillator_data():
    """((g_train, E_train), (g_test, E_test)) of the anharmonic oscillator.

    The two lowest energies of a^dag a + g (a^dag + a)^4 at 10 couplings in
    [0, 0.05] to train on and 101 in [0, 0.5] to test.

    g arrays are (batch, 1) float32, energies (batch, 2) float64: the two
    lowest eigenvalues of a^dag a + g (a^dag + a)^4 from
    `keras_pmm.datasets.anharmonic_oscillator_energies`. The test couplings
    cover [0, 0.5] in steps of 0.005.
    """
    splits = []
    for couplings in (OSCILLATOR_TRAIN_COUPLINGS, OSCILLATOR_TEST_COUPLINGS):
        energies = anharmonic_oscillator_energies(couplings, levels=2)
        splits.append((couplings.astype("float32")[:, None], energies))
    return tuple(splits)


def regression_figures(y_true, y_pred):
    """Root-mean-square and largest absolute error over all outputs."""
    error = np.asarray(y_pred, "float64") - np.asarray(y_true, "float64")
    return {
        "test_rmse": float(np.sqrt(np.mean(error**2))),
        "max_abs_error": float(np.max(np.abs(error))),
    }


def oscillator_figures(y_true, y_pred, x):
    """The oscillator card's figures: relative errors at g = 0.5 (the target:
    both within 1%) and over the whole test range."""
    y_true = np.asarray(y_true, "float64")
    error = np.abs(np.asarray(y_pred, "float64") - y_true)
    # E_0(0) = 0: relative errors are taken where the energy is not zero.
    relative = np.divide(
        error, np.abs(y_true), out=np.zeros_like(error), where=y_true != 0
    )
    far = int(np.argmin(np.abs(np.asarray(x)[:, 0] - OSCILLATOR_FAR_COUPLING)))
    return {
        **regression_figures(y_true, y_pred),
        "relative_error_e0_at_g_0.5": float(relative[far, 0]),
        "relative_error_e1_at_g_0.5": float(relative[far, 1]),
        "max_relative_error_at_g_0.5": float(np.max(relative[far])),
        "max_relative_error": float(np.max(relative)),
    }


def plot_oscillator(model, path):
    """Both energies against g: exact, the preset's, and the training points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (g_train, e_train), (g_test, e_test) = oscillator_data()
    predicted = np.asarray(model.predict(g_test, verbose=0))
    figure, axes = plt.subplots(figsize=(6, 4))
    for level, colour in ((0, "tab:blue"), (1, "tab:orange")):
        axes.plot(
            g_test[:, 0],
            e_test[:, level],
            color=colour,
            label=f"exact E{level}",
        )
        axes.plot(
            g_test[:, 0],
            predicted[:, level],
            "--",
            color="black",
            label="PMM" if level == 0 else None,
        )
        axes.plot(g_train[:, 0], e_train[:, level], "o", color=colour, ms=4)
    axes.axvspan(0, OSCILLATOR_TRAIN_COUPLINGS[-1], color="0.9")
    axes.set_xlabel("coupling g")
    axes.set_ylabel("energy")
    axes.set_title("a^dag a + g (a^dag + a)^4: trained on the shaded range")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
