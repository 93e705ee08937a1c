"""`keras-pmm export` and `keras-pmm predict` on exported and Keras files,
as users run them."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_pmm import cli
from keras_pmm import export
from keras_pmm import models
from keras_pmm.export.litert import TFLiteModel
from tests.export import keras_fixtures

SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "zoo" / "samples"
HEAVY = ("keras", "tensorflow", "jax", "torch")


def _keras_pmm(*arguments, env=None):
    return subprocess.run(
        [sys.executable, "-m", "keras_pmm.cli", *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_export_then_predict_with_litert_alone(tmp_path):
    out = tmp_path / "m.tflite"
    result = _keras_pmm(
        "export", "pmm_mnist", "--format", "tflite", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    assert "10 class names inside" in result.stdout
    # One file, its class names inside: nothing beside it to get separated.
    assert sorted(os.listdir(tmp_path)) == ["m.tflite"]
    assert export.read_labels(out) == [str(d) for d in range(10)]
    before = out.read_bytes()

    again = _keras_pmm(
        "export", "pmm_mnist", "--format", "tflite", "--out", str(out)
    )
    assert again.returncode == 2
    assert "exists" in again.stderr and "--force" in again.stderr
    assert out.read_bytes() == before

    samples = sorted(SAMPLES.glob("mnist_test_*.png"))
    # The phone-side path: no Keras, no TensorFlow in the process.
    script = (
        "import sys\n"
        "from keras_pmm import cli\n"
        "status = cli.main(sys.argv[1:])\n"
        "heavy = [m for m in ('keras', 'tensorflow', 'jax', 'torch') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "sys.exit(status)\n"
    )
    predicted = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "predict",
            str(out),
            *map(str, samples),
            "--top-k",
            "1",
        ],
        capture_output=True,
        text=True,
    )
    assert predicted.returncode == 0, predicted.stderr
    lines = predicted.stdout.strip().splitlines()
    assert len(lines) == len(samples)
    for line, sample in zip(lines, samples):
        true_label = sample.stem.rsplit("_", 1)[-1]
        assert line.startswith(f"{sample}: {true_label} (")


# Calls `main` and reports which heavy modules it imported.
_MAIN_THEN_MODULES = (
    "import sys\n"
    "from keras_pmm import cli\n"
    "status = cli.main(sys.argv[1:])\n"
    f"heavy = [m for m in {HEAVY} if m in sys.modules]\n"
    "print('heavy:', heavy)\n"
    "sys.exit(status)\n"
)


@pytest.mark.parametrize(
    "name,out,extra,message",
    [
        ("pmm_mnist", "/no/such/folder/m.tflite", [], "No such folder"),
        ("pmm_mnist", "m.onnx", [], "must end in '.tflite'"),
        ("pmm_mnist", "old.tflite", [], "exists; pass overwrite=True"),
        (
            "pmm_mnist",
            "o.tflite",
            ["--format", "onnx", "--quantize", "int8"],
            "--quantize applies to --format tflite only",
        ),
        (
            "pmm_mnist",
            "old.tflite",
            ["--format", "saved_model", "--force"],
            "is a file",
        ),
        ("missing.keras", "m.tflite", [], "No such file: missing.keras"),
    ],
    ids=["folder", "suffix", "exists", "quantize", "kind", "keras_file"],
)
def test_export_checks_paths_before_loading_tensorflow(
    tmp_path, name, out, extra, message
):
    (tmp_path / "old.tflite").write_bytes(b"old")
    arguments = ["export", name, "--out", out]
    arguments += extra or ["--format", "tflite"]
    result = subprocess.run(
        [sys.executable, "-c", _MAIN_THEN_MODULES, *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "KERAS_BACKEND": "tensorflow"},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("keras-pmm: error: ")
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "heavy: []" in result.stdout
    assert (tmp_path / "old.tflite").read_bytes() == b"old"


def test_export_permission_and_disk_errors_are_one_line(
    tmp_path, monkeypatch, capsys
):
    from keras_pmm.export import _files

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    out = tmp_path / "m.tflite"
    arguments = ["export", "pmm_mnist", "--format", "tflite", "--out", str(out)]
    monkeypatch.setattr(_files.tempfile, "mkstemp", denied)
    assert cli.main(arguments) == 2
    error = capsys.readouterr().err
    assert error == (
        f"keras-pmm: error: Cannot write {out} (permission denied); choose a "
        "folder you can write\n"
    )
    monkeypatch.undo()
    monkeypatch.setattr(
        _files.shutil, "disk_usage", lambda f: type("U", (), {"free": 0})()
    )
    assert cli.main(arguments) == 2
    error = capsys.readouterr().err
    assert "Not enough free space" in error and error.count("\n") == 1
    assert not out.exists()


@pytest.mark.large
def test_kill_9_during_an_export_leaves_nothing_at_the_target(tmp_path):
    """A real `keras-pmm export` to a SavedModel, killed once TensorFlow is
    tracing (its staging folder exists in TMPDIR)."""
    model = models.PMMClassifier(num_classes=3, n=3)
    model(np.zeros((2, 4), "float32"))
    model.save(tmp_path / "m.keras")
    staging = tmp_path / "tmp"
    staging.mkdir()
    out = tmp_path / "sm"
    child = subprocess.Popen(
        [sys.executable, "-m", "keras_pmm.cli", "export", str(tmp_path /
         "m.keras"), "--format", "saved_model", "--out", str(out)],
        env={**os.environ, "TMPDIR": str(staging)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list(staging.glob("keras-pmm-export-*")):
            assert child.poll() is None, "the export ended before the kill"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert sorted(os.listdir(tmp_path)) == ["m.keras", "tmp"]


def test_predict_tflite_rejects_a_wrong_shape(tmp_path):
    from keras_pmm import export

    out = tmp_path / "m.tflite"
    export.export_tflite("pmm_mnist", out)
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((3, 5), "float32"))
    result = _keras_pmm("predict", str(out), str(bad))
    assert result.returncode == 2
    assert "bad.npy" in result.stderr


def _predict(capsys, *arguments):
    status = cli.main(["predict", *map(str, arguments)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_predict_reads_a_keras_exported_tflite_file(tmp_path, capsys):
    """Keras' own export names its output `output_0` (a KeyError before);
    a `.csv` header row is a header; a non-classifier prints its rows."""
    x = np.array([[1, 2, 3, 4], [0, 0.5, -1, 2]], "float32")
    npy, csv = tmp_path / "x.npy", tmp_path / "x.csv"
    np.save(npy, x)
    csv.write_text("a,b,c,d\n1,2,3,4\n0,0.5,-1,2\n")
    status, out, _ = _predict(
        capsys, keras_fixtures.SOFTMAX, npy, csv, "--top-k", "3"
    )
    assert status == 0
    probabilities = keras_fixtures.softmax_reference(x)
    expected = []
    for path in (npy, csv):
        for i, row in enumerate(probabilities):
            best = np.argsort(-row)
            expected.append(
                f"{path}[{i}]: "
                + ", ".join(f"{c} ({row[c]:.3f})" for c in best)
            )
    assert out.splitlines() == expected

    status, out, _ = _predict(capsys, keras_fixtures.LINEAR, csv)
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == (
        f"{csv}: 2 inputs -> outputs of shape (2,), one comma-separated row "
        "each"
    )
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    np.testing.assert_allclose(
        rows, keras_fixtures.linear_reference(x), rtol=1e-6
    )


@pytest.mark.parametrize(
    "content,message",
    [
        (np.zeros((0, 4), "float32"), "holds no examples (an empty batch)"),
        ("a,b,c,d\n", "holds no examples (an empty batch)"),
        ("1,2,3\n", "expected examples of shape (4,)"),
        ("a,b,c,d\n1,x,3,4\n", "could not convert"),
    ],
    ids=["empty_npy", "header_only_csv", "short_row", "bad_value"],
)
def test_predict_tflite_input_errors_are_one_line(
    tmp_path, capsys, content, message
):
    if isinstance(content, str):
        path = tmp_path / "x.csv"
        path.write_text(content)
    else:
        path = tmp_path / "x.npy"
        np.save(path, content)
    status, _, err = _predict(capsys, keras_fixtures.SOFTMAX, path)
    assert status == 2
    assert err.startswith("keras-pmm: error: ") and err.count("\n") == 1
    assert message in err


def test_predict_uncertainty_needs_a_classifier(tmp_path, capsys):
    path = tmp_path / "x.npy"
    np.save(path, np.ones((1, 4), "float32"))
    status, _, err = _predict(
        capsys, keras_fixtures.LINEAR, path, "--uncertainty"
    )
    assert status == 2 and "applies to classifiers" in err


def test_predict_takes_the_users_own_keras_files(tmp_path, capsys):
    """`export` accepted `.keras` files; `predict` said "Unknown preset"."""
    x = np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4)
    np.save(tmp_path / "x.npy", x)
    classifier = models.PMMClassifier(num_classes=3, n=3)
    probabilities = keras.ops.convert_to_numpy(classifier(x))
    classifier.save(tmp_path / "classifier.keras")
    regressor = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    outputs = keras.ops.convert_to_numpy(regressor(x))
    regressor.save(tmp_path / "regressor.keras")

    status, out, _ = _predict(
        capsys, tmp_path / "classifier.keras", tmp_path / "x.npy",
        "--top-k", "1",
    )  # fmt: skip
    assert status == 0
    assert out.splitlines() == [
        f"{tmp_path / 'x.npy'}[{i}]: {row.argmax()} ({row.max():.3f})"
        for i, row in enumerate(probabilities)
    ]
    status, out, _ = _predict(
        capsys, tmp_path / "regressor.keras", tmp_path / "x.npy"
    )
    assert status == 0
    rows = [
        [float(v) for v in line.split(",")] for line in out.splitlines()[1:]
    ]
    np.testing.assert_allclose(rows, outputs, rtol=1e-5, atol=1e-6)
    status, _, err = _predict(capsys, tmp_path / "none.keras", "x.npy")
    assert status == 2 and "No such file" in err


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="in-process `export` needs TensorFlow; on JAX and PyTorch the CLI "
    "runs the same code in a TensorFlow process (a subprocess test per "
    "backend would cost 20 s each)",
)
def test_posterior_draws_apply_to_bayesian_models_only(tmp_path, capsys):
    status = cli.main(
        ["export", "pmm_mnist", "--format", "tflite",
         "--out", str(tmp_path / "m.tflite"),
         "--posterior-draws", "3"]
    )  # fmt: skip
    assert status == 2
    assert "--posterior-draws applies to Bayesian models" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "m.tflite").exists()


@pytest.mark.large
def test_bayesian_model_exports_its_posterior_draws(tmp_path):
    """Issue 31, item 7: an exported Bayesian model was its posterior mean,
    without the draws' disagreement (mutual information)."""
    from keras_pmm import uq

    model = uq.BayesianImagePMMClassifier(3, n=4, num_samples=2, seed=0)
    model.save(tmp_path / "bayes.keras")
    out = tmp_path / "draws.tflite"
    result = _keras_pmm(
        "export", str(tmp_path / "bayes.keras"), "--format", "tflite",
        "--out", str(out),
        "--posterior-draws", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    litert = TFLiteModel(out)
    assert "mutual_information" in litert.output_names
    images = np.random.default_rng(0).integers(0, 256, (4, 28, 28))
    expected = model.posterior_ensemble().predict(images, verbose=0)
    np.testing.assert_allclose(
        litert.predict(images.astype("float32")), expected, atol=1e-4
    )


@pytest.mark.parametrize(
    "outputs",
    [np.array([[0.5, 0.5], [np.nan, np.nan]]), np.array([[1.0], [np.inf]])],
    ids=["probabilities", "rows"],
)
def test_predict_refuses_to_print_nan_answers(outputs, capsys):
    """Issue 31, item 3: a float16 file's NaN printed as `0 (nan)`, exit 0."""
    from keras_pmm import _cli_litert

    with pytest.raises(_cli_litert.UsageError, match="1 of the 2 inputs"):
        _cli_litert.print_outputs("x.npy", outputs, ["a", "b"], top_k=1)
    assert capsys.readouterr().out == ""
