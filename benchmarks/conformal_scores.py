"""Coverage and set sizes of the conformal classification scores on presets.

Measures the claim in `keras_pmm.uq.conformal`'s docstring: which APS score
gives the asked-for coverage on MNIST. For each preset (`pmm_mnist`,
`pmm_fashion_mnist`) the test-set probabilities are computed once; then,
over `--splits` random halvings of the test set (calibrate on one half,
measure on the other), each score gives its coverage, mean set size and
the share of sets with 0, 1, 2 and more classes, averaged over the splits:

- `aps`: mass ranked strictly above the label (U = 0, top class forced in),
  the default `SplitConformalClassifier`;
- `aps_randomized`: plus U p(y), U ~ Uniform(0, 1) (Romano et al. 2020),
  `randomized=True`;
- `aps_inclusive`: plus p(y) (U = 1), the inclusive mass, top class
  forced in as with U = 0;
- `raps`, `raps_randomized`: the same two with the RAPS rank penalty
  (0.01 from rank 1, the class defaults).

Run (about a minute on a 2-core CPU, most of it the two presets' predict):

    python benchmarks/conformal_scores.py --data-dir DATA_DIR
"""

import argparse
import json
import pathlib

import keras
import numpy as np

from keras_pmm import uq
from keras_pmm import zoo

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "conformal_scores.json"
PRESETS = ("pmm_mnist", "pmm_fashion_mnist")
SCORES = (
    "aps",
    "aps_randomized",
    "aps_inclusive",
    "raps",
    "raps_randomized",
)


def inclusive_sets(y_cal, p_cal, p_test, alpha):
    """APS with U = 1: the mass ranked above the label plus its own; the
    top class is always in the set, as with U = 0."""
    conformal = uq.SplitConformalClassifier(None, alpha=alpha)
    scores = conformal.class_scores(p_cal, np.ones(len(p_cal)))
    q = uq.conformal_quantile(scores[np.arange(len(y_cal)), y_cal], alpha)
    sets = conformal.class_scores(p_test, np.ones(len(p_test))) <= q
    sets[np.arange(len(p_test)), p_test.argmax(-1)] = True
    return sets


def score_sets(score, y_cal, p_cal, p_test, alpha, seed):
    """(test, classes) boolean sets of one score, calibrated on p_cal."""
    if score == "aps_inclusive":
        return inclusive_sets(y_cal, p_cal, p_test, alpha)
    conformal = uq.SplitConformalClassifier(
        None,
        alpha=alpha,
        score=score.split("_")[0],
        randomized=score.endswith("_randomized"),
        seed=seed,
    )
    conformal.calibrate_from_predictions(y_cal, p_cal)
    return conformal.sets_from_predictions(p_test)


def measure(y, probabilities, alpha, splits):
    """Per score: coverage, mean set size and set-size shares, averaged
    over `splits` random halvings."""
    results = {score: [] for score in SCORES}
    for split in range(splits):
        order = np.random.default_rng(split).permutation(len(y))
        cal, test = np.array_split(order, 2)
        for score in SCORES:
            sets = score_sets(
                score,
                y[cal],
                probabilities[cal],
                probabilities[test],
                alpha,
                split,
            )
            sizes = sets.sum(-1)
            results[score].append(
                [
                    uq.coverage(y[test], sets),
                    sizes.mean(),
                    np.mean(sizes == 0),
                    np.mean(sizes == 1),
                    np.mean(sizes == 2),
                    np.mean(sizes > 2),
                ]
            )
    keys = (
        "coverage",
        "mean_set_size",
        "empty",
        "one_class",
        "two_classes",
        "more",
    )
    return {
        score: dict(zip(keys, np.mean(rows, axis=0).round(5).tolist()))
        for score, rows in results.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--alpha", type=float, default=0.1)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--json", default=str(DEFAULT_JSON))
    args = parser.parse_args(argv)
    output = {
        "alpha": args.alpha,
        "splits": args.splits,
        "backend": keras.backend.backend(),
    }
    for name in PRESETS:
        _, (x, y) = zoo.PRESETS[name].data.load(args.data_dir)
        probabilities = zoo.load(name).predict(x, batch_size=1000, verbose=0)
        probabilities = np.asarray(probabilities, "float64")
        figures = measure(y, probabilities, args.alpha, args.splits)
        output[name] = {
            "test_accuracy": float(np.mean(probabilities.argmax(-1) == y)),
            **figures,
        }
        print(f"{name}: accuracy {output[name]['test_accuracy']:.4f}")
        for score, row in figures.items():
            print(
                f"  {score:16s} coverage {row['coverage']:.3f}, mean set "
                f"size {row['mean_set_size']:.2f} (empty {row['empty']:.3f}"
                f", one {row['one_class']:.3f}, two {row['two_classes']:.3f}"
                f", more {row['more']:.3f})"
            )
    pathlib.Path(args.json).write_text(json.dumps(output, indent=1) + "\n")


if __name__ == "__main__":
    main()
