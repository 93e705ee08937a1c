"""
Title: Honest uncertainty from PMMs: ensembles, Bayesian PMMs, calibration and conformal sets
Author: keras-pmm developers
Date created: 2026/12/04
Last modified: 2026/12/04
Description: Train a deep ensemble and a Bayesian PMM on MNIST, measure their calibration, flag out-of-distribution images, build conformal sets and export the ensemble with its entropy.
Accelerator: None
"""

"""
## Introduction

A classifier's probabilities are only useful if they mean what they say.
This tutorial walks through `keras_pmm.uq` on MNIST:

1. a `DeepEnsemble` of M image PMMs (Lakshminarayanan et al. 2017), trained
   in one `fit`, against one of its own members;
2. a `BayesianImagePMMClassifier`, whose class Hamiltonians and decoders
   carry Gaussian posteriors under a GOE prior (Nooraiepour 2025);
3. calibration: accuracy, NLL, ECE (15 equal-width bins) and Brier score,
   temperature scaling fitted on a validation split, a reliability diagram;
4. out-of-distribution detection: Fashion-MNIST images shown to the digit
   models, scored by predictive entropy (OOD AUROC) and split into
   epistemic (mutual information) and aleatoric parts;
5. split-conformal prediction sets (APS) with their coverage;
6. `predict_with_uncertainty`, the one call that returns all of this;
7. the ensemble exported to a builtins-only `.tflite` file whose outputs are
   the mean probabilities, the entropy and the mutual information.

Run it with `python tutorials/uncertainty.py` (a few minutes on a 2-core
CPU), or `--fast` for a smoke run on 10,000 images. The numbers of the
zoo's trained presets (`pmm_mnist_ensemble`, `pmm_mnist_bayes`) are in
their model cards and `benchmarks/uq_bench.py`.
"""

"""
## Setup
"""

import argparse
import os
import tempfile
import time

import keras
import numpy as np

import keras_pmm
from keras_pmm import uq

"""
## The members

Each member is the ~4k-parameter `ImagePMMClassifier` of
`tutorials/mnist_image_pmm.py`, trained by Adam with a cosine-decayed rate.
"""

MEMBER = {"n": 12, "hamiltonian_size": 6, "block_shape": (7, 7), "r": 2}
EPOCHS, BATCH_SIZE, LEARNING_RATE = 3, 128, 0.04
ALPHA = 0.1  # conformal sets aim at 90% coverage


def adam(epochs, steps_per_epoch):
    schedule = keras.optimizers.schedules.CosineDecay(
        LEARNING_RATE, epochs * steps_per_epoch
    )
    return keras.optimizers.Adam(schedule)


def report(name, y, probabilities):
    """Prints one row of accuracy, NLL, ECE and Brier score."""
    figures = uq.classification_report(y, probabilities)
    print(
        f"{name:<22}: accuracy {figures['accuracy']:.4f}, "
        f"NLL {figures['nll']:.4f}, ECE {figures['ece']:.4f}, "
        f"Brier {figures['brier']:.4f}"
    )
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder with the MNIST and Fashion-MNIST IDX files "
        "(default: $KERAS_PMM_DATA_DIR, else download)",
    )
    parser.add_argument(
        "--fast", action="store_true", help="tiny run for smoke tests"
    )
    parser.add_argument(
        "--output-dir",
        default=None,
        help="where to write the reliability diagram and the .tflite file",
    )
    args = parser.parse_args(argv)
    output_dir = args.output_dir or tempfile.mkdtemp()
    os.makedirs(output_dir, exist_ok=True)
    keras.utils.set_random_seed(0)

    """
    ## Data

    The last 5,000 training images are held out as a validation split: it
    fits the temperature and calibrates the conformal sets, so the test set
    is touched only to measure. Fashion-MNIST's test images are the
    out-of-distribution set: same size and format, no digits.
    """

    (x_train, y_train), (x_test, y_test) = keras_pmm.datasets.load_mnist(
        args.data_dir
    )
    _, (x_ood, _) = keras_pmm.datasets.load_fashion_mnist(args.data_dir)
    members, epochs = 5, EPOCHS
    if args.fast:  # random subsets: MNIST's test set is ordered by writer
        rng = np.random.default_rng(0)
        train, test = rng.permutation(60000)[:10000], rng.permutation(10000)
        x_train, y_train = x_train[train], y_train[train]
        x_test, y_test = x_test[test[:1000]], y_test[test[:1000]]
        x_ood = x_ood[test[:1000]]
        members, epochs = 3, 1
    split = len(x_train) - (1000 if args.fast else 5000)
    x_val, y_val = x_train[split:], y_train[split:]
    x_train, y_train = x_train[:split], y_train[:split]
    steps = -(-len(x_train) // BATCH_SIZE)

    """
    ## A deep ensemble

    `DeepEnsemble` copies the template M times with fresh weights; `fit`
    trains all members in one compiled step, each on its own shuffled order
    of the data. `predict` returns the mean of the members' probabilities.
    """

    ensemble = uq.DeepEnsemble(
        keras_pmm.models.ImagePMMClassifier(10, **MEMBER),
        num_members=members,
        seed=0,
    )
    ensemble.compile(optimizer=adam(epochs, steps))
    start = time.perf_counter()
    ensemble.fit(
        x_train, y_train, epochs=epochs, batch_size=BATCH_SIZE, verbose=2
    )
    print(f"ensemble training : {time.perf_counter() - start:.1f} s")
    print(f"ensemble size     : {members} members, {ensemble.count_params():,}")

    """
    ## A Bayesian PMM

    The same architecture with a variational posterior over the class
    Hamiltonians and decoders. `fit` sets the KL weight to 1/N and
    maximises the ELBO; prediction averages `num_samples` posterior draws
    (seeded, so repeated calls agree).
    """

    bayes = uq.BayesianImagePMMClassifier(
        10, num_samples=8 if args.fast else 16, seed=0, **MEMBER
    )
    bayes.compile(optimizer=adam(epochs, steps))
    start = time.perf_counter()
    bayes.fit(x_train, y_train, epochs=epochs, batch_size=BATCH_SIZE, verbose=2)
    print(f"Bayesian training : {time.perf_counter() - start:.1f} s")

    """
    ## Calibration

    One member alone, the ensemble (against its members' mean NLL), the
    ensemble after temperature scaling
    (T fitted on the validation split by minimising its NLL) and the
    Bayesian PMM, on the test set. The reliability diagram draws accuracy
    against confidence per bin; a calibrated model follows the diagonal.
    """

    member_probabilities = ensemble.predict_members(x_test)
    mean = member_probabilities.mean(0)
    temperature = uq.fit_temperature(
        y_val, ensemble.predict(x_val, batch_size=1000, verbose=0)
    )
    scaled = uq.apply_temperature(mean, temperature)
    bayes_probabilities = bayes.predict(x_test, batch_size=1000, verbose=0)
    report("one member", y_test, member_probabilities[0])
    members_nll = np.mean(
        [uq.negative_log_likelihood(y_test, p) for p in member_probabilities]
    )
    combined = report("ensemble", y_test, mean)
    report(f"ensemble, T={temperature:.2f}", y_test, scaled)
    report("Bayesian PMM", y_test, bayes_probabilities)
    # By convexity the ensemble's NLL is at most its members' mean NLL,
    # with equality only when the members agree everywhere.
    print(
        f"ensemble vs members: NLL {combined['nll'] - members_nll:+.4f} "
        "against their mean NLL"
    )
    diagram = uq.reliability_diagram(
        y_test,
        {"one member": member_probabilities[0], "ensemble": mean},
        os.path.join(output_dir, "reliability.png"),
        title="MNIST test set",
    )
    print(f"reliability diagram: {diagram}")

    """
    ## Out-of-distribution images

    A digit model shown clothing should be unsure. The OOD AUROC is the
    probability that an OOD image gets a lower top-class probability than a
    test digit (1 = perfect separation, 0.5 = chance). The mutual
    information between the prediction and the member (or posterior draw)
    is the epistemic part of the entropy: the models disagree on what they
    have not seen.
    """

    ood_members = ensemble.predict_members(x_ood)
    ood_bayes = bayes.predict(x_ood, batch_size=1000, verbose=0)
    print(
        "OOD AUROC         : "
        f"member {uq.ood_auroc(member_probabilities[0], ood_members[0]):.4f}"
        f", ensemble {uq.ood_auroc(mean, ood_members.mean(0)):.4f}"
        f", Bayesian {uq.ood_auroc(bayes_probabilities, ood_bayes):.4f}"
    )
    print(
        "mutual information: "
        f"digits {uq.mutual_information(member_probabilities).mean():.4f}"
        f", clothing {uq.mutual_information(ood_members).mean():.4f} nats"
    )

    """
    ## Conformal prediction sets

    Split conformal prediction (APS scores) turns any classifier into sets
    that contain the true class with probability >= 1 - alpha on
    exchangeable data, whatever the model's calibration. Sets are small
    where the model is sure and grow where it is not. With the randomised
    score (`randomized=True`, Romano et al. 2020) the coverage is 1 - alpha
    itself, not just at least that: without it, a model more accurate than
    1 - alpha gets one-class sets whose coverage is its accuracy.
    """

    conformal = uq.SplitConformalClassifier(
        ensemble, alpha=ALPHA, randomized=True, seed=0
    )
    conformal.calibrate(x_val, y_val)
    sets = conformal.predict_set(x_test)
    print(
        f"conformal coverage: {uq.coverage(y_test, sets):.4f} "
        f"(target {1 - ALPHA:.2f}), mean set size {sets.sum(1).mean():.2f}"
    )

    """
    ## Everything in one call

    `predict_with_uncertainty` returns the mean, the total (entropy),
    epistemic and aleatoric uncertainty and, given a calibrated conformal
    predictor, the sets.
    """

    result = uq.predict_with_uncertainty(ensemble, x_test[:5], conformal)
    for i in range(5):
        members_in_set = np.flatnonzero(result["set"][i]).tolist()
        print(
            f"image {i}: predicted {result['mean'][i].argmax()} "
            f"(label {y_test[i]}), entropy {result['total'][i]:.3f}, "
            f"mutual information {result['epistemic'][i]:.3f}, "
            f"set {members_in_set}"
        )

    """
    ## Export with uncertainty

    The exported ensemble is one builtins-only `.tflite` file with three
    outputs: `outputs` (mean probabilities), `entropy` and
    `mutual_information`. `TFLiteModel.predict_all` reads them by name, with
    LiteRT alone.
    """

    from keras_pmm.export.litert import TFLiteModel

    path = keras_pmm.export.export_tflite(
        ensemble,
        os.path.join(output_dir, "mnist_ensemble.tflite"),
        overwrite=True,
    )
    exported = TFLiteModel(path).predict_all(x_test[:100])
    difference = np.abs(
        exported["entropy"] - uq.predictive_entropy(mean[:100])
    ).max()
    print(f"tflite outputs    : {', '.join(sorted(exported))}")
    print(f"tflite entropy    : max |diff| vs Keras {difference:.2e}")
    return combined


if __name__ == "__main__":
    main()
