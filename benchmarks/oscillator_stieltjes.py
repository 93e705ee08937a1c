"""How much the oscillator's extrapolation asks of the data's precision.

Issue 20 asks a model trained on 10 values of the two lowest energies of
H(g) = a^dag a + g (a^dag + a)^4 for g in [0, 0.05] to extrapolate them to
g = 0.5 within 1%. `benchmarks/oscillator_pade.py` shows that exact
perturbation theory falls short; this script asks what the 10 samples
themselves allow, with the strongest structural prior this oscillator
has: (E(g) - E(0)) / g is a Stieltjes function of g (for the ground
state: Loeffel, Martin, Simon and Wightman, Phys. Lett. B 30, 656 (1969);
see also Simon, Ann. Phys. 58, 76 (1970); the script uses the same form
for the first excited level, and the fit's error there says how well it
holds),

    E(g) = E(0) + g * integral dmu(t) / (1 + g t),   mu >= 0.

With mu a sum of point masses w_k >= 0 at fixed t_k (t = 0 and 60
log-spaced values in [1e-2, 1e4]) the fit to the samples is a
non-negative least-squares problem (`scipy.optimize.nnls`), and the fitted
function is evaluated at g = 0.5. The samples are the exact energies
(`keras_pmm.datasets.anharmonic_oscillator_energies`, float64) times
(1 + noise * z) with z standard normal, `--draws` seeded draws per noise
level, so the script measures how errors in the samples grow on the way
from [0, 0.05] to 0.5. Float32 rounding is a relative error of up to
6e-8.

Run:

    python benchmarks/oscillator_stieltjes.py             # 20 draws
    python benchmarks/oscillator_stieltjes.py --json      # JSON, last line

Measured (2026-12-05): exact samples reach 0.44% (E0) and 0.33% (E1) at
g = 0.5; relative noise of 1e-9 costs 1.1% and 1.2% (medians of 20 draws),
1e-7 costs 3.2% and 2.7%, 1e-5 costs 6.4% and 4.8%.
"""

import argparse
import json
import sys

import numpy as np
from scipy.optimize import nnls

from keras_pmm.datasets import anharmonic_oscillator_energies

COUPLING = 0.5
TRAIN_COUPLINGS = np.linspace(0.0, 0.05, 10)
POLES = np.concatenate([[0.0], np.logspace(-2, 4, 60)])
NOISE_LEVELS = (0.0, 1e-11, 1e-9, 1e-7, 1e-5)


def stieltjes_fit(couplings, energies, poles=POLES):
    """Fit E(g) = E(0) + g sum_k w_k / (1 + g t_k), w_k >= 0, to samples.

    Args:
        couplings: (m,) float64, g >= 0, the first one 0.
        energies: (m,) float64, E at those couplings.
        poles: (K,) float64, t_k >= 0.

    Returns:
        A function of g (array-like) giving the fitted E(g).

    Raises:
        ValueError: the first coupling is not 0.
    """
    couplings = np.asarray(couplings, "float64")
    energies = np.asarray(energies, "float64")
    if couplings[0] != 0.0:
        raise ValueError(
            f"The first coupling must be 0. Received: {couplings[0]!r}"
        )
    slopes = (energies[1:] - energies[0]) / couplings[1:]
    design = 1.0 / (1.0 + np.outer(couplings[1:], poles))
    weights, _ = nnls(design, slopes)

    def fitted(g):
        g = np.asarray(g, "float64")
        return energies[0] + g * np.sum(
            weights / (1.0 + g[..., None] * poles), axis=-1
        )

    return fitted


def measure(draws=20, noise_levels=NOISE_LEVELS):
    """Relative errors at g = 0.5 of Stieltjes fits to noisy samples.

    Returns:
        {"E0": {"exact": E0(0.5), "noise": [{"noise", "median",
        "max"}, ...]}, "E1": {...}}: medians and maxima over `draws`
        seeded draws (one draw for noise 0).
    """
    samples = anharmonic_oscillator_energies(TRAIN_COUPLINGS, levels=2)
    exact = anharmonic_oscillator_energies([COUPLING], levels=2)[0]
    results = {}
    for level in (0, 1):
        rows = []
        for noise in noise_levels:
            errors = []
            for seed in range(draws if noise else 1):
                z = np.random.default_rng(seed).normal(size=len(samples))
                noisy = samples[:, level] * (1.0 + noise * z)
                fitted = stieltjes_fit(TRAIN_COUPLINGS, noisy)
                value = float(fitted(COUPLING))
                errors.append(abs(value - exact[level]) / exact[level])
            rows.append(
                {
                    "noise": noise,
                    "median": float(np.median(errors)),
                    "max": float(np.max(errors)),
                }
            )
        results[f"E{level}"] = {"exact": float(exact[level]), "noise": rows}
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--draws", type=int, default=20, help="noisy draws per noise level"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.draws < 1:
        parser.error(f"--draws must be >= 1. Received: {args.draws}")
    results = measure(args.draws)
    for level, entry in results.items():
        exact = entry["exact"]
        print(f"{level}(g = {COUPLING}) = {exact:.6f}", file=sys.stderr)
        for row in entry["noise"]:
            print(
                f"  relative noise {row['noise']:7.0e}: "
                f"{100 * row['median']:6.2f}% off (median), "
                f"{100 * row['max']:6.2f}% (max)",
                file=sys.stderr,
            )
    if args.json:
        print(json.dumps({"draws": args.draws, **results}))
    return results


if __name__ == "__main__":
    main()
