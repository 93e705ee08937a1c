"""Every tutorial runs end to end in its fast mode."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_mnist_tutorial_fast_mode_trains_saves_and_reloads(data_dir, tmp_path):
    output = tmp_path / "model.keras"
    result = subprocess.run(
        [
            sys.executable,
            "tutorials/mnist_image_pmm.py",
            "--fast",
            "--data-dir",
            data_dir,
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    accuracy = float(result.stdout.split("test accuracy:")[1].split()[0])
    assert (
        accuracy > 0.5
    )  # 10,000 images, one epoch: far above the 0.1 of chance
    assert "identical predictions" in result.stdout
    assert output.is_file()
