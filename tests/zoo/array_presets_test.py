"""Array presets (not image classifiers) share the zoo's loader, training,
cards and CLI: the oscillator's data and figures, a short training run end
to end, `predict` on .npy/.csv files, and the shipped weights against their
cards on every backend."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from keras_pmm import datasets
from keras_pmm import zoo
from keras_pmm._cli_commands import REPRODUCED_ATOL
from keras_pmm._cli_commands import REPRODUCED_RTOL
from keras_pmm._cli_commands import UsageError
from keras_pmm._cli_commands import read_arrays
from keras_pmm.zoo import array_data
from keras_pmm.zoo import array_training
from keras_pmm.zoo import training

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARRAY = [name for name in zoo.list() if zoo.PRESETS[name].kind == "array"]
SHIPPED = [name for name in ARRAY if zoo.metadata(name)["trained"]]


def _cli(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "keras_pmm.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def test_oscillator_data_are_the_reference_energies():
    (g_train, e_train), (g_test, e_test) = array_data.oscillator_data()
    assert g_train.shape == (10, 1) and e_train.shape == (10, 2)
    assert g_test.shape == (101, 1) and e_test.shape == (101, 2)
    assert g_train.min() == 0 and np.isclose(g_train.max(), 0.05)
    assert np.isclose(g_test.max(), 0.5)
    np.testing.assert_allclose(
        e_test[-1], datasets.anharmonic_oscillator_energies(0.5), rtol=1e-6
    )
    np.testing.assert_allclose(e_train[0], [0.0, 1.0], atol=1e-12)


def test_oscillator_figures_are_relative_errors_at_the_far_coupling():
    _, (g_test, e_test) = array_data.oscillator_data()
    exact = array_data.oscillator_figures(e_test, e_test, g_test)
    assert all(value == 0 for value in exact.values())
    # 1% too high everywhere, and E0(0) = 0 does not divide by zero.
    figures = array_data.oscillator_figures(e_test, 1.01 * e_test, g_test)
    assert figures["relative_error_e0_at_g_0.5"] == pytest.approx(0.01)
    assert figures["max_relative_error_at_g_0.5"] == pytest.approx(0.01)
    assert figures["max_relative_error"] == pytest.approx(0.01)
    assert figures["test_rmse"] == pytest.approx(
        0.01 * np.sqrt(np.mean(e_test**2))
    )


def test_matrix_function_figures_and_recipe_steps():
    (x_train, y_train), (x_test, y_test) = zoo.PRESETS[
        "pmm_matrix_exp_5x5"
    ].data.load()
    assert x_train.shape == y_train.shape == (20000, 5, 5)
    assert x_test.shape == (10000, 5, 5)
    np.testing.assert_array_equal(x_test[0], x_test[0].T)
    assert not np.array_equal(x_train[:10], x_test[:10])  # fresh matrices
    # Every matrix 4% off, except one of ten that is 10% off.
    predicted = 1.04 * y_test[:10]
    predicted[3] = 1.1 * y_test[3]
    figures = array_data.matrix_function_figures(y_test[:10], predicted, None)
    assert figures["within_5_percent"] == pytest.approx(0.9)
    assert figures["median_relative_l1"] == pytest.approx(0.04, rel=1e-5)
    assert figures["mean_relative_l1"] == pytest.approx(0.046, rel=1e-5)
    recipe = zoo.PRESETS["pmm_matrix_exp_5x5"].recipe
    assert recipe.steps(20000) == 76 * 79  # 6,004 steps of batch 256
    oscillator = zoo.PRESETS["pmm_anharmonic_oscillator"].recipe
    assert oscillator.steps(10) == 40 * 500


def test_array_preset_registry_facts():
    preset = zoo.PRESETS["pmm_anharmonic_oscillator"]
    assert preset.kind == "array"
    assert "class_names" not in preset.facts
    assert preset.facts["input"].startswith("coupling g, (batch, 1)")
    assert preset.data.input_shape == (1,)
    model = preset.build()
    assert model.num_outputs == 2


def test_training_writes_a_loadable_preset_and_refuses_to_overwrite(
    tmp_path,
):
    output = tmp_path / "run"
    metadata = training.train(
        "pmm_anharmonic_oscillator", output=output, epochs=2, verbose=0
    )
    assert metadata["epochs_run"] == 2 and metadata["train_examples"] == 10
    assert set(metadata["test_figures"]) >= {"max_relative_error_at_g_0.5"}
    model = zoo.load(output)
    (g_train, e_train), _ = array_data.oscillator_data()
    predicted = model.predict(g_train, verbose=0)
    assert predicted.shape == (10, 2)
    # 1,000 full-batch steps already fit the training energies far better
    # than their mean does.
    rmse = np.sqrt(np.mean((predicted - e_train) ** 2))
    assert rmse < 0.25 * np.sqrt(np.mean(e_train.var(axis=0)))
    figures = array_training.array_figures(
        zoo.PRESETS["pmm_anharmonic_oscillator"], model
    )
    for key, value in figures.items():
        assert value == pytest.approx(metadata["test_figures"][key], rel=1e-4)
    with pytest.raises(FileExistsError, match="already holds a finished"):
        training.train("pmm_anharmonic_oscillator", output=output, epochs=1)


def test_read_arrays_takes_npy_and_csv_and_names_bad_shapes(tmp_path):
    csv = tmp_path / "g.csv"
    csv.write_text("# couplings\n0.1\n0.2\n")
    np.testing.assert_allclose(read_arrays(csv, (1,)), [[0.1], [0.2]])
    matrices = np.arange(50, dtype="float32").reshape(2, 5, 5)
    np.save(tmp_path / "m.npy", matrices)
    np.testing.assert_array_equal(
        read_arrays(tmp_path / "m.npy", (5, 5)), matrices
    )
    flat = tmp_path / "m.csv"
    np.savetxt(flat, matrices.reshape(2, 25), delimiter=",")
    np.testing.assert_array_equal(read_arrays(flat, (5, 5)), matrices)
    with pytest.raises(
        UsageError, match=r"expected examples of shape \(5, 5\)"
    ):
        read_arrays(csv, (5, 5))
    (tmp_path / "bad.csv").write_text("0.1\nnan\n")
    with pytest.raises(UsageError, match="NaN"):
        read_arrays(tmp_path / "bad.csv", (1,))
    with pytest.raises(UsageError, match="No such file"):
        read_arrays(tmp_path / "none.npy", (1,))
    (tmp_path / "g.txt").write_text("0.1\n")
    with pytest.raises(UsageError, match=".npy or .csv"):
        read_arrays(tmp_path / "g.txt", (1,))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_array_preset_reproduces_its_card(name):
    """Loads on the current backend (the suite runs on all three) and meets
    every figure of its card."""
    preset, info = zoo.PRESETS[name], zoo.metadata(name)
    model = zoo.load(name)
    assert model.count_params() == info["parameters"]
    figures = array_training.array_figures(preset, model)
    assert set(figures) == set(info["test_figures"])
    for key, value in figures.items():
        assert value == pytest.approx(
            info["test_figures"][key],
            rel=REPRODUCED_RTOL,
            abs=REPRODUCED_ATOL,
        ), key


@pytest.mark.parametrize("name", SHIPPED)
def test_cli_evaluates_lists_and_predicts_an_array_preset(name, tmp_path):
    result = _cli("zoo", "evaluate", name)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "card: reproduced" in result.stdout
    listed = _cli("zoo", "list")
    assert listed.returncode == 0, listed.stderr[-2000:]
    line = next(r for r in listed.stdout.splitlines() if r.startswith(name))
    assert zoo.PRESETS[name].data.headline_label in line
    _, (x_test, _) = zoo.PRESETS[name].data.load()
    np.save(tmp_path / "inputs.npy", x_test[:3])
    predicted = _cli("predict", name, tmp_path / "inputs.npy")
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert "3 inputs" in predicted.stdout
    expected = zoo.load(name).predict(x_test[:3], verbose=0)
    rows = predicted.stdout.strip().splitlines()[-3:]
    printed = np.array([row.split(",") for row in rows], "float64")
    np.testing.assert_allclose(
        printed.reshape(expected.shape), expected, rtol=1e-5, atol=1e-5
    )
    refused = _cli("predict", name, tmp_path / "inputs.npy", "--uncertainty")
    assert refused.returncode != 0 and "classifier presets" in refused.stderr
