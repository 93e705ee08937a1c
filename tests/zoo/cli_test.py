"""The `keras-pmm` console script, run as users run it (subprocess)."""

import os
import shutil
import subprocess
import sys

import keras
import numpy as np

from keras_pmm import zoo

SCRIPT = shutil.which("keras-pmm") or os.path.join(
    os.path.dirname(sys.executable), "keras-pmm"
)


def _run(*args, timeout=300):
    """Runs the script with its own TensorFlow log level (the quiet one)."""
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run(
        [SCRIPT, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_zoo_list_shows_every_preset():
    result = _run("zoo", "list")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no TensorFlow C++ log lines
    for name in zoo.list():
        assert name in result.stdout
    assert "not trained here" in result.stdout
    accuracy = zoo.metadata("pmm_mnist")["evaluation"]["test_accuracy"]
    assert f"{100 * accuracy:.2f}%" in result.stdout


def test_zoo_evaluate_reproduces_the_card(data_dir):
    result = _run("zoo", "evaluate", "pmm_mnist", "--data-dir", data_dir)
    assert result.returncode == 0, result.stderr
    card = zoo.metadata("pmm_mnist")["evaluation"]
    first = result.stdout.splitlines()[0]
    if keras.backend.backend() == card["backend"]:
        assert f"({card['test_correct']:,} / 10,000)" in first
        assert "reproduced exactly" in result.stdout
    else:  # another backend's eigh may flip an image or two
        correct = int(first.split("(")[1].split(" /")[0].replace(",", ""))
        assert abs(correct - card["test_correct"]) <= 3


def test_predict_images_and_arrays(tmp_path, data_dir):
    _, (x_test, y_test) = zoo.PRESETS["pmm_mnist"].data.load(data_dir)
    png = tmp_path / "digit.png"
    keras.utils.save_img(png, x_test[0][..., None], scale=False)
    npy = tmp_path / "digits.npy"
    np.save(npy, x_test[1:3])
    result = _run("predict", "pmm_mnist", str(png), str(npy), "--top-k", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{png}: {y_test[0]} (")
    assert lines[1].startswith(f"{npy}[0]: {y_test[1]} (")
    assert lines[2].count("(") == 2


def test_predict_unreadable_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    result = _run("predict", "pmm_mnist", str(bad))
    assert result.returncode == 2
    assert (
        "Cannot read" in result.stderr and "PNG, JPEG or .npy" in result.stderr
    )


def test_unknown_preset_and_recipe_only_preset():
    result = _run("zoo", "evaluate", "pmm_cifar")
    assert result.returncode == 2 and "Unknown preset" in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    result = _run("predict", "pmm_emnist_balanced", __file__)
    assert result.returncode == 2


def test_predict_uncertainty_prints_entropy_and_mutual_information(
    tmp_path, data_dir
):
    _, (x_test, y_test) = zoo.PRESETS["pmm_mnist"].data.load(data_dir)
    (_, _), (x_fashion, _) = zoo.DATASETS["fashion_mnist"].load(data_dir)
    npy = tmp_path / "mixed.npy"
    np.save(npy, np.stack([x_test[0], x_fashion[0]]))
    result = _run("predict", "pmm_mnist_ensemble", str(npy), "--uncertainty")
    assert result.returncode == 0, result.stderr
    digit, clothing = result.stdout.strip().splitlines()
    assert digit.startswith(f"{npy}[0]: {y_test[0]} (")
    values = []
    for line in (digit, clothing):
        assert "| entropy " in line and "mutual information " in line
        entropy = float(line.split("| entropy ")[1].split(" nats")[0])
        values.append(entropy)
    assert values[1] > values[0]  # the clothing image is the uncertain one
    plain = _run("predict", "pmm_mnist", str(npy), "--uncertainty")
    assert plain.returncode == 0, plain.stderr
    assert "| entropy " in plain.stdout
    assert "mutual information" not in plain.stdout
