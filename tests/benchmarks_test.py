"""The zoo benchmark's pieces: equal-parameter MLP, timing callback, plot,
table.

Timings themselves are never asserted here (speed belongs in benchmarks/).
"""

import importlib.util
import json
import pathlib

import numpy as np
import pytest
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def zoo_bench():
    spec = importlib.util.spec_from_file_location(
        "zoo_bench", ROOT / "benchmarks" / "zoo_bench.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_equal_parameter_mlp_is_the_nearest_width(zoo_bench):
    for parameters in (1600, 2494, 4098, 30000):
        width = zoo_bench.equal_parameter_width(parameters)
        sizes = {
            h: zoo_bench.mlp(h).count_params()
            for h in (width - 1, width, width + 1)
            if h
        }
        assert min(sizes, key=lambda h: abs(sizes[h] - parameters)) == width
    assert zoo_bench.mlp(3).count_params() == 784 * 3 + 3 + 3 * 10 + 10


def test_mlp_takes_raw_images_and_returns_probabilities(zoo_bench):
    images = (
        np.random.default_rng(0).integers(0, 256, (4, 28, 28)).astype("uint8")
    )
    probabilities = zoo_bench.mlp(4).predict(images, verbose=0)
    assert probabilities.shape == (4, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_epoch_timer_times_every_epoch(zoo_bench):
    model = zoo_bench.mlp(2)
    zoo_bench._compile(model, 1e-3, epochs=3, steps_per_epoch=1)
    timer = zoo_bench.EpochTimer()
    x = np.zeros((8, 28, 28), "uint8")
    model.fit(
        x,
        np.zeros(8, "int32"),
        epochs=3,
        batch_size=8,
        callbacks=[timer],
        verbose=0,
    )
    assert len(timer.seconds) == 3 and all(s > 0 for s in timer.seconds)


def test_shipped_points_come_from_the_metadata(zoo_bench):
    from keras_pmm import zoo

    points = {p["preset"]: p for p in zoo_bench.shipped_points()}
    for name in zoo_bench.PMM_SIZES:
        metadata = zoo.metadata(name)
        assert points[name]["parameters"] == metadata["parameters"]
        assert points[name]["test_accuracy"] == metadata["test_accuracy"]


def test_plot_and_table(zoo_bench, tmp_path):
    points = [
        {
            "dataset": "MNIST",
            "family": family,
            "parameters": size,
            "test_accuracy": accuracy,
        }
        for family, size, accuracy in (
            ("PMM", 700, 0.9),
            ("PMM", 2500, 0.95),
            ("MLP", 1600, 0.8),
            ("shipped", 2494, 0.96),
        )
    ]
    path = tmp_path / "plot.png"
    zoo_bench.plot(points, epochs=10, path=path)
    with Image.open(path) as image:
        assert image.size[0] > 300 and image.size[1] > 300
    rows = [
        {
            "model": "pmm_mnist",
            "parameters": 2494,
            "train_samples_per_s": 6697.2,
            "latency_ms_batch_1": 1.386,
            "latency_ms_batch_256": 0.0984,
        }
    ]
    table = zoo_bench.throughput_table({"jax": rows}).splitlines()
    assert table[2] == "| jax | pmm_mnist | 2,494 | 6,697 | 1.39 | 0.098 |"


def test_committed_results_match_the_readme():
    """The README's benchmark figures are those of the committed results."""
    results = json.loads(
        (ROOT / "benchmarks" / "results" / "zoo_bench.json").read_text()
    )
    readme = (ROOT / "README.md").read_text()
    assert "benchmarks/results/zoo_accuracy_vs_params.png" in readme
    assert (
        ROOT / "benchmarks" / "results" / "zoo_accuracy_vs_params.png"
    ).is_file()
    for backend, rows in results["throughput"].items():
        for row in rows:
            assert (
                f"| {backend} | {row['model']} | {row['parameters']:,} | "
                f"{row['train_samples_per_s']:,.0f} |" in readme
            )
