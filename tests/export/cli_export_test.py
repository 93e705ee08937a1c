"""`keras-pmm export` and `keras-pmm predict MODEL.tflite` as users run them."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "zoo" / "samples"


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
    assert out.is_file() and (tmp_path / "m.labels.txt").is_file()
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


@pytest.mark.parametrize(
    "arguments,message",
    [
        (["--format", "onnx", "--quantize", "int8"], "tflite only"),
        (["--format", "tflite", "--out", "/no/such/folder/m.tflite"], "folder"),
    ],
)
def test_export_usage_errors(tmp_path, arguments, message):
    if "--out" not in arguments:
        arguments = arguments + ["--out", str(tmp_path / "m.onnx")]
    result = _keras_pmm("export", "pmm_mnist", *arguments)
    assert result.returncode == 2
    assert message in result.stderr


def test_predict_tflite_rejects_a_wrong_shape(tmp_path):
    from keras_pmm import export

    out = tmp_path / "m.tflite"
    export.export_tflite("pmm_mnist", out)
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((3, 5), "float32"))
    result = _keras_pmm("predict", str(out), str(bad))
    assert result.returncode == 2
    assert "bad.npy" in result.stderr
