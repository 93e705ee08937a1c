"""benchmarks/oscillator_pade.py: exact perturbation series and Pade
approximants of the anharmonic oscillator (issue 20, item 4)."""

import json
import pathlib

import pytest

from tests.test_case import load_benchmark

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_series_coefficients_are_rayleigh_schroedinger():
    """E0 = 3 g - 42 g^2 + 1332 g^3 - ...: <0|X^4|0> = 3 and
    -sum_n |<n|X^4|0>|^2 / n = -(sqrt(72)^2 / 2 + sqrt(24)^2 / 4) = -42;
    E1 = 1 + 15 g - 330 g^2 + ..."""
    bench = load_benchmark("oscillator_pade")
    ground = [float(c) for c in bench.perturbation_coefficients(0, 4)]
    assert ground == pytest.approx([0, 3, -42, 1332, -61770], rel=1e-12)
    first = [float(c) for c in bench.perturbation_coefficients(1, 2)]
    assert first == pytest.approx([1, 15, -330], rel=1e-12)


def test_pade_one_one_by_hand():
    """[1/1] of 3 g - 42 g^2 is 3 g / (1 + 14 g): 0.1875 at g = 0.5."""
    bench = load_benchmark("oscillator_pade")
    coefficients = bench.perturbation_coefficients(0, 2)
    assert bench.pade_value(coefficients, 1, 1, 0.5) == pytest.approx(0.1875)


def test_quick_run_reports_every_approximant(capsys):
    bench = load_benchmark("oscillator_pade")
    bench.main(["--order", "6", "--json"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["E0"]["exact"] == pytest.approx(0.451568, abs=1e-6)
    labels = [row["pade"] for row in result["E0"]["pade"]]
    assert labels == ["[1/0]", "[1/1]", "[2/1]", "[2/2]", "[3/2]", "[3/3]"]
    for level in ("E0", "E1"):
        diagonal = [
            row["relative_error"]
            for row in result[level]["pade"]
            if row["pade"] in ("[1/1]", "[2/2]", "[3/3]")
        ]
        # The diagonal approximants converge, slowly: 7 exact
        # coefficients leave E0 25% and E1 20% off at g = 0.5.
        assert diagonal == sorted(diagonal, reverse=True)
        assert 0.1 < diagonal[-1] < 0.3, diagonal


@pytest.mark.large
def test_readme_quotes_the_full_run():
    """The README's figures: [7/7] (15 exact coefficients) is 6.9% (E0)
    and 6.1% (E1) off at g = 0.5, the best of every approximant used."""
    bench = load_benchmark("oscillator_pade")
    results = bench.measure(14)
    best = [
        min(row["relative_error"] for row in results[level]["pade"])
        for level in ("E0", "E1")
    ]
    readme = (ROOT / "README.md").read_text()
    quoted = f"{100 * best[0]:.1f}% (E0) and {100 * best[1]:.1f}% (E1)"
    assert quoted in " ".join(readme.split()), quoted
    for level in ("E0", "E1"):
        last = results[level]["pade"][-1]
        assert last["pade"] == "[7/7]"
        assert last["relative_error"] == min(
            row["relative_error"] for row in results[level]["pade"]
        )
