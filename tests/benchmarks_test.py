"""The zoo benchmark's pieces: equal-parameter MLP, timing callback, plot,
table.

Timings themselves are never asserted here (speed belongs in benchmarks/).
"""

import json
import pathlib

import numpy as np
import pytest
from PIL import Image

from tests.test_case import load_benchmark

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def zoo_bench():
    return load_benchmark("zoo_bench")


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


def test_export_bench_quick_run(data_dir, tmp_path, capsys):
    """One tiny export benchmark: pmm_mnist and the MLP to float32 TFLite,
    one Jacobi sweep count, 64 test images."""
    export_bench = load_benchmark("export_bench")
    path = tmp_path / "export.json"
    argv = ["--quick", "--presets", "pmm_mnist", "--formats", "float32"]
    argv += ["--limit", "64", "--data-dir", data_dir, "--json", str(path)]
    assert export_bench.main(argv) == 0
    report = json.loads(path.read_text())
    assert report["limit"] == 64 and report["skipped_presets"]
    rows = {(row["model"], row["format"]): row for row in report["rows"]}
    pmm = rows["pmm_mnist", "float32"]
    assert pmm["runtime"] == "LiteRT" and pmm["parameters"] == 2494
    assert 10_000 < pmm["file_bytes"] < 1_000_000
    assert pmm["latency_ms_1_thread"] > 0 and pmm["latency_ms_2_thread"] > 0
    assert pmm["accuracy"] == pmm["keras_accuracy"] > 0.8
    assert pmm["agreement"] == 1.0 and pmm["max_prob_diff"] < 1e-3
    assert rows["pmm_mnist", "Keras model(x)"]["latency_ms_default_threads"]
    (mlp,) = [
        row
        for key, row in rows.items()
        if key[1] == "float32" and key[0].startswith("MLP 784-")
    ]
    assert abs(mlp["parameters"] - 2494) < 795 and mlp["file_bytes"] > 0
    target = report["targets"][0]
    assert target["model"] == "pmm_mnist"
    assert target["size_ratio"] == pmm["file_bytes"] / 200_000
    study = report["sweeps"]
    assert study["default_sweeps"] == 6
    assert [row["sweeps"] for row in study["rows"]] == [1]
    assert 0 <= study["rows"][0]["accuracy"] <= 1
    printed = capsys.readouterr().out
    assert "| pmm_mnist | 2,494 | float32 | LiteRT |" in printed
    assert "## Jacobi sweeps" in printed


def test_uq_bench_quick_run(data_dir, tmp_path):
    """The uncertainty benchmark on one preset, 500 test images, 3 angles,
    and the ensemble's fit speed on 1,024 images."""
    uq_bench = load_benchmark("uq_bench")
    path = tmp_path / "uq.json"
    argv = ["--quick", "--presets", "pmm_mnist_ensemble", "--members", "2"]
    argv += ["--data-dir", data_dir, "--json", str(path)]
    argv += ["--rotation-plot", str(tmp_path / "rotation.png")]
    argv += ["--reliability-plot", str(tmp_path / "reliability.png")]
    uq_bench.main(argv)
    import keras

    entry = json.loads(path.read_text())[keras.backend.backend()]
    preset = entry["presets"]["pmm_mnist_ensemble"]
    assert preset["baseline_preset"] == "pmm_mnist"
    assert preset["training_wall_time_s"] > 0
    for key in ("preset", "baseline"):
        figures = preset[key]
        assert figures["test_accuracy"] > 0.95
        assert 0 <= figures["ece"] < 0.05 and figures["nll"] < 0.2
        assert figures["ood_auroc"] > 0.85
        conformal = figures["conformal"]
        assert conformal["coverage"] >= 0.85 and conformal["alpha"] == 0.1
        rotation = figures["rotation"]
        assert rotation["angles"] == [15, 105]
        # Rotated digits are harder: accuracy falls, more at 105 degrees.
        assert figures["test_accuracy"] > rotation["accuracy"][0]
        assert rotation["accuracy"][0] > rotation["accuracy"][1]
    # The ensemble beats its single baseline on NLL, as on its card.
    assert preset["preset"]["nll"] < preset["baseline"]["nll"]
    speed = entry["fit_speed"]
    assert speed["members"] == 2 and speed["ratio_to_single"] > 0
    for plot in ("rotation.png", "reliability.png"):
        assert (tmp_path / plot).stat().st_size > 10000


def test_committed_uq_results_match_the_readme():
    """The README's uncertainty table is the committed results' (JAX)."""
    uq_bench = load_benchmark("uq_bench")
    results = json.loads(
        (ROOT / "benchmarks" / "results" / "uq_bench.json").read_text()
    )
    readme = (ROOT / "README.md").read_text()
    for line in uq_bench.table(results["jax"]).splitlines():
        assert line in readme, line
    for plot in ("uq_rotation.png", "uq_reliability.png"):
        assert f"benchmarks/results/{plot}" in readme
        assert (ROOT / "benchmarks" / "results" / plot).is_file()


def test_pypmm_tasks_quick_run(capsys):
    """pyPMM's two tasks, 100 steps of the recommended recipe, one run each:
    the JSON last line, pyPMM's parameter counts, and errors a short fit
    reaches (a constant predictor scores about 0.08 and 0.02)."""
    pypmm_tasks = load_benchmark("pypmm_tasks")
    pypmm_tasks.main(["--quick", "--json", "--repeats", "1"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["ex1"]["params"] == 76 and result["ex2"]["params"] == 101
    assert result["ex1"]["steps"] == result["ex2"]["steps"] == 100
    for task in ("ex1", "ex2"):
        assert result[task]["wall_s"] > 0 and result[task]["cold_wall_s"] > 0
        assert 0 < result[task]["test_mse"] < 0.05, result[task]
    # The data are pyPMM's: 70/15/15 of 100 points; a 10 x 10 grid.
    train, validation, test = pypmm_tasks.ex1_data(0)
    assert [len(part[0]) for part in (train, validation, test)] == [70, 15, 15]
    grid, off_grid = pypmm_tasks.ex2_data(0)
    assert grid[0].shape == (100, 2) and off_grid[0].shape == (2000, 2)
    assert grid[1].max() == pytest.approx(1.0)  # (1, -1) is a grid node


def test_committed_pypmm_results_match_the_readme():
    pypmm_tasks = load_benchmark("pypmm_tasks")
    results = json.loads(
        (ROOT / "benchmarks" / "results" / "pypmm_tasks.json").read_text()
    )
    readme = (ROOT / "README.md").read_text()
    for line in pypmm_tasks.table(results).splitlines():
        assert line in readme, line
