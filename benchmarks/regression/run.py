"""Regression benchmark: PMMs against baselines on smooth functions.

Tasks (`TASKS`):

- 1-D waveforms on [-pi, pi], 60 training and 20 validation points drawn
  uniformly at random, tested on 1,000 evenly spaced points off the
  training draw (cell midpoints):
  `wave_mix`  y = sin(2x) + 0.5 cos(5x);
  `wave_packet`  y = exp(-x^2 / 2) sin(6x) (a Gaussian wave packet).
- 2-D surfaces, 150 training and 50 validation points drawn uniformly at
  random on the domain, tested on a dense 100 x 100 grid shifted off the
  domain's grid lines (the cell midpoints, 10,000 points):
  `franke`  Franke's function (Franke 1979) on [0, 1]^2;
  `cliff`  Franke's cliff function F2, (tanh(9y - 9x) + 1) / 9, on [0, 1]^2;
  `runge`  the 2-D Runge function 1 / (1 + 25 (x^2 + y^2)) on [-1, 1]^2;
  `bump`  pyPMM's Gaussian bump exp(-((x - 1)^2 / 0.25 + (y + 1)^2 /
  0.0625)) on [-3, 3]^2.
- `diabetes`: scikit-learn's diabetes data (442 patients, 10 features,
  disease progression after one year), split 60/20/20 at random into
  training, validation and test sets.

Methods (`METHODS`), each tuned on the validation split over a small grid
(every grid point trained on the training split only; the best on
validation RMSE is scored on the test set; its fit is the one timed):

- `PMM`: `keras_pmm.models.PMMRegressor` (AO-PMM, lowest eigenpairs) with
  the README's small-data recipe: full batches in one compiled loop
  (`keras_pmm.training.fit_steps`), Adam 5e-2 with cosine decay, grid over
  n, r, the decoder form and the training length (3,000 or 10,000 steps;
  300-1,000 on diabetes).
- `KRR`: kernel ridge regression with an RBF kernel (standardised inputs
  and targets), grid over alpha and gamma.
- `RF`: a random forest (`RandomForestRegressor`, 100 trees), grid over
  leaf size and features per split.
- `MLP (sklearn)`: `MLPRegressor` (tanh, L-BFGS, standardised inputs and
  targets, at most 1,000 iterations), grid over two hidden layers of 32 or
  64 units and the L2 penalty.
- `MLP (equal params)`: a Keras tanh MLP with two hidden layers whose width
  makes its parameter count the nearest to the tuned PMM's, trained with
  the PMM's recipe and scaling, grid over the learning rate and the same
  training lengths.

Parameters counted: PMM `model.count_params()` (trainable weights and the
non-trainable scaling statistics); MLPs their weights and biases; KRR the
numbers a prediction needs, N dual coefficients and the N x p training
inputs, N (p + 1) (the kernel width and scalers are not counted); RF the
number of tree nodes, all trees together.

Run (the Keras models on JAX unless KERAS_BACKEND says otherwise):

    python benchmarks/regression/run.py            # writes RESULTS, plots
    python benchmarks/regression/run.py --quick --json /tmp/quick.json
    python benchmarks/regression/run.py --table    # README table of RESULTS
    python benchmarks/regression/run.py --plot     # PNGs from RESULTS

`--quick` (tiny grids, few steps; seconds per task) writes JSON only where
`--json` says.
"""

import argparse
import json
import math
import os
import pathlib
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import threadpoolctl  # noqa: E402

from keras_pmm.zoo.array_data import franke  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
RESULTS_DIR = HERE.parent / "results"
RESULTS = RESULTS_DIR / "regression.json"
SEED = 0


def wave_mix(x):
    return np.sin(2 * x) + 0.5 * np.cos(5 * x)


def wave_packet(x):
    return np.exp(-(x**2) / 2) * np.sin(6 * x)


def cliff(x, y):
    """Franke's cliff function F2, on [0, 1]^2."""
    return (np.tanh(9 * y - 9 * x) + 1) / 9


def runge(x, y):
    """The 2-D Runge function, on [-1, 1]^2."""
    return 1 / (1 + 25 * (x**2 + y**2))


def bump(x, y):
    """pyPMM's Gaussian bump, on [-3, 3]^2."""
    return np.exp(-((x - 1) ** 2 / 0.25 + (y + 1) ** 2 / 0.0625))


# name: (function, domain (low, high), description)
WAVES = {
    "wave_mix": (wave_mix, (-math.pi, math.pi), "sin(2x) + 0.5 cos(5x)"),
    "wave_packet": (wave_packet, (-math.pi, math.pi), "exp(-x^2/2) sin(6x)"),
}
SURFACES = {
    "franke": (franke, (0.0, 1.0), "Franke's function"),
    "cliff": (cliff, (0.0, 1.0), "cliff (tanh(9y - 9x) + 1) / 9"),
    "runge": (runge, (-1.0, 1.0), "Runge 1 / (1 + 25 (x^2 + y^2))"),
    "bump": (bump, (-3.0, 3.0), "Gaussian bump"),
}
TASKS = (*WAVES, *SURFACES, "diabetes")
METHODS = ("PMM", "KRR", "RF", "MLP (sklearn)", "MLP (equal params)")
SIZES = {"wave": (60, 20, 1000), "surface": (150, 50, 100)}


def _as_float32(*arrays):
    return [np.asarray(a, "float32") for a in arrays]


def task_data(task, seed=SEED):
    """(x_train, y_train), (x_val, y_val), (x_test, y_test); y as (N, 1)."""
    rng = np.random.default_rng(seed)
    if task in WAVES:
        function, (low, high), _ = WAVES[task]
        train, val, test = SIZES["wave"]
        x = rng.uniform(low, high, (train + val, 1))
        x_test = (low + (np.arange(test) + 0.5) * (high - low) / test)[:, None]
        y, y_test = function(x), function(x_test)
    elif task in SURFACES:
        function, (low, high), _ = SURFACES[task]
        train, val, side = SIZES["surface"]
        x = rng.uniform(low, high, (train + val, 2))
        axis = low + (np.arange(side) + 0.5) * (high - low) / side
        x_test = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1)
        x_test = x_test.reshape(-1, 2)
        y, y_test = (function(*z.T)[:, None] for z in (x, x_test))
    elif task == "diabetes":
        from sklearn.datasets import load_diabetes

        data, target = load_diabetes(return_X_y=True)
        order = rng.permutation(len(data))
        train, val = round(0.6 * len(data)), round(0.2 * len(data))
        fit, test = order[: train + val], order[train + val :]
        x, y = data[fit], target[fit, None]
        x_test, y_test = data[test], target[test, None]
    else:
        raise ValueError(f"Unknown task {task!r}; known: {TASKS}")
    x, y, x_test, y_test = _as_float32(x, y, x_test, y_test)
    return (x[:train], y[:train]), (x[train:], y[train:]), (x_test, y_test)


def rmse(prediction, target):
    prediction = np.asarray(prediction, "float64").reshape(-1)
    return float(np.sqrt(np.mean((prediction - target.reshape(-1)) ** 2)))


# Grids: full runs and `--quick` runs. Keras models take `steps` Adam steps.
def grids(task, quick):
    one_d = task in WAVES
    if quick:
        pmm = [dict(n=5, r=2, field="complex", decoder="expectation")]
        return {
            "PMM": [{**c, "steps": 200} for c in pmm],
            "KRR": [dict(alpha=a, gamma=g) for a in (1e-6,) for g in (1, 10)],
            "RF": [dict(min_samples_leaf=1, max_features=1.0)],
            "MLP (sklearn)": [dict(hidden=(32, 32), alpha=1e-4)],
            "MLP (equal params)": [dict(learning_rate=1e-2, steps=200)],
        }
    if task == "diabetes":
        pmm = [
            dict(n=3, r=1, field="real", decoder="pairwise", steps=300),
            dict(n=4, r=2, field="complex", decoder="expectation", steps=300),
            dict(n=4, r=2, field="real", decoder="pairwise", steps=1000),
        ]
    else:
        # The 1-D waves need more eigenpairs (several oscillations). Two
        # training lengths; the MLP of equal parameters gets both too.
        pmm = [
            {**c, "steps": steps}
            for steps in (3000, 10000)
            for c in (
                (
                    dict(n=8, r=4, field="complex", decoder="shared"),
                    dict(n=12, r=3, field="complex", decoder="shared"),
                )
                if one_d
                else (
                    dict(n=6, r=2, field="complex", decoder="pairwise"),
                    dict(n=7, r=4, field="complex", decoder="shared"),
                    dict(n=10, r=3, field="complex", decoder="shared"),
                )
            )
        ]
    keras_steps = (3000, 10000) if task != "diabetes" else (1000,)
    return {
        "PMM": pmm,
        "KRR": [
            dict(alpha=a, gamma=g)
            for a in (1e-8, 1e-6, 1e-4, 1e-2, 1.0)
            for g in (0.01, 0.1, 0.3, 1, 3, 10, 30)
        ],
        "RF": [
            dict(min_samples_leaf=leaf, max_features=features)
            for leaf in (1, 3)
            for features in (1.0, 0.5)
        ],
        "MLP (sklearn)": [
            dict(hidden=hidden, alpha=alpha)
            for hidden in ((32, 32), (64, 64))
            for alpha in (1e-5, 1e-2)
        ],
        "MLP (equal params)": [
            dict(learning_rate=lr, steps=steps)
            for lr in (5e-3, 2e-2)
            for steps in keras_steps
        ],
    }


def _keras_fit(model, x, y, learning_rate, steps):
    """The README's small-data recipe: `fit_steps` on full batches with
    `cosine_adam`."""
    from keras_pmm.training import cosine_adam
    from keras_pmm.training import fit_steps

    model.compile(optimizer=cosine_adam(learning_rate, steps), loss="mse")
    fit_steps(model, x, y, steps)


def _predict(model, x):
    import keras

    return keras.ops.convert_to_numpy(model(x, training=False))


def fit_pmm(config, x, y):
    """Returns (predict function, parameter count)."""
    import keras

    from keras_pmm.models import PMMRegressor

    config = dict(config)
    steps = config.pop("steps")
    keras.utils.set_random_seed(SEED)
    model = PMMRegressor(**config)
    model.adapt(x, y)
    _keras_fit(model, x, y, 5e-2, steps)
    return (lambda z: _predict(model, z)), int(model.count_params())


def equal_parameter_width(parameters, inputs):
    """Width h of a p-h-h-1 MLP (h^2 + (p + 3) h + 1 parameters) nearest in
    parameters."""
    b = inputs + 3
    root = (-b + math.sqrt(b * b + 4 * max(parameters - 1, 0))) / 2
    return min(
        (max(1, math.floor(root)), math.floor(root) + 1),
        key=lambda h: abs(h * h + b * h + 1 - parameters),
    )


def fit_keras_mlp(config, x, y, width):
    import keras

    low, high = x.min(0), x.max(0)
    span = np.where(high > low, high - low, 1.0)
    y_low, y_span = float(y.min()), float(np.ptp(y)) or 1.0

    def x_scale(z):
        return (2 * (z - low) / span - 1).astype("float32")

    keras.utils.set_random_seed(SEED)
    model = keras.Sequential(
        [
            keras.Input((x.shape[1],)),
            keras.layers.Dense(width, activation="tanh"),
            keras.layers.Dense(width, activation="tanh"),
            keras.layers.Dense(1),
        ]
    )
    _keras_fit(
        model,
        x_scale(x),
        ((y - y_low) / y_span).astype("float32"),
        config["learning_rate"],
        config["steps"],
    )
    return (
        lambda z: _predict(model, x_scale(z)) * y_span + y_low,
        int(model.count_params()),
    )


def _standardised(regressor):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return TransformedTargetRegressor(
        make_pipeline(StandardScaler(), regressor), transformer=StandardScaler()
    )


def fit_krr(config, x, y):
    from sklearn.kernel_ridge import KernelRidge

    model = _standardised(KernelRidge(kernel="rbf", **config))
    model.fit(x.astype("float64"), y.astype("float64"))
    return model.predict, len(x) * (x.shape[1] + 1)


def fit_rf(config, x, y, quick=False):
    from sklearn.ensemble import RandomForestRegressor

    model = RandomForestRegressor(
        n_estimators=20 if quick else 100, random_state=SEED, **config
    )
    model.fit(x, y.ravel())
    nodes = sum(tree.tree_.node_count for tree in model.estimators_)
    return model.predict, int(nodes)


def fit_sklearn_mlp(config, x, y, quick=False):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    mlp = MLPRegressor(
        hidden_layer_sizes=config["hidden"],
        alpha=config["alpha"],
        activation="tanh",
        solver="lbfgs",
        max_iter=100 if quick else 1000,
        random_state=SEED,
    )
    model = _standardised(mlp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x.astype("float64"), y.astype("float64").ravel())
    fitted = model.regressor_[-1]
    weights = sum(w.size for w in fitted.coefs_ + fitted.intercepts_)
    return model.predict, int(weights)


def _tune(method, configs, fit, data, log):
    """Fits every config on the training split; the best on validation."""
    (x, y), (x_val, y_val), (x_test, y_test) = data
    trials = []
    best = None
    for config in configs:
        start = time.perf_counter()
        # One BLAS thread: on a busy machine scikit-learn's many small
        # products spin threads for minutes.
        with threadpoolctl.threadpool_limits(1):
            predict, params = fit(config, x, y)
        seconds = time.perf_counter() - start
        val = rmse(predict(x_val), y_val)
        trials.append({"config": _jsonable(config), "val_rmse": val})
        if best is None or val < best[0]:
            best = (val, config, predict, params, seconds)
    val, config, predict, params, seconds = best
    result = {
        "test_rmse": rmse(predict(x_test), y_test),
        "val_rmse": val,
        "params": params,
        "fit_s": seconds,
        "config": _jsonable(config),
        "trials": trials,
    }
    log(
        f"  {method:18s} test RMSE {result['test_rmse']:.3e}  "
        f"params {params:7d}  fit {seconds:6.2f} s  {result['config']}"
    )
    return result


def _jsonable(config):
    return {
        k: list(v) if isinstance(v, tuple) else v for k, v in config.items()
    }


def run_task(task, quick=False, log=print):
    data = task_data(task)
    (x, _), _, (_, y_test) = data
    grid = grids(task, quick)
    log(f"{task}: {len(x)} training points, {x.shape[1]} feature(s)")
    results = {}
    results["PMM"] = _tune("PMM", grid["PMM"], fit_pmm, data, log)
    width = equal_parameter_width(results["PMM"]["params"], x.shape[1])
    results["KRR"] = _tune("KRR", grid["KRR"], fit_krr, data, log)
    results["RF"] = _tune(
        "RF", grid["RF"], lambda c, x, y: fit_rf(c, x, y, quick), data, log
    )
    results["MLP (sklearn)"] = _tune(
        "MLP (sklearn)",
        grid["MLP (sklearn)"],
        lambda c, x, y: fit_sklearn_mlp(c, x, y, quick),
        data,
        log,
    )
    results["MLP (equal params)"] = _tune(
        "MLP (equal params)",
        grid["MLP (equal params)"],
        lambda c, x, y: fit_keras_mlp(c, x, y, width),
        data,
        log,
    )
    if task in WAVES:
        description = WAVES[task][2]
    elif task in SURFACES:
        description = SURFACES[task][2]
    else:
        description = "scikit-learn diabetes"
    return {
        "description": description,
        "n_train": len(x),
        "n_val": len(data[1][0]),
        "n_test": len(y_test),
        "test_std": float(np.std(y_test)),
        "methods": results,
    }


def summary(tasks):
    """Where the PMM has the lowest test RMSE, and its parameters as a
    fraction of the tuned scikit-learn MLP's, per 2-D surface."""
    wins, ratios = [], {}
    for task, entry in tasks.items():
        methods = entry["methods"]
        pmm = methods["PMM"]
        if all(
            pmm["test_rmse"] < m["test_rmse"]
            for name, m in methods.items()
            if name != "PMM"
        ):
            wins.append(task)
        ratios[task] = pmm["params"] / methods["MLP (sklearn)"]["params"]
    surfaces_won = [
        t for t in wins if t in SURFACES and ratios[t] <= 0.2 + 1e-12
    ]
    return {
        "pmm_best": wins,
        "pmm_over_sklearn_mlp_params": ratios,
        "surfaces_won_at_most_fifth_params": surfaces_won,
        "target_met": len(surfaces_won) >= 3,
    }


def run(tasks=TASKS, quick=False, log=print):
    import keras

    start = time.perf_counter()
    results = {}
    for task in tasks:
        results[task] = run_task(task, quick, log)
    return {
        "backend": keras.backend.backend(),
        "quick": quick,
        "seed": SEED,
        "wall_s": time.perf_counter() - start,
        "tasks": results,
        "summary": summary(results),
    }


def table(results):
    """The markdown table: test RMSE and parameters per task and method, the
    best RMSE per task in bold."""
    lines = [
        "| task | test std | "
        + " | ".join(METHODS)
        + " | PMM / MLP (sklearn) params |",
        "|---|--:|" + "--:|" * (len(METHODS) + 1),
    ]
    for task, entry in results["tasks"].items():
        methods = entry["methods"]
        best = min(m["test_rmse"] for m in methods.values())
        cells = []
        for name in METHODS:
            m = methods[name]
            cell = f"{m['test_rmse']:.2e} ({m['params']:,})"
            cells.append(f"**{cell}**" if m["test_rmse"] == best else cell)
        ratio = results["summary"]["pmm_over_sklearn_mlp_params"][task]
        lines.append(
            f"| {task} | {entry['test_std']:.2e} | "
            + " | ".join(cells)
            + f" | {ratio:.3f} |"
        )
    return "\n".join(lines)


def fit_time_table(results):
    """Fit time in seconds of each tuned model (one fit, on this machine)."""
    lines = [
        "| task | " + " | ".join(METHODS) + " |",
        "|---|" + "--:|" * len(METHODS),
    ]
    for task, entry in results["tasks"].items():
        lines.append(
            f"| {task} | "
            + " | ".join(f"{entry['methods'][m]['fit_s']:.2f}" for m in METHODS)
            + " |"
        )
    return "\n".join(lines)


def plot(results, directory=RESULTS_DIR):
    """Writes regression_rmse.png (test RMSE relative to the targets' std,
    per task and method) and regression_params.png (test RMSE against
    parameters on the 2-D surfaces); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tasks = list(results["tasks"])
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(METHODS)
    for i, name in enumerate(METHODS):
        values = [
            results["tasks"][t]["methods"][name]["test_rmse"]
            / results["tasks"][t]["test_std"]
            for t in tasks
        ]
        offset = (i - (len(METHODS) - 1) / 2) * width
        ax.bar(np.arange(len(tasks)) + offset, values, width, label=name)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(tasks)), tasks)
    ax.set_ylabel("test RMSE / std of test targets")
    ax.set_title("Regression benchmark: test error (lower is better)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths = [directory / "regression_rmse.png"]
    fig.savefig(paths[0], dpi=100)
    plt.close(fig)

    surfaces = [t for t in tasks if t in SURFACES]
    if surfaces:
        fig, axes = plt.subplots(
            1, len(surfaces), figsize=(3.2 * len(surfaces), 3.2), squeeze=False
        )
        for ax, task in zip(axes[0], surfaces):
            for name in METHODS:
                m = results["tasks"][task]["methods"][name]
                ax.scatter(m["params"], m["test_rmse"], label=name)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_title(task)
            ax.set_xlabel("parameters")
        axes[0][0].set_ylabel("test RMSE")
        axes[0][-1].legend(fontsize=7)
        fig.tight_layout()
        paths.append(directory / "regression_params.png")
        fig.savefig(paths[1], dpi=100)
        plt.close(fig)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument(
        "--tasks", default=",".join(TASKS), help="comma-separated tasks"
    )
    parser.add_argument(
        "--json", type=pathlib.Path, help=f"results file (default {RESULTS})"
    )
    parser.add_argument(
        "--table", action="store_true", help="print the tables of the JSON"
    )
    parser.add_argument(
        "--plot", action="store_true", help="write the PNGs of the JSON"
    )
    args = parser.parse_args(argv)
    path = args.json or RESULTS
    if args.table or args.plot:
        results = json.loads(path.read_text())
        if args.table:
            print(table(results))
            print()
            print(fit_time_table(results))
        if args.plot:
            for png in plot(results):
                print(png)
        return
    tasks = [t for t in args.tasks.split(",") if t]
    for task in tasks:
        if task not in TASKS:
            parser.error(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    results = run(tasks, args.quick, log=lambda s: print(s, flush=True))
    print(table(results))
    print(json.dumps(results["summary"]))
    if args.json or not args.quick:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {path}", file=sys.stderr)
    if not args.quick:
        plot(results, path.parent)


if __name__ == "__main__":
    main()
