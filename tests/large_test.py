"""Learning on real data: the accuracy and fit promises of the foundation.

Marked `large` (minutes, not seconds); deselect with `-m "not large"`.
"""

import keras
import numpy as np
import pytest

from keras_pmm import models
from tests.test_case import load_script


def load_tutorial():
    return load_script("tutorials/mnist_image_pmm.py")


@pytest.mark.large
def test_image_pmm_reaches_95_percent_on_mnist_with_at_most_5000_parameters(
    data_dir, tmp_path, capsys
):
    tutorial = load_tutorial()
    assert tutorial.RECIPE["epochs"] <= 3
    accuracy = tutorial.main(
        ["--data-dir", data_dir, "--output", str(tmp_path / "model.keras")]
    )
    printed = capsys.readouterr().out
    parameters = int(
        printed.split("parameters:")[1].split()[0].replace(",", "")
    )
    print(f"MNIST test accuracy {accuracy:.4f} with {parameters} parameters")
    assert parameters <= 5000
    assert accuracy >= 0.95
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert reloaded.count_params() == parameters


def bump(points):
    return np.exp(-np.sum(points**2, axis=-1, keepdims=True) / 2).astype(
        "float32"
    )


def grid(size):
    axis = np.linspace(-3, 3, size, dtype="float32")
    xx, yy = np.meshgrid(axis, axis)
    return np.stack([xx.ravel(), yy.ravel()], axis=-1)


@pytest.mark.large
def test_regression_pmm_fits_a_gaussian_bump_on_a_10x10_grid():
    x = grid(10)
    y = bump(x)
    model = models.PMMRegressor(num_outputs=1, n=8, r=4, decoder="expectation")
    steps = 3000  # full-batch Adam steps
    model.compile(
        optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(0.05, steps)
        )
    )
    # The same 3000 full-batch steps as 3000 epochs of one step, in 30
    # epochs of 100 unshuffled copies of the grid: Keras's per-epoch work
    # is done 30 times, not 3000.
    copies = 100
    model.fit(
        np.tile(x, (copies, 1)),
        np.tile(y, (copies, 1)),
        epochs=steps // copies,
        batch_size=len(x),
        shuffle=False,
        verbose=0,
    )
    mse = model.evaluate(x, y, verbose=0)[0]
    between = grid(37)  # 37 x 37 points, mostly between the training nodes
    off_grid_mse = float(
        np.mean((model.predict(between, verbose=0) - bump(between)) ** 2)
    )
    print(
        f"Gaussian bump: grid MSE {mse:.2e}, off-grid MSE "
        f"{off_grid_mse:.2e}, {model.count_params()} parameters"
    )
    assert mse < 1e-4
    assert off_grid_mse < 1e-3
