"""benchmarks/oscillator_stieltjes.py: Stieltjes continuation of the
anharmonic oscillator's samples and its sensitivity to their errors
(issue 20, item 4)."""

import json
import pathlib

import numpy as np
import pytest

from tests.test_case import load_benchmark

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_fit_recovers_a_stieltjes_function_with_poles_on_the_grid():
    """E(g) = 1 + g (0.5 + 2 / (1 + 3 g)) is 1 + 0.5 * (0.5 + 0.8) = 1.65
    at g = 0.5; ten samples on [0, 0.05] pin it down when t = 0 and t = 3
    are among the poles."""
    bench = load_benchmark("oscillator_stieltjes")
    g = np.linspace(0.0, 0.05, 10)
    energies = 1.0 + g * (0.5 + 2.0 / (1.0 + 3.0 * g))
    fitted = bench.stieltjes_fit(g, energies, poles=np.array([0.0, 3.0, 10.0]))
    assert float(fitted(0.5)) == pytest.approx(1.65, rel=1e-9)
    assert fitted(g) == pytest.approx(energies, rel=1e-12)


def test_fit_needs_the_zero_coupling_first():
    bench = load_benchmark("oscillator_stieltjes")
    with pytest.raises(ValueError, match="first coupling must be 0"):
        bench.stieltjes_fit([0.01, 0.02], [1.0, 1.1])


def test_quick_run_exact_samples_meet_the_target_noisy_ones_do_not(capsys):
    bench = load_benchmark("oscillator_stieltjes")
    bench.main(["--draws", "5", "--json"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["E0"]["exact"] == pytest.approx(0.451568, abs=1e-6)
    for level in ("E0", "E1"):
        rows = {row["noise"]: row for row in result[level]["noise"]}
        assert sorted(rows) == [0.0, 1e-11, 1e-9, 1e-7, 1e-5]
        # Exact samples: within 1% at g = 0.5; errors of 1e-7 (float32
        # rounding) already cost more than 2%.
        assert rows[0.0]["median"] < 0.01
        assert rows[1e-7]["median"] > 0.02
        assert rows[1e-5]["median"] > rows[0.0]["median"]


def test_main_rejects_no_draws():
    bench = load_benchmark("oscillator_stieltjes")
    with pytest.raises(SystemExit):
        bench.main(["--draws", "0"])


def test_readme_quotes_the_full_run():
    """The README's figures come from `measure(20)` (fast: 200 small
    non-negative least-squares fits)."""
    bench = load_benchmark("oscillator_stieltjes")
    results = bench.measure(20)
    readme = " ".join((ROOT / "README.md").read_text().split())
    median = {
        (level, row["noise"]): 100 * row["median"]
        for level in ("E0", "E1")
        for row in results[level]["noise"]
    }
    for noise in (0.0, 1e-7):
        quoted = (
            f"{median['E0', noise]:.2f}% (E0) and {median['E1', noise]:.2f}% "
            "(E1)"
        )
        assert quoted in readme, quoted
