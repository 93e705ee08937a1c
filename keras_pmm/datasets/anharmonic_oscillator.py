"""Energies of the quartic anharmonic oscillator, the PMM paper's test bed."""

import numpy as np


def anharmonic_oscillator_energies(couplings, levels=2, basis_size=100):
    """The lowest eigenvalues of H(g) = a^dag a + g (a^dag + a)^4.

    H is built in the harmonic-oscillator number basis |0>, ..., |N-1>
    (N = `basis_size`): a^dag a = diag(0, 1, ..., N-1), and (a^dag + a)^4
    is the fourth power of the position-like matrix X, X[k, k+1] =
    X[k+1, k] = sqrt(k+1), taken in a basis four states larger and then
    truncated, so that every kept matrix element is exact. In position
    space H = -1/2 d^2/dx^2 + x^2/2 - 1/2 + 4 g x^4. H is affine in g, which
    is why an eigenvalue PMM (AE-PMM) can learn the energies from small g
    and extrapolate them (Cook et al. 2025, the anharmonic-oscillator
    example).

    Convergence: the two lowest energies for g <= 1 agree with those of
    N = 200 to better than 1e-10 (relative) at the default N = 100; larger
    g or higher levels may need a larger basis.

    Args:
        couplings: g >= 0, a scalar or an array of any shape.
        levels: how many of the lowest energies, 1 <= levels <= basis_size.
        basis_size: N, the number of basis states.

    Returns:
        float64 array of shape `np.shape(couplings) + (levels,)`, ascending.

    Raises:
        ValueError: negative or non-finite couplings (H is unbounded below
            for g < 0), or levels/basis_size out of range.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.datasets import anharmonic_oscillator_energies
    >>> np.round(anharmonic_oscillator_energies([0.0, 0.5]), 6).tolist()
    [[0.0, 1.0], [0.451568, 2.792868]]
    """
    g = np.asarray(couplings, dtype="float64")
    if not np.all(np.isfinite(g)) or np.any(g < 0):
        raise ValueError(
            "Couplings must be finite and >= 0 (H is unbounded below for "
            f"g < 0). Received: couplings={couplings!r}"
        )
    basis_size = int(basis_size)
    if basis_size < 1 or not 1 <= int(levels) <= basis_size:
        raise ValueError(
            "Need 1 <= levels <= basis_size. Received: "
            f"levels={levels!r}, basis_size={basis_size!r}"
        )
    big = basis_size + 4
    off = np.sqrt(np.arange(1, big))
    position = np.diag(off, 1) + np.diag(off, -1)
    quartic = np.linalg.matrix_power(position, 4)[:basis_size, :basis_size]
    number = np.diag(np.arange(basis_size, dtype="float64"))
    hamiltonians = number + g.reshape(-1, 1, 1) * quartic
    energies = np.linalg.eigvalsh(hamiltonians)[:, : int(levels)]
    return energies.reshape(g.shape + (int(levels),))
