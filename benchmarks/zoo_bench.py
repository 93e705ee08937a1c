"""Benchmark of the zoo's PMMs against equal-parameter Keras MLPs.

Two parts:

- `throughput` (every backend): training samples per second of the
  `pmm_mnist` preset, built and compiled exactly as `keras-pmm train` does
  (same model, optimiser and batch size), and of a Keras MLP with about as
  many parameters (784 -> h -> 10, ReLU; h = 3 gives 2,395 parameters against
  the preset's 2,494), both on real MNIST; plus inference latency per image of
  `model.predict` at batch 1 and 256. Throughput is `examples / epoch time`,
  the median over the epochs after the first (which compiles).
- `accuracy` (one backend, JAX by default): test accuracy against parameter
  count on MNIST and Fashion-MNIST for a ladder of PMM sizes (the preset's
  architecture with other n and m) and of MLP widths, every model trained for
  the same number of epochs (`--epochs`) on the full training set with Adam
  and a cosine-decayed learning rate (the preset's rate for PMMs, 3e-3 for
  MLPs). The shipped presets (full recipes) are added from their metadata.
  Saved as a PNG (`--plot`) shown in the README.

The Keras backend is fixed when keras is imported, so the script re-launches
itself once per backend and collects the results as JSON (`--json`).

Run:

    python benchmarks/zoo_bench.py --data-dir ../shared/datasets        # all
    python benchmarks/zoo_bench.py --part throughput --backends jax
    python benchmarks/zoo_bench.py --quick                              # smoke

A full run takes about 20 minutes on a 2-core CPU. Running one `--part` keeps
the other part's results already in the `--json` file.
"""

import argparse
import dataclasses
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np

from keras_pmm import zoo
from keras_pmm.zoo import evaluation
from keras_pmm.zoo import training
from keras_pmm.zoo.registry import PRESETS

BACKENDS = ("tensorflow", "jax", "torch")
HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "zoo_bench.json"
DEFAULT_PLOT = HERE / "results" / "zoo_accuracy_vs_params.png"
SEED = 0
MLP_LEARNING_RATE = 3e-3
# (n, hamiltonian_size) ladders around each preset's own size.
PMM_SIZES = {
    "pmm_mnist": ((4, 3), (8, 4), (12, 6), (16, 8), (20, 10)),
    "pmm_fashion_mnist": ((6, 4), (9, 5), (12, 7), (16, 8)),
}
MLP_WIDTHS = (2, 4, 8, 16, 32, 64)


def mlp(hidden_units, num_classes=10):
    """A one-hidden-layer MLP on raw 28x28 images (rescaling inside)."""
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Rescaling(1.0 / 255.0),
            keras.layers.Flatten(),
            keras.layers.Dense(hidden_units, activation="relu"),
            keras.layers.Dense(num_classes, activation="softmax"),
        ],
        name=f"mlp_{hidden_units}",
    )
    return model


def equal_parameter_width(parameters, inputs=784, classes=10):
    """Hidden width h of the MLP (inputs*h + h + h*classes + classes) nearest
    in parameters."""
    return max(1, round((parameters - classes) / (inputs + 1 + classes)))


def _compile(model, learning_rate, epochs, steps_per_epoch):
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, epochs * steps_per_epoch
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of every epoch."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def _samples_per_second(model, x, y, batch_size, epochs):
    timer = EpochTimer()
    model.fit(
        x, y, batch_size=batch_size, epochs=epochs, callbacks=[timer], verbose=0
    )
    return len(x) / statistics.median(timer.seconds[1:])


def throughput(data_dir, examples, epochs, latency_repeats):
    """Training samples/s and predict latency, PMM preset vs equal-size MLP."""
    preset = PRESETS["pmm_mnist"]
    recipe = preset.recipe
    (x_train, y_train), (x_test, _) = preset.data.load(data_dir)
    x, y = x_train[:examples], y_train[:examples]
    steps = -(-len(x) // recipe.batch_size)

    keras.utils.set_random_seed(SEED)
    pmm = preset.build()
    pmm.compile(optimizer=training.recipe_optimizer(recipe, steps))
    pmm(x[:1])
    width = equal_parameter_width(pmm.count_params())
    models = {
        "pmm_mnist": pmm,
        f"MLP 784-{width}-10": _compile(
            mlp(width), MLP_LEARNING_RATE, epochs, steps
        ),
    }
    rows = []
    for label, model in models.items():
        rows.append(
            {
                "model": label,
                "parameters": int(model.count_params()),
                "train_samples_per_s": _samples_per_second(
                    model, x, y, recipe.batch_size, epochs
                ),
                **{
                    f"latency_ms_batch_{size}": 1e3
                    * evaluation.predict_latency(
                        model, x_test, size, repeats=latency_repeats
                    )
                    for size in (1, 256)
                },
            }
        )
    shipped = zoo.load(
        "pmm_mnist"
    )  # the shipped model predicts like the fresh one
    rows[0]["shipped_latency_ms_batch_256"] = 1e3 * evaluation.predict_latency(
        shipped, x_test, 256, repeats=latency_repeats
    )
    return rows


def accuracy(
    data_dir, epochs, max_train_examples, pmm_sizes=PMM_SIZES, widths=MLP_WIDTHS
):
    """Test accuracy vs parameters of PMM sizes and MLP widths, same epochs."""
    points = []
    for name, sizes in pmm_sizes.items():
        preset = PRESETS[name]
        (x_train, y_train), (x_test, y_test) = preset.data.load(data_dir)
        x_train, y_train = (
            x_train[:max_train_examples],
            y_train[:max_train_examples],
        )
        steps = -(-len(x_train) // preset.recipe.batch_size)
        candidates = [
            (
                f"PMM n={n} m={m}",
                "PMM",
                lambda n=n, m=m: preset.build(n=n, hamiltonian_size=m),
            )
            for n, m in sizes
        ] + [(f"MLP h={h}", "MLP", lambda h=h: mlp(h)) for h in widths]
        for label, family, build in candidates:
            keras.utils.set_random_seed(SEED)
            model = build()
            if family == "PMM":
                recipe = dataclasses.replace(preset.recipe, epochs=epochs)
                model.compile(
                    optimizer=training.recipe_optimizer(recipe, steps)
                )
            else:
                _compile(model, MLP_LEARNING_RATE, epochs, steps)
            start = time.perf_counter()
            model.fit(
                x_train,
                y_train,
                batch_size=preset.recipe.batch_size,
                epochs=epochs,
                verbose=0,
            )
            seconds = time.perf_counter() - start
            correct = training.count_correct(model, x_test, y_test)
            point = {
                "dataset": preset.data.name,
                "preset": name,
                "family": family,
                "model": label,
                "parameters": int(model.count_params()),
                "test_accuracy": correct / len(y_test),
                "train_seconds": round(seconds, 1),
            }
            print(json.dumps(point), file=sys.stderr, flush=True)
            points.append(point)
    return points


def shipped_points():
    """Figures of the trained MNIST / Fashion-MNIST presets, from metadata."""
    datasets = {PRESETS[name].dataset for name in PMM_SIZES}
    points = []
    for name in zoo.list():
        metadata = zoo.metadata(name)
        if PRESETS[name].dataset in datasets and metadata.get("trained"):
            hybrid = (
                PRESETS[name].model_class
                is not PRESETS["pmm_mnist"].model_class
            )
            points.append(
                {
                    "dataset": metadata["dataset"],
                    "preset": name,
                    "family": "shipped hybrid" if hybrid else "shipped",
                    "model": name,
                    "parameters": metadata["parameters"],
                    "test_accuracy": metadata["test_accuracy"],
                }
            )
    return points


def plot(points, epochs, path):
    """Accuracy-vs-parameters PNG, one panel per data set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    datasets = sorted({point["dataset"] for point in points}, reverse=True)
    figure, axes = plt.subplots(
        1, len(datasets), figsize=(5.5 * len(datasets), 4.2)
    )
    axes = np.atleast_1d(axes)
    styles = {
        "PMM": dict(
            marker="o", color="tab:blue", label=f"PMM, {epochs} epochs"
        ),
        "MLP": dict(
            marker="s",
            color="tab:orange",
            label=f"MLP 784-h-10, {epochs} epochs",
        ),
        "shipped": dict(
            marker="*",
            color="tab:red",
            markersize=14,
            linestyle="none",
            label="shipped PMM preset (full recipe)",
        ),
        "shipped hybrid": dict(
            marker="P",
            color="tab:green",
            markersize=11,
            linestyle="none",
            label="shipped conv + PMM preset (full recipe)",
        ),
    }
    for axis, dataset in zip(axes, datasets):
        for family, style in styles.items():
            chosen = sorted(
                (
                    p
                    for p in points
                    if p["dataset"] == dataset and p["family"] == family
                ),
                key=lambda p: p["parameters"],
            )
            if chosen:
                axis.plot(
                    [p["parameters"] for p in chosen],
                    [100 * p["test_accuracy"] for p in chosen],
                    **style,
                )
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(
            ticker.FuncFormatter(lambda x, _: f"{x:,.0f}")
        )
        axis.xaxis.set_minor_formatter(ticker.NullFormatter())
        axis.set_xlabel("parameters")
        axis.set_ylabel("test accuracy (%)")
        axis.set_title(dataset)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def throughput_table(results):
    lines = [
        "| backend | model | parameters | training samples/s | predict "
        "ms/image, batch 1 | "
        "predict ms/image, batch 256 |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for backend, rows in results.items():
        for row in rows:
            lines.append(
                f"| {backend} | {row['model']} | {row['parameters']:,} | "
                f"{row['train_samples_per_s']:,.0f} | "
                f"{row['latency_ms_batch_1']:.2f} | "
                f"{row['latency_ms_batch_256']:.3f} |"
            )
    return "\n".join(lines)


def _run_child(backend, arguments):
    """Runs this script's `--child` mode under `backend`; returns its JSON."""
    with tempfile.TemporaryDirectory() as folder:
        output = os.path.join(folder, "out.json")
        command = [sys.executable, __file__, "--child", output, *arguments]
        env = {**os.environ, "KERAS_BACKEND": backend}
        subprocess.run(command, env=env, check=True)
        with open(output) as file:
            return json.load(file)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--part",
        choices=("all", "throughput", "accuracy", "plot"),
        default="all",
        help="`plot` redraws the PNG from the --json file's accuracy points "
        "and the presets' current metadata",
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=BACKENDS,
        default=list(BACKENDS),
        help="backends of the throughput part",
    )
    parser.add_argument("--accuracy-backend", choices=BACKENDS, default="jax")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder of the IDX files (else KERAS_PMM_DATA_DIR, else download)",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=20480,
        help="training examples per throughput epoch",
    )
    parser.add_argument("--throughput-epochs", type=int, default=4)
    parser.add_argument(
        "--epochs", type=int, default=10, help="epochs of the accuracy part"
    )
    parser.add_argument("--max-train-examples", type=int, default=None)
    parser.add_argument("--latency-repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--json", type=pathlib.Path, default=DEFAULT_JSON)
    parser.add_argument("--plot", type=pathlib.Path, default=DEFAULT_PLOT)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.examples, args.throughput_epochs, args.epochs = 1024, 2, 1
        args.max_train_examples, args.latency_repeats = 2048, 3

    if args.child:
        if args.part == "throughput":
            result = throughput(
                args.data_dir,
                args.examples,
                args.throughput_epochs,
                args.latency_repeats,
            )
        else:
            sizes = PMM_SIZES
            widths = MLP_WIDTHS
            if args.quick:
                sizes = {name: ladder[:2] for name, ladder in PMM_SIZES.items()}
                widths = MLP_WIDTHS[:2]
            result = accuracy(
                args.data_dir,
                args.epochs,
                args.max_train_examples,
                sizes,
                widths,
            )
        result = {
            "backend": keras.backend.backend(),
            "keras": keras.__version__,
            "rows": result,
        }
        with open(args.child, "w") as file:
            json.dump(result, file)
        return 0

    forwarded = [
        "--examples",
        str(args.examples),
        "--throughput-epochs",
        str(args.throughput_epochs),
        "--epochs",
        str(args.epochs),
        "--latency-repeats",
        str(args.latency_repeats),
    ]
    if args.data_dir:
        forwarded += ["--data-dir", args.data_dir]
    if args.max_train_examples:
        forwarded += ["--max-train-examples", str(args.max_train_examples)]
    if args.quick:
        forwarded.append("--quick")
    command = " ".join(
        ["python", os.path.relpath(__file__)] + (argv or sys.argv[1:])
    )
    report = {}
    if (
        args.part != "all" and args.json.is_file()
    ):  # keep the other part's results
        report = json.loads(args.json.read_text())
    report["machine"] = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }
    report.setdefault("commands", {})[args.part] = command
    if args.part in ("all", "throughput"):
        results = {}
        for backend in args.backends:
            child = _run_child(backend, ["--part", "throughput", *forwarded])
            results[backend] = child["rows"]
        report["throughput"] = results
        print(throughput_table(results))
    if args.part in ("all", "accuracy"):
        child = _run_child(
            args.accuracy_backend, ["--part", "accuracy", *forwarded]
        )
        points = child["rows"] + shipped_points()
        report["accuracy"] = {
            "backend": args.accuracy_backend,
            "epochs": args.epochs,
            "points": points,
        }
        plot(points, args.epochs, args.plot)
        for point in points:
            print(
                f"{point['dataset']:>14} {point['model']:<18} "
                f"{point['parameters']:>7,} "
                f"{100 * point['test_accuracy']:6.2f}%"
            )
        print(f"plot: {args.plot}")
    if args.part == "plot":
        accuracy_report = report["accuracy"]
        measured = [
            p
            for p in accuracy_report["points"]
            if not p["family"].startswith("shipped")
        ]
        accuracy_report["points"] = measured + shipped_points()
        plot(accuracy_report["points"], accuracy_report["epochs"], args.plot)
        print(f"plot: {args.plot}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
