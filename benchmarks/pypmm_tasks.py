"""Time to accuracy on pyPMM's two example regression tasks.

pyPMM (the PMM paper's official JAX code, GPL-3.0: only its figures are
quoted here, measured on this 2-core machine on 2026-11-29) fits:

- ex1, its documentation notebook: y = sin x + 0.1 x^2 + N(0, 0.2^2) at 100
  equally spaced x in [-2 pi, 2 pi], split 70/15/15 at random, x and y
  min-max scaled, a complex AO-PMM with n = 5, r = 2 and one
  expectation-value observable (76 parameters), batch 5, 250 epochs, Adam
  1e-2: test MSE 2.8e-3 (scaled targets) in 2.7-3.1 s of wall time;
- ex2, its 2-D test: f(x, y) = exp(-((x - 1)^2 / 0.25 + (y + 1)^2 / 0.0625))
  on a 10 x 10 grid on [-3, 3]^2, a complex AO-PMM with n = 5, r = 2
  (largest-magnitude eigenpairs; 101 parameters), batch 25, 4,000 Adam
  steps at 1e-2: MSE 1.04e-3 on 2,000 random points off the grid, in
  3.4-3.8 s (2.2 s of it compiling).

This script fits the same models (`PMMRegressor(n=5, r=2, field="complex",
decoder="expectation")`, the same parameter counts) and measures the wall
time from model construction to the
first test predictions (construction, compilation, training and the first
call included; imports and data generation not). `--recipe recommended`
(the default) uses the settings the README recommends (`RECOMMENDED`:
`keras_pmm.training.fit_steps` with `cosine_adam`); `--recipe
recommended-fit` runs the same steps on the same batches with
`model.fit`, which shows what the loop costs; `--recipe pypmm` uses pyPMM's
own (batch, epochs, eigenpairs) with plain `model.fit`. Each task
runs `--repeats` times with seeds 0, 1, ... (data noise, split and
initialisation); the JSON reports the median wall time and the median test
MSE, and every run.

Run:

    python benchmarks/pypmm_tasks.py --json              # this backend
    python benchmarks/pypmm_tasks.py --all-backends      # table, all three
    python benchmarks/pypmm_tasks.py --all-backends --backends jax \
        --recipes recommended                            # update one entry
    python benchmarks/pypmm_tasks.py --quick --json      # CI smoke run

The last line of `--json` output is

    {"ex1": {"wall_s": ..., "test_mse": ...}, "ex2": {...}, ...}

for the current `KERAS_BACKEND`. `--all-backends` re-launches the script
per backend and recipe, writes `benchmarks/results/pypmm_tasks.json` (a
subset given by `--backends` or `--recipes` updates only its entries) and
prints the README table.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results" / "pypmm_tasks.json"

# pyPMM on this machine (DESIGN.md section 5): wall seconds and test MSE.
PYPMM = {
    "ex1": {"wall_s": (2.7, 3.1), "test_mse": 2.8e-3},
    "ex2": {"wall_s": (3.4, 3.8), "test_mse": 1.04e-3},
}

# "recommended": RECOMMENDED with `fit_steps`; "recommended-fit": the same
# steps and batches with `model.fit`; "pypmm": PYPMM_RECIPE with `fit`.
RECIPES = ("recommended", "recommended-fit", "pypmm")

# pyPMM's own recipes.
PYPMM_RECIPE = {
    "ex1": dict(batch_size=5, epochs=250, learning_rate=1e-2, which="lowest"),
    "ex2": dict(
        batch_size=25,
        epochs=1000,
        learning_rate=1e-2,
        which="largest_magnitude",
    ),
}

# What the README recommends for small data sets: `keras_pmm.training`'s
# `fit_steps` (the optimizer steps in one compiled loop, fixed batches of
# the once-shuffled data) with `cosine_adam` (a larger learning rate,
# cosine-decayed to zero), and the lowest eigenpairs. ex1: 500 full-batch
# steps at 5e-2; ex2: 2,000 steps of batch 25 (pyPMM's batch size) at 1e-1.
RECOMMENDED = {
    "ex1": dict(steps=500, batch_size=None, learning_rate=5e-2),
    "ex2": dict(steps=2000, batch_size=25, learning_rate=1e-1),
}


def ex1_data(seed):
    """(x_train, y_train), (x_val, y_val), (x_test, y_test), float32."""
    rng = np.random.default_rng(seed)
    x = np.linspace(-2 * np.pi, 2 * np.pi, 100)
    y = np.sin(x) + 0.1 * x**2 + rng.normal(0.0, 0.2, x.shape)
    order = rng.permutation(100)
    parts = order[:70], order[70:85], order[85:]
    return [
        (x[i, None].astype("float32"), y[i, None].astype("float32"))
        for i in parts
    ]


def bump(x):
    return np.exp(-((x[:, 0] - 1) ** 2 / 0.25 + (x[:, 1] + 1) ** 2 / 0.0625))


def ex2_data(seed):
    """The 10 x 10 training grid and 2,000 random test points off it."""
    axis = np.linspace(-3, 3, 10)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    test = np.random.default_rng(seed).uniform(-3, 3, (2000, 2))
    return [
        (x.astype("float32"), bump(x)[:, None].astype("float32"))
        for x in (grid, test)
    ]


def make_model(which):
    from keras_pmm.models import PMMRegressor

    return PMMRegressor(
        n=5, r=2, field="complex", decoder="expectation", which=which
    )


def task_data(task, seed):
    """(x_train, y_train), (x_test, y_test) of a task, float32."""
    if task == "ex1":
        train, _, test = ex1_data(seed)
        return train, test
    return ex2_data(seed)


def fit_recommended(task, x, y, seed, quick=False, loop="fit_steps"):
    """The README's recipe (100 steps if `quick`); returns (model, optimizer
    steps).

    `loop="fit"` runs the same optimizer steps on the same batches with
    Keras's `model.fit` (one epoch over the batches laid end to end,
    unshuffled) instead of `fit_steps`, to measure what the loop costs.
    """
    from keras_pmm.training import cosine_adam
    from keras_pmm.training import fit_steps

    settings = RECOMMENDED[task]
    steps = 100 if quick else settings["steps"]
    # fit_steps takes fixed batches in order: shuffle once.
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    model = make_model("lowest")
    model.compile(optimizer=cosine_adam(settings["learning_rate"], steps))
    if loop == "fit_steps":
        fit_steps(model, x, y, steps, settings["batch_size"])
    else:
        batch = settings["batch_size"] or len(x)
        rows = (np.arange(steps * batch) % len(x)).astype("int64")
        model.fit(x[rows], y[rows], batch_size=batch, shuffle=False, verbose=0)
    return model, steps


def fit_pypmm(task, x, y, quick=False):
    """pyPMM's own batch size, epochs (1 if `quick`) and eigenpairs with
    Keras's `fit`."""
    import keras

    settings = PYPMM_RECIPE[task]
    epochs = 1 if quick else settings["epochs"]
    model = make_model(settings["which"])
    model.compile(optimizer=keras.optimizers.Adam(settings["learning_rate"]))
    model.fit(x, y, batch_size=settings["batch_size"], epochs=epochs, verbose=0)
    return model, epochs * -(-len(x) // settings["batch_size"])


def run_task(task, recipe, seed, quick=False):
    """One timed fit; returns {"wall_s", "test_mse", "params", "steps"}."""
    import keras

    (x, y), (x_test, y_test) = task_data(task, seed)
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    if recipe == "recommended":
        model, steps = fit_recommended(task, x, y, seed, quick)
    elif recipe == "recommended-fit":
        model, steps = fit_recommended(task, x, y, seed, quick, loop="fit")
    else:
        model, steps = fit_pypmm(task, x, y, quick)
    # One small batch: a direct call, as Keras advises over `predict`
    # (which compiles a predict function first).
    predictions = keras.ops.convert_to_numpy(model(x_test))
    wall = time.perf_counter() - start
    # ex1 is scored on min-max-scaled targets (the model's own training
    # scale, from the training split), as pyPMM's notebook; ex2's targets
    # span [0, 1] already and are scored as they are.
    scale = float(np.ptp(y)) if task == "ex1" else 1.0
    mse = float(np.mean(((predictions - y_test) / scale) ** 2))
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return {
        "wall_s": wall,
        "test_mse": mse,
        "params": trainable,
        "steps": steps,
    }


def measure(recipe, repeats, quick):
    """Per task: a first ("cold") run in this fresh process, which also pays
    the backend's one-time start-up, then `repeats` runs (seeds 0, 1, ...)
    whose median wall time and test MSE are the results."""
    import keras

    results = {}
    for task in ("ex1", "ex2"):
        cold = run_task(task, recipe, repeats, quick)
        runs = [run_task(task, recipe, seed, quick) for seed in range(repeats)]
        results[task] = {
            "wall_s": statistics.median(r["wall_s"] for r in runs),
            "test_mse": statistics.median(r["test_mse"] for r in runs),
            "cold_wall_s": cold["wall_s"],
            "params": runs[0]["params"],
            "steps": runs[0]["steps"],
            "runs": runs,
        }
    results["backend"] = keras.backend.backend()
    results["recipe"] = recipe
    return results


def table(all_results):
    """The README table: keras-pmm per backend and recipe against pyPMM."""
    lines = [
        "| task | pyPMM wall s / test MSE | backend | recipe | wall s "
        "(median) | test MSE (median) | vs pyPMM time |",
        "|---|---|---|---|--:|--:|--:|",
    ]
    for task in ("ex1", "ex2"):
        low, high = PYPMM[task]["wall_s"]
        anchor = f"{low}-{high} / {PYPMM[task]['test_mse']:.2e}"
        for key, result in sorted(all_results.items()):
            backend, recipe = key.split("/")
            entry = result[task]
            lines.append(
                f"| {task} | {anchor} | {backend} | {recipe} | "
                f"{entry['wall_s']:.2f} | {entry['test_mse']:.2e} | "
                f"{entry['wall_s'] / low:.2f}x |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", choices=RECIPES, default="recommended")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument(
        "--json", action="store_true", help="print the results as JSON last"
    )
    parser.add_argument(
        "--all-backends",
        action="store_true",
        help="run every recipe on every backend, write --out, print the table",
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        default=("jax", "tensorflow", "torch"),
        help="with --all-backends: only these, kept beside --out's others",
    )
    parser.add_argument(
        "--recipes",
        nargs="+",
        choices=RECIPES,
        default=RECIPES,
        help="with --all-backends: only these recipes",
    )
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    parser.add_argument(
        "--table", action="store_true", help="print the table of --out"
    )
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.out.read_text())))
        return
    if args.all_backends:
        # A subset of backends or recipes updates those entries of --out.
        all_results = (
            json.loads(args.out.read_text())
            if args.out.is_file()
            and (
                set(args.backends) != {"jax", "tensorflow", "torch"}
                or set(args.recipes) != set(RECIPES)
            )
            else {}
        )
        for backend in args.backends:
            for recipe in args.recipes:
                command = [
                    sys.executable,
                    __file__,
                    "--json",
                    "--recipe",
                    recipe,
                    "--repeats",
                    # pyPMM's recipe takes minutes on TensorFlow/PyTorch
                    str(args.repeats if recipe != "pypmm" else 1),
                ] + (["--quick"] if args.quick else [])
                env = {**os.environ, "KERAS_BACKEND": backend}
                output = subprocess.run(
                    command, env=env, check=True, capture_output=True, text=True
                ).stdout
                result = json.loads(output.strip().splitlines()[-1])
                all_results[f"{backend}/{recipe}"] = result
                print(
                    f"{backend:10s} {recipe:15s} "
                    + "  ".join(
                        f"{t}: {result[t]['wall_s']:.2f} s, "
                        f"MSE {result[t]['test_mse']:.2e}"
                        for t in ("ex1", "ex2")
                    ),
                    flush=True,
                )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(all_results, indent=1) + "\n")
        print(table(all_results))
        return
    results = measure(args.recipe, args.repeats, args.quick)
    for task in ("ex1", "ex2"):
        print(
            f"{task}: {results[task]['wall_s']:.2f} s, test MSE "
            f"{results[task]['test_mse']:.2e} ({results[task]['params']} "
            f"parameters, {results[task]['steps']} steps)",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
