"""The matrix-function benchmark and tutorial, in their fast modes.

Figures are not asserted beyond sanity (the full run's figures are in
benchmarks/results/matrix_functions.json).
"""

import json
import pathlib

import numpy as np

from tests.test_case import load_benchmark
from tests.test_case import run_tutorial

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_benchmark_quick_run_writes_its_json(tmp_path):
    bench = load_benchmark("matrix_functions")
    path = tmp_path / "results.json"
    assert bench.main(["--quick", "--json", str(path)]) == 0
    results = json.loads(path.read_text())
    assert results["quick"] and results["tolerance"] == 0.05
    assert {row["symmetric"] for row in results["rows"]} == {True, False}
    for row in results["rows"]:
        for model in ("pmm", "mlp"):
            figures = row[model]
            assert np.isfinite(figures["mean_relative_l1"])
            assert 0.0 <= figures["within_5pct"] <= 1.0
        # The baseline has about the PMM's parameter count.
        ratio = row["mlp"]["parameters"] / row["pmm"]["parameters"]
        assert 0.95 < ratio < 1.05


def test_equal_parameter_mlp_and_recipe():
    bench = load_benchmark("matrix_functions")
    width = bench.equal_parameter_width(5, 1194)
    counts = {h: h * (2 * 25 + 1) + 25 for h in (width - 1, width, width + 1)}
    assert min(counts, key=lambda h: abs(counts[h] - 1194)) == width
    assert bench.mlp(5, width).count_params() == counts[width]
    arguments = bench.model_arguments("exp", 5)
    assert arguments["output_transform"] == "exp" and arguments["size"] == 5


def test_tutorial_fast_mode(tmp_path):
    stdout = run_tutorial("matrix_functions.py", "--output-dir", str(tmp_path))
    lines = dict(
        line.split(":", 1) for line in stdout.splitlines() if ":" in line
    )
    for function in ("exp 5x5", "sign 5x5"):
        assert "within 5%" in lines[function]
        mean = float(lines[function].split("mean relative L1")[1].split(",")[0])
        assert np.isfinite(mean)
    assert "not representable" in lines["general exp 5x5"]
    assert lines["reloaded"].startswith(" identical predictions")
    assert (tmp_path / "matrix_functions.png").stat().st_size > 10000


def test_readme_table_is_the_committed_results():
    import json
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    module = load_benchmark("matrix_functions")
    readme = (root / "README.md").read_text()
    start = readme.index("<!-- matrix-table:start")
    section = readme[readme.index("\n", start) + 1 :]
    section = section[: section.index("<!-- matrix-table:end -->")]
    results = json.loads(
        (root / "benchmarks" / "results" / "matrix_functions.json").read_text()
    )
    assert not results["quick"]
    assert section.strip() == module.table(results).strip()
