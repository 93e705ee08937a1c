"""Anharmonic-oscillator energies against an independent diagonalisation."""

import numpy as np
import pytest

from keras_pmm.datasets import anharmonic_oscillator_energies


def finite_difference_energies(g, levels, half_width=8.0, points=4001):
    """Lowest eigenvalues of -1/2 d^2/dx^2 + x^2/2 - 1/2 + 4 g x^4 on a
    uniform grid (second-order differences, Dirichlet walls): the same H
    in position space, diagonalised without the number basis."""
    linalg = pytest.importorskip("scipy.linalg")
    x, h = np.linspace(-half_width, half_width, points, retstep=True)
    diagonal = 1.0 / h**2 + x**2 / 2 - 0.5 + 4 * g * x**4
    off_diagonal = np.full(points - 1, -0.5 / h**2)
    return linalg.eigh_tridiagonal(
        diagonal, off_diagonal, select="i", select_range=(0, levels - 1)
    )[0]


@pytest.mark.parametrize("g", [0.0, 0.01, 0.05, 0.2, 0.5])
def test_matches_a_position_space_diagonalisation(g):
    expected = finite_difference_energies(g, levels=3)
    energies = anharmonic_oscillator_energies(g, levels=3)
    # Second-order differences at h = 0.004 are good to about 1e-5.
    np.testing.assert_allclose(energies, expected, rtol=2e-5, atol=2e-6)


def test_known_limits_and_shapes():
    # g = 0: the harmonic ladder 0, 1, 2, ...
    np.testing.assert_allclose(
        anharmonic_oscillator_energies(0.0, levels=4), [0, 1, 2, 3], atol=1e-12
    )
    # First-order perturbation theory: E_0 = 3 g + O(g^2).
    small = anharmonic_oscillator_energies(1e-5, levels=1)
    np.testing.assert_allclose(small, [3e-5], rtol=1e-3)
    grid = np.linspace(0, 0.05, 10).reshape(2, 5)
    assert anharmonic_oscillator_energies(grid).shape == (2, 5, 2)
    # Converged: a larger basis changes nothing at g = 0.5.
    np.testing.assert_allclose(
        anharmonic_oscillator_energies(0.5, basis_size=100),
        anharmonic_oscillator_energies(0.5, basis_size=200),
        rtol=1e-10,
    )


@pytest.mark.parametrize(
    "arguments, match",
    [
        (dict(couplings=-0.1), "unbounded below"),
        (dict(couplings=np.nan), "finite"),
        (dict(couplings=0.1, levels=0), "levels"),
        (dict(couplings=0.1, levels=5, basis_size=4), "levels"),
    ],
)
def test_bad_arguments_are_refused(arguments, match):
    with pytest.raises(ValueError, match=match):
        anharmonic_oscillator_energies(**arguments)
