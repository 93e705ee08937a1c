"""Every tutorial runs end to end in its fast mode."""

from tests.test_case import run_tutorial


def test_mnist_tutorial_fast_mode_trains_saves_and_reloads(data_dir, tmp_path):
    output = tmp_path / "model.keras"
    stdout = run_tutorial(
        "mnist_image_pmm.py", "--data-dir", data_dir, "--output", str(output)
    )
    accuracy = float(stdout.split("test accuracy:")[1].split()[0])
    assert (
        accuracy > 0.5
    )  # 10,000 images, one epoch: far above the 0.1 of chance
    assert "identical predictions" in stdout
    assert output.is_file()


def test_export_tutorial_fast_mode_agrees_with_keras(data_dir, tmp_path):
    stdout = run_tutorial(
        "export_to_tflite.py",
        "--data-dir",
        data_dir,
        "--output-dir",
        str(tmp_path),
    )
    lines = dict(
        line.split(":", 1) for line in stdout.splitlines() if ":" in line
    )
    assert "WHILE" in lines["float32 ops"]
    samples = lines["samples"].split()
    assert samples[0] == "6/6", lines["samples"]
    assert float(samples[-1]) < 1e-4
    assert lines["test images"].strip() == "1,000"
    float32 = lines["float32"].split(",")  # the test set line, printed last
    assert float(float32[0].split()[-1]) < 1e-4  # max |p difference|
    assert float32[1].split()[-1] == "100.00%"  # argmax agreement
    for label in ("float32", "float16", "dynamic_int8"):
        assert (tmp_path / f"pmm_mnist_{label}.tflite").is_file()
    from keras_pmm import export  # the class names travel inside the file

    assert export.read_labels(tmp_path / "pmm_mnist_float32.tflite") == list(
        "0123456789"
    )


def test_uncertainty_tutorial_fast_mode(data_dir, tmp_path):
    stdout = run_tutorial(
        "uncertainty.py",
        "--data-dir",
        data_dir,
        "--output-dir",
        str(tmp_path),
        timeout=900,
    )
    lines = {
        key.strip(): value.strip()
        for key, value in (
            line.split(":", 1) for line in stdout.splitlines() if ":" in line
        )
    }
    # The ensemble's NLL is below its members' mean: they differ.
    gain = float(lines["ensemble vs members"].split()[1])
    assert gain < -1e-3, lines["ensemble vs members"]
    coverage = float(lines["conformal coverage"].split()[0])
    # 1,000 test images at alpha = 0.1: 0.9 within 3 binomial errors (0.028)
    assert 0.87 <= coverage <= 0.93, lines["conformal coverage"]
    auroc = lines["OOD AUROC"]
    assert float(auroc.split("ensemble ")[1].split(",")[0]) > 0.6, auroc
    assert lines["tflite outputs"] == "entropy, mutual_information, outputs"
    assert float(lines["tflite entropy"].split()[-1]) < 1e-4
    assert (tmp_path / "reliability.png").stat().st_size > 10000
    assert (tmp_path / "mnist_ensemble.tflite").is_file()


def test_quantum_extrapolation_tutorial_compares_pmm_with_baselines(
    tmp_path,
):
    stdout = run_tutorial(
        "quantum_extrapolation.py", "--output-dir", str(tmp_path)
    )
    rows = {
        line.split("  ")[0]: line.split()[-2:]
        for line in stdout.splitlines()
        if line.endswith("%")
    }
    labels = " ".join(rows)
    assert "AE-PMM" in labels and "MLP" in labels
    assert "polynomial, degree 5" in labels
    for errors in rows.values():  # two finite relative errors per model
        assert all(float(e.rstrip("%")) >= 0 for e in errors)
    assert (tmp_path / "quantum_extrapolation.png").stat().st_size > 10000
    assert (tmp_path / "pmm_anharmonic_oscillator" / "metadata.json").is_file()


def test_regression_tutorial_fits_franke_with_both_models(tmp_path):
    stdout = run_tutorial("regression.py", "--output-dir", str(tmp_path))
    errors = {
        line.split(" (")[0]: float(line.split("test RMSE")[1])
        for line in stdout.splitlines()
        if "test RMSE" in line
    }
    assert set(errors) == {"PMM", "MLP"}
    # 200 steps: the PMM far below the spread of Franke's function on the
    # test grid (0.29), the MLP below it.
    assert 0 < errors["PMM"] < 0.1 and 0 < errors["MLP"] < 0.29, errors
    assert (tmp_path / "franke.png").stat().st_size > 10000
