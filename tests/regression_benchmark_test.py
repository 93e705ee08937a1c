"""benchmarks/regression/run.py: the test functions, its quick mode, and its
table against the committed results.

Timings and the full run's accuracy are never asserted here (the committed
JSON records them).
"""

import json
import math
import pathlib

import numpy as np
import pytest

from tests.test_case import load_script

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    """The script as a module (benchmarks/ is no package)."""
    return load_script("benchmarks/regression/run.py")


@pytest.fixture(scope="module")
def quick(bench):
    """A quick run on one surface."""
    return bench.run(("runge",), quick=True, log=lambda s: None)


def test_functions_at_known_points(bench):
    # Franke (1979): f(0, 0) = 0.75 e^-2 + 0.75 e^(-1/49 - 1/10) + ...
    np.testing.assert_allclose(bench.franke(0.0, 0.0), 0.76642059, atol=1e-7)
    np.testing.assert_allclose(bench.cliff(0.3, 0.3), 1 / 9)
    np.testing.assert_allclose(bench.cliff(0.0, 1.0), (math.tanh(9) + 1) / 9)
    np.testing.assert_allclose(bench.runge(0.0, 0.0), 1.0)
    np.testing.assert_allclose(bench.runge(1.0, -1.0), 1 / 51)
    np.testing.assert_allclose(bench.bump(1.0, -1.0), 1.0)
    np.testing.assert_allclose(bench.bump(1.5, -1.0), math.exp(-1))
    np.testing.assert_allclose(bench.wave_mix(0.0), 0.5)
    np.testing.assert_allclose(bench.wave_packet(math.pi / 12), 0.9663111, 1e-6)


def test_surface_test_grid_is_off_the_domain_grid(bench):
    (x, y), (x_val, _), (x_test, y_test) = bench.task_data("franke")
    assert x.shape == (150, 2) and y.shape == (150, 1)
    assert x_val.shape == (50, 2)
    assert x_test.shape == (10_000, 2) and y_test.shape == (10_000, 1)
    np.testing.assert_allclose(x_test.min(0), 0.005, atol=1e-6)
    np.testing.assert_allclose(x_test.max(0), 0.995, atol=1e-6)
    np.testing.assert_allclose(y_test[:, 0], bench.franke(*x_test.T), 1e-5)
    (x, _), _, _ = bench.task_data("bump")
    assert x.min() >= -3 and x.max() <= 3


def test_equal_parameter_width_is_the_nearest(bench):
    for parameters, inputs in ((223, 2), (407, 2), (80, 1), (500, 10)):
        width = bench.equal_parameter_width(parameters, inputs)

        def count(h, p=inputs):
            return h * h + (p + 3) * h + 1

        assert all(
            abs(count(width) - parameters) <= abs(count(h) - parameters)
            for h in range(1, 3 * width + 3)
        )


def test_quick_run_has_every_method_with_finite_errors(bench, quick):
    assert set(quick["tasks"]) == {"runge"}
    for entry in quick["tasks"].values():
        assert set(entry["methods"]) == set(bench.METHODS)
        for result in entry["methods"].values():
            assert np.isfinite(result["test_rmse"]) and result["params"] > 0
            assert result["trials"]
    runge = quick["tasks"]["runge"]
    assert runge["methods"]["PMM"]["test_rmse"] < 0.5 * runge["test_std"]
    pmm = runge["methods"]["PMM"]
    equal = runge["methods"]["MLP (equal params)"]
    assert abs(equal["params"] - pmm["params"]) < 0.2 * pmm["params"]
    json.dumps(quick)  # serialisable as the script writes it


def test_table_and_plot_of_a_quick_run(bench, quick, tmp_path):
    lines = bench.table(quick).splitlines()
    assert len(lines) == 2 + len(quick["tasks"])
    paths = bench.plot(quick, tmp_path)
    assert [p.name for p in paths] == [
        "regression_rmse.png",
        "regression_params.png",
    ]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_table_matches_the_committed_results(bench):
    results = json.loads(bench.RESULTS.read_text())
    assert not results["quick"]
    assert list(results["tasks"]) == list(bench.TASKS)
    assert results["summary"] == bench.summary(results["tasks"])
    rows = bench.table(results).splitlines()[2:]
    for row, (task, entry) in zip(rows, results["tasks"].items()):
        assert row.startswith(f"| {task} |")
        for method in bench.METHODS:
            m = entry["methods"][method]
            assert f"{m['test_rmse']:.2e} ({m['params']:,})" in row
    for name in ("regression_rmse.png", "regression_params.png"):
        assert (bench.RESULTS_DIR / name).stat().st_size > 1000


def test_readme_table_is_the_committed_results(bench):
    readme = (ROOT / "README.md").read_text()
    start = readme.index("<!-- regression-table:start")
    section = readme[readme.index("\n", start) + 1 :]
    section = section[: section.index("<!-- regression-table:end -->")]
    results = json.loads(bench.RESULTS.read_text())
    assert section.strip() == bench.table(results).strip()
