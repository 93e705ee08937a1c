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


# Matrix functions (Padmanabhan and Brugiapaglia, arXiv 2602.07800):
# symmetric matrices with entries uniform in [-5, 5]; 20,000 to train on
# (seed 0) and 10,000 fresh ones to test (seed 10000).
MATRIX_TRAIN_COUNT, MATRIX_TRAIN_SEED = 20000, 0
MATRIX_TEST_COUNT, MATRIX_TEST_SEED = 10000, 10000
MATRIX_TOLERANCE = 0.05


def matrix_function_splits(function, size):
    """((A_train, f(A)_train), (A_test, f(A)_test)), float32 arrays of shape
    (count, size, size), from `keras_pmm.datasets.matrix_function_data`."""
    from keras_pmm.datasets import matrix_function_data

    return (
        matrix_function_data(
            function, size, MATRIX_TRAIN_COUNT, seed=MATRIX_TRAIN_SEED
        ),
        matrix_function_data(
            function, size, MATRIX_TEST_COUNT, seed=MATRIX_TEST_SEED
        ),
    )


def _relative_l1(y_true, y_pred):
    y_true = np.asarray(y_true, "float64").reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, "float64").reshape(len(y_true), -1)
    return np.abs(y_pred - y_true).sum(-1) / np.abs(y_true).sum(-1)


def matrix_function_figures(y_true, y_pred, x):
    """Relative L1 error per matrix, sum|pred - true| / sum|true|: its mean,
    median and the share of test matrices within 5% (the target: >= 99%)."""
    del x
    errors = _relative_l1(y_true, y_pred)
    return {
        "mean_relative_l1": float(np.mean(errors)),
        "median_relative_l1": float(np.median(errors)),
        "within_5_percent": float(np.mean(errors <= MATRIX_TOLERANCE)),
    }


def plot_matrix_function(model, path, function):
    """Histogram of the test matrices' relative L1 errors, with the 5% line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, (x_test, y_test) = matrix_function_splits(function, int(model.size))
    errors = _relative_l1(y_test, model.predict(x_test, verbose=0))
    figure, axes = plt.subplots(figsize=(6, 4))
    bins = np.logspace(-6, 1, 57)
    axes.hist(np.clip(errors, 1e-6, 10), bins=bins, color="tab:blue")
    axes.axvline(MATRIX_TOLERANCE, color="black", ls="--", label="5%")
    axes.set_xscale("log")
    axes.set_xlabel("relative L1 error per test matrix")
    axes.set_ylabel("test matrices")
    axes.set_title(
        f"{function}(A), {len(errors):,} fresh symmetric test matrices: "
        f"{np.mean(errors <= MATRIX_TOLERANCE):.2%} within 5%",
        fontsize=9,
    )
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def franke(x, y):
    """Franke's function (Franke 1979, "A critical comparison of some methods
    for interpolation of scattered data"), on [0, 1]^2."""
    return (
        0.75 * np.exp(-((9 * x - 2) ** 2 + (9 * y - 2) ** 2) / 4)
        + 0.75 * np.exp(-((9 * x + 1) ** 2) / 49 - (9 * y + 1) / 10)
        + 0.5 * np.exp(-((9 * x - 7) ** 2 + (9 * y - 3) ** 2) / 4)
        - 0.2 * np.exp(-((9 * x - 4) ** 2) - (9 * y - 7) ** 2)
    )


FRANKE_TRAIN_POINTS, FRANKE_TEST_SIDE = 150, 100


def franke_data():
    """((xy_train, f_train), (xy_test, f_test)) of Franke's function.

    150 points uniform on [0, 1]^2 (seed 0, the training split of
    `benchmarks/regression/run.py`) and, to test, the 10,000 midpoints of a
    100 x 100 grid of cells (off the training draw). Inputs (batch, 2),
    targets (batch, 1), float32.
    """
    rng = np.random.default_rng(0)
    xy = rng.uniform(0.0, 1.0, (FRANKE_TRAIN_POINTS, 2))
    axis = (np.arange(FRANKE_TEST_SIDE) + 0.5) / FRANKE_TEST_SIDE
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    return tuple(
        (points.astype("float32"), franke(*points.T)[:, None].astype("float32"))
        for points in (xy, grid)
    )


def surface_figures(y_true, y_pred, x):
    """RMSE, largest error, and RMSE relative to the targets' spread."""
    del x
    figures = regression_figures(y_true, y_pred)
    figures["relative_rmse"] = figures["test_rmse"] / float(np.std(y_true))
    return figures


def plot_franke(model, path):
    """Franke's function, the preset's surface and its error, on the test
    grid, with the training points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (xy_train, _), (grid, exact) = franke_data()
    predicted = np.asarray(model.predict(grid, verbose=0))
    side = FRANKE_TEST_SIDE
    panels = (
        ("Franke's function", exact),
        ("PMM", predicted),
        ("PMM - exact", predicted - exact),
    )
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, (title, values) in zip(axes, panels):
        image = ax.imshow(
            values.reshape(side, side).T,
            origin="lower",
            extent=(0, 1, 0, 1),
            cmap="RdBu_r" if "-" in title else "viridis",
        )
        figure.colorbar(image, ax=ax, shrink=0.8)
        ax.set_title(title)
    axes[0].plot(*xy_train.T, "k.", ms=3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
