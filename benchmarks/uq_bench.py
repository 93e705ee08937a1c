"""Benchmark of the uncertainty presets: every figure of their model cards.

Two parts:

- `presets`: each trained uncertainty preset (`pmm_mnist_ensemble`,
  `pmm_mnist_bayes`, `pmm_fashion_mnist_ensemble`,
  `pmm_fashion_mnist_bayes`) beside its single baseline preset, on the full
  test set: accuracy, NLL, ECE (top-label, 15 equal-width bins), Brier,
  OOD AUROC from the top-class probability (the other data set's test
  images as OOD), mean predictive entropy in and out of distribution;
  temperature scaling and split-conformal APS sets at alpha = 0.1, both
  fitted on a random half of the test set and measured on the other half
  (ECE before and after scaling; coverage and mean set size); accuracy
  and ECE on the test set rotated by 15..180 degrees in 15-degree steps;
  and the training wall time of the preset's recipe, read from its
  metadata (as measured when `keras-pmm train` trained it).
  Plots: `uq_rotation.png` (accuracy and ECE against angle) and
  `uq_reliability.png` (reliability diagrams, preset against baseline).
- `fit_speed`: seconds per epoch of one `pmm_mnist` member against a
  `DeepEnsemble` of M of them (one compiled step over the members), on
  MNIST images with the preset's batch size; the ratio against M says how
  the one step costs against training the members one by one.

Numbers are for the Keras backend this runs on (`KERAS_BACKEND`; the cards
use JAX). Results go to `--json` (one entry per backend); a part run alone
keeps the other part's results.

Run:

    KERAS_BACKEND=jax python benchmarks/uq_bench.py --data-dir DATA_DIR
    python benchmarks/uq_bench.py --part fit_speed --members 5
    python benchmarks/uq_bench.py --quick             # smoke run, minutes
    KERAS_BACKEND=jax python benchmarks/uq_bench.py --table  # README table

A full run takes about 25 minutes on a 2-core CPU.
"""

import argparse
import json
import pathlib
import platform
import statistics
import sys
import time

import keras
import numpy as np

from keras_pmm import uq
from keras_pmm import zoo
from keras_pmm.zoo import evaluation
from keras_pmm.zoo import training
from keras_pmm.zoo.registry import PRESETS

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "uq_bench.json"
DEFAULT_ROTATION_PLOT = HERE / "results" / "uq_rotation.png"
DEFAULT_RELIABILITY_PLOT = HERE / "results" / "uq_reliability.png"
SEED = 0
ALPHA = 0.1


def uncertainty_presets():
    """The trained presets with a single baseline, in registry order."""
    return [
        name
        for name in zoo.list()
        if PRESETS[name].baseline and zoo.metadata(name)["trained"]
    ]


def halves(size, seed=SEED):
    """A random (calibration, test) split of the test set into halves: the
    presets' training runs carved their validation sets with their own
    seeds, so the official test set is the one split none of them saw."""
    order = np.random.default_rng(seed).permutation(size)
    return order[: size // 2], order[size // 2 :]


def temperature_figures(y, probabilities, seed=SEED):
    """Temperature scaling fitted on the calibration half; ECE before and
    after on the other half."""
    calibration, test = halves(len(y), seed)
    temperature = uq.fit_temperature(y[calibration], probabilities[calibration])
    scaled = uq.apply_temperature(probabilities[test], temperature)
    return {
        "temperature": temperature,
        "ece_test_half": uq.expected_calibration_error(
            y[test], probabilities[test]
        ),
        "ece_temperature_scaled": uq.expected_calibration_error(
            y[test], scaled
        ),
    }


def conformal_figures(y, probabilities, alpha=ALPHA, seed=SEED):
    """APS split-conformal sets: calibrated on a random half, measured on
    the other; returns coverage, mean set size and the threshold."""
    calibration, test = halves(len(y), seed)
    conformal = uq.SplitConformalClassifier(None, alpha=alpha)
    conformal.calibrate_from_predictions(
        y[calibration], probabilities[calibration]
    )
    sets = conformal.sets_from_predictions(probabilities[test])
    return {
        "alpha": alpha,
        "coverage": uq.coverage(y[test], sets),
        "mean_set_size": float(sets.sum(-1).mean()),
        "quantile": conformal.quantile,
    }


def measure_model(model, data, ood_data, data_dir, test_size, angles):
    """Every figure of one model (preset or baseline)."""
    _, (x_test, y_test) = data.load(data_dir)
    _, (x_ood, _) = ood_data.load(data_dir)
    x_test, y_test, x_ood = (
        x_test[:test_size],
        y_test[:test_size],
        x_ood[:test_size],
    )
    figures = evaluation.uncertainty_figures(model, x_test, y_test, x_ood)
    probabilities = np.asarray(
        model.predict(x_test, batch_size=1000, verbose=0), "float64"
    )
    figures.update(temperature_figures(y_test, probabilities))
    figures["conformal"] = conformal_figures(y_test, probabilities)
    figures["rotation"] = evaluation.rotation_study(
        model, x_test, y_test, angles=angles
    )
    return {k: _rounded(v) for k, v in figures.items()}, probabilities


def _rounded(value):
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def presets_part(data_dir, test_size, angles, reliability_plot, names=None):
    results, curves, measured = {}, {}, {}
    for name in names or uncertainty_presets():
        preset = PRESETS[name]
        info = zoo.metadata(name)
        entry = {
            "dataset": preset.data.name,
            "ood_dataset": preset.ood_data.name,
            "baseline_preset": preset.baseline,
            "parameters": info.get("parameters"),
            "training_wall_time_s": info.get("training_wall_time_s"),
        }
        y_test = preset.data.load(data_dir)[1][1][:test_size]
        for key, model_name in (
            ("preset", name),
            ("baseline", preset.baseline),
        ):
            if model_name not in measured:  # a baseline serves two presets
                start = time.perf_counter()
                figures, probabilities = measure_model(
                    zoo.load(model_name),
                    preset.data,
                    preset.ood_data,
                    data_dir,
                    test_size,
                    angles,
                )
                figures["measure_seconds"] = round(
                    time.perf_counter() - start, 1
                )
                measured[model_name] = figures, probabilities
            figures, probabilities = measured[model_name]
            entry[key] = figures
            curves[name, key] = (y_test, probabilities)
            print(
                f"{model_name}: accuracy {figures['test_accuracy']:.4f}, "
                f"NLL {figures['nll']:.4f}, ECE {figures['ece']:.4f}, "
                f"AUROC {figures['ood_auroc']:.3f}, coverage "
                f"{figures['conformal']['coverage']:.3f}",
                flush=True,
            )
        results[name] = entry
    if reliability_plot and curves:
        plot_reliability(curves, results, reliability_plot)
    return results


def plot_rotation(results, path):
    """Accuracy and ECE against rotation angle, every preset and baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted({entry["dataset"] for entry in results.values()})
    figure, axes = plt.subplots(
        len(datasets), 2, figsize=(10, 3.6 * len(datasets)), squeeze=False
    )
    for row, dataset in zip(axes, datasets):
        drawn = set()
        for name, entry in results.items():
            if entry["dataset"] != dataset:
                continue
            for key, label, style in (
                ("preset", name, "o-"),
                ("baseline", entry["baseline_preset"], "k--"),
            ):
                if label in drawn:
                    continue
                drawn.add(label)
                rotation = entry[key]["rotation"]
                for ax, metric in zip(row, ("accuracy", "ece")):
                    ax.plot(
                        rotation["angles"], rotation[metric], style, label=label
                    )
        for ax, ylabel in zip(row, ("test accuracy", "ECE (15 bins)")):
            ax.set_xlabel("rotation (degrees)")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{dataset}, rotated test set")
            ax.grid(alpha=0.3)
        row[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_reliability(curves, results, path):
    """Reliability diagrams, one panel per preset with its baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    figure, axes = plt.subplots(
        1, len(names), figsize=(3.6 * len(names), 3.6), squeeze=False
    )
    for ax, name in zip(axes[0], names):
        for key, style in (("preset", "o-"), ("baseline", "s--")):
            y, probabilities = curves[name, key]
            curve = uq.calibration_curve(y, probabilities)
            label = (
                name if key == "preset" else results[name]["baseline_preset"]
            )
            ece = uq.expected_calibration_error(y, probabilities)
            ax.plot(
                curve["confidence"],
                curve["accuracy"],
                style,
                label=f"{label} (ECE {ece:.4f})",
            )
        ax.plot([0, 1], [0, 1], ":", color="grey")
        ax.set_xlabel("confidence")
        ax.set_ylabel("accuracy")
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def table(entry):
    """Markdown table of one backend's results (the README's)."""
    lines = [
        "| preset | parameters | accuracy | NLL | ECE | ECE on a half, "
        "raw -> T-scaled | "
        "OOD AUROC | APS coverage (set size), alpha 0.1 | accuracy at 90 deg "
        "| training |",
        "| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
    ]
    rows = []
    for name, preset in entry.get("presets", {}).items():
        rows.append((name, preset["parameters"], preset["preset"]))
        rows.append(
            (f"{preset['baseline_preset']} (single)", None, preset["baseline"])
        )
    seen = set()
    for name, parameters, figures in rows:
        if name in seen:
            continue
        seen.add(name)
        rotation = figures["rotation"]
        at_90 = (
            f"{rotation['accuracy'][rotation['angles'].index(90)]:.2%}"
            if 90 in rotation["angles"]
            else "-"
        )
        training_s = next(
            (
                p["training_wall_time_s"]
                for n, p in entry["presets"].items()
                if n == name
            ),
            None,
        )
        conformal = figures["conformal"]
        lines.append(
            f"| `{name}` | {'' if parameters is None else f'{parameters:,}'} "
            f"| {figures['test_accuracy']:.2%} | {figures['nll']:.4f} "
            f"| {figures['ece']:.4f} | {figures['ece_test_half']:.4f} -> "
            f"{figures['ece_temperature_scaled']:.4f} "
            f"| {figures['ood_auroc']:.3f} | {conformal['coverage']:.3f} "
            f"({conformal['mean_set_size']:.2f}) | {at_90} | "
            f"{'' if training_s is None else f'{training_s / 60:.0f} min'} |"
        )
    speed = entry.get("fit_speed")
    if speed:
        lines.append("")
        lines.append(
            f"Ensemble fit speed: {speed['members']} members train at "
            f"{speed['ensemble_seconds_per_epoch']:.2f} s per epoch of "
            f"{speed['examples']:,} images against "
            f"{speed['single_seconds_per_epoch']:.2f} s for one member "
            f"({speed['ratio_to_single']:.2f}x one member; one by one would "
            f"be {speed['members']}x)."
        )
    return "\n".join(lines)


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of every epoch."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def _epoch_seconds(model, x, y, batch_size, epochs):
    timer = EpochTimer()
    model.fit(
        x, y, batch_size=batch_size, epochs=epochs, callbacks=[timer], verbose=0
    )
    return statistics.median(timer.seconds[1:])  # the first one compiles


def fit_speed(data_dir, members, examples, epochs):
    """Seconds per epoch: one pmm_mnist member against an M-member ensemble."""
    preset = PRESETS["pmm_mnist"]
    recipe = preset.recipe
    (x_train, y_train), _ = preset.data.load(data_dir)
    x, y = x_train[:examples], y_train[:examples]
    steps = -(-len(x) // recipe.batch_size)
    keras.utils.set_random_seed(SEED)
    single = preset.build()
    single.compile(optimizer=training.recipe_optimizer(recipe, steps))
    single_seconds = _epoch_seconds(single, x, y, recipe.batch_size, epochs)
    ensemble = uq.DeepEnsemble(preset.build(), num_members=members, seed=SEED)
    ensemble.compile(optimizer=training.recipe_optimizer(recipe, steps))
    ensemble_seconds = _epoch_seconds(ensemble, x, y, recipe.batch_size, epochs)
    ratio = ensemble_seconds / single_seconds
    print(
        f"fit speed: one member {single_seconds:.2f} s/epoch, {members} "
        f"members {ensemble_seconds:.2f} s/epoch ({ratio:.2f}x one member; "
        f"training them one by one would be {members}x)",
        flush=True,
    )
    return {
        "members": members,
        "examples": len(x),
        "batch_size": recipe.batch_size,
        "single_seconds_per_epoch": round(single_seconds, 3),
        "ensemble_seconds_per_epoch": round(ensemble_seconds, 3),
        "ratio_to_single": round(ratio, 3),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--part", choices=("all", "presets", "fit_speed"), default="all"
    )
    parser.add_argument(
        "--presets",
        nargs="+",
        default=None,
        help="uncertainty presets to measure (default: every trained one)",
    )
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--fit-examples", type=int, default=20000)
    parser.add_argument("--fit-epochs", type=int, default=3)
    parser.add_argument("--test-size", type=int, default=10000)
    parser.add_argument("--json", type=pathlib.Path, default=DEFAULT_JSON)
    parser.add_argument(
        "--rotation-plot", type=pathlib.Path, default=DEFAULT_ROTATION_PLOT
    )
    parser.add_argument(
        "--reliability-plot",
        type=pathlib.Path,
        default=DEFAULT_RELIABILITY_PLOT,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 500 test images, 2 angles, small fit timing",
    )
    parser.add_argument(
        "--table",
        action="store_true",
        help="print the README table of this backend's --json results; "
        "run nothing",
    )
    args = parser.parse_args(argv)
    if args.table:
        results = json.loads(args.json.read_text())
        print(table(results[keras.backend.backend()]))
        return results
    angles = evaluation.ROTATION_ANGLES
    if args.quick:
        args.test_size, args.fit_examples, args.fit_epochs = 500, 1024, 2
        angles = angles[::6]
    backend = keras.backend.backend()
    results = json.loads(args.json.read_text()) if args.json.exists() else {}
    entry = results.get(backend, {})
    entry.update(
        {
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "keras": keras.__version__,
                "cpus": __import__("os").cpu_count(),
            },
            "quick": args.quick,
        }
    )
    if args.part in ("all", "presets"):
        entry["presets"] = presets_part(
            args.data_dir,
            args.test_size,
            angles,
            args.reliability_plot,
            args.presets,
        )
        if args.rotation_plot:
            plot_rotation(entry["presets"], args.rotation_plot)
    if args.part in ("all", "fit_speed"):
        entry["fit_speed"] = fit_speed(
            args.data_dir, args.members, args.fit_examples, args.fit_epochs
        )
    results[backend] = entry
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(table(entry))
    print(f"wrote {args.json}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
