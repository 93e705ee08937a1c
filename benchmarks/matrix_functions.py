"""Benchmark of `MatrixFunctionPMM` on matrix functions f(A) (issue 20).

The task of Padmanabhan and Brugiapaglia (arXiv:2602.07800): learn f(A)
for f in {exp, sign, sin, cos} and A an m x m matrix with entries uniform
in [-5, 5], m = 3, 4, 5. Two families of A:

- symmetric (upper triangle incl. the diagonal drawn, then mirrored): the
  spectral PMM F(A) = W^T g(H(A)) W can represent f(A) exactly (K = W = I,
  B = 0, g = f), and learns g from data;
- general (all m^2 entries drawn): f(A) is not a function of the
  symmetric part, which is all the PMM sees, so it cannot represent them;
  the figures are reported as they come.

Every model trains on fresh random matrices with the relative L1 loss
(`RelativeL1`) and Adam with a cosine-decayed learning rate, and is
measured on fresh test matrices (another seed): relative L1 error
sum|F - f(A)| / sum|f(A)| per matrix (mean, median) and the share within
5%. The baseline is a Keras MLP with about as many parameters (flatten ->
Dense(h, gelu) -> Dense(m^2) -> reshape), trained the same way.

Run (numbers are for the backend this runs on, `KERAS_BACKEND`):

    KERAS_BACKEND=jax python benchmarks/matrix_functions.py
    python benchmarks/matrix_functions.py --quick --json /tmp/quick.json
    python benchmarks/matrix_functions.py --presets /tmp/matrix_presets

`--presets DIR` trains the zoo candidates `pmm_matrix_exp_5x5` and
`pmm_matrix_sign_5x5` with `train_matrix_function_model` and writes
DIR/NAME.keras and DIR/NAME.json (recipe and test figures). A full run
takes about 20 minutes on a 2-core CPU with JAX.
"""

import argparse
import json
import math
import pathlib
import platform
import sys
import time

import keras
import numpy as np

from keras_pmm.datasets import matrix_function_data
from keras_pmm.models import MatrixFunctionPMM
from keras_pmm.models.matrix_function_pmm import RelativeL1
from keras_pmm.models.matrix_function_pmm import WithinTolerance
from keras_pmm.models.matrix_function_pmm import relative_l1_error

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "matrix_functions.json"
FUNCTIONS = ("exp", "sign", "sin", "cos")
SIZES = (3, 4, 5)
TOLERANCE = 0.05
# Per function: the eigenvalue network's output transform (exp for the
# positive, many-decade exponential; tanh for the bounded ones) and input
# scale (the oscillating sin and cos train better on l / 3).
RECIPES = {
    "exp": dict(output_transform="exp", eigenvalue_scale=10.0),
    "sign": dict(output_transform="tanh", eigenvalue_scale=10.0),
    "sin": dict(output_transform="tanh", eigenvalue_scale=3.0),
    "cos": dict(output_transform="tanh", eigenvalue_scale=3.0),
}
MODEL_DEFAULTS = dict(hidden_units=(32, 32))
# Optimizer steps of the full run (sin and cos oscillate over the
# eigenvalue range, about five periods, and need longer).
STEPS = {"exp": 3000, "sign": 3000, "sin": 8000, "cos": 8000}
PRESETS = {
    "pmm_matrix_exp_5x5": dict(function="exp", size=5),
    "pmm_matrix_sign_5x5": dict(function="sign", size=5),
}
PRESET_STEPS = 6000


def model_arguments(function, size):
    """The `MatrixFunctionPMM` arguments of the recipe for f and m."""
    return dict(size=size, **MODEL_DEFAULTS, **RECIPES[function])


def _optimizer(learning_rate, steps):
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
    return keras.optimizers.Adam(schedule)


def _fit(model, x, y, steps, batch_size, verbose):
    """Trains for `steps` optimizer steps (whole epochs); returns seconds."""
    per_epoch = math.ceil(len(x) / batch_size)
    epochs = max(1, math.ceil(steps / per_epoch))
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose)
    return time.perf_counter() - start, epochs * per_epoch


def train_matrix_function_model(
    function,
    size,
    steps=3000,
    seed=0,
    train_count=20000,
    batch_size=256,
    learning_rate=1e-2,
    symmetric=True,
    verbose="auto",
):
    """Trains the recipe's `MatrixFunctionPMM` for f on m x m matrices.

    Reproducible: Keras's global seed and the training data's seed are
    `seed` (the test data of `evaluate` use other seeds).

    Args:
        function: `"exp"`, `"sign"`, `"sin"` or `"cos"`.
        size: m.
        steps: optimizer steps (rounded up to whole epochs); the learning
            rate decays to 0 along a cosine over them.
        seed: the random seed.
        train_count: training matrices.
        batch_size: matrices per step.
        learning_rate: Adam's initial learning rate.
        symmetric: symmetric (True) or general training matrices.
        verbose: `keras.Model.fit`'s verbosity (a progress bar by default).

    Returns:
        `(model, recipe)`: the trained model, compiled with the default loss
        and metrics, and a dict of the arguments, steps, fit seconds.
    """
    keras.utils.set_random_seed(seed)
    x, y = matrix_function_data(
        function, size, train_count, seed=seed, symmetric=symmetric
    )
    arguments = model_arguments(function, size)
    model = MatrixFunctionPMM(**arguments)
    per_epoch = math.ceil(train_count / batch_size)
    total = max(1, math.ceil(steps / per_epoch)) * per_epoch
    model.compile(optimizer=_optimizer(learning_rate, total))
    seconds, total = _fit(model, x, y, steps, batch_size, verbose)
    model.compile()  # the saved model keeps the plain defaults
    recipe = dict(
        function=function,
        size=size,
        symmetric=symmetric,
        model_arguments={
            k: list(v) if isinstance(v, tuple) else v
            for k, v in arguments.items()
        },
        steps=total,
        batch_size=batch_size,
        learning_rate=learning_rate,
        schedule="cosine decay to 0 over the steps, Adam",
        loss="RelativeL1",
        seed=seed,
        train_count=train_count,
        data="entries uniform in [-5, 5]"
        + (", symmetric (upper triangle mirrored)" if symmetric else ""),
        parameters=model.count_params(),
        fit_seconds=round(seconds, 1),
        backend=keras.backend.backend(),
    )
    return model, recipe


def equal_parameter_width(size, parameters):
    """The hidden width h whose MLP has the nearest parameter count."""
    per_unit = 2 * size * size + 1  # h (m^2 + 1) + m^2 (h + 1)
    return max(1, round((parameters - size * size) / per_unit))


def mlp(size, width):
    """Flatten -> Dense(width, gelu) -> Dense(m^2) -> reshape to (m, m)."""
    inputs = keras.Input((size, size))
    hidden = keras.layers.Dense(width, activation="gelu")(
        keras.layers.Flatten()(inputs)
    )
    outputs = keras.layers.Reshape((size, size))(
        keras.layers.Dense(size * size)(hidden)
    )
    return keras.Model(inputs, outputs, name=f"mlp_{width}")


def train_mlp(function, size, parameters, steps, seed, train_count, symmetric):
    keras.utils.set_random_seed(seed)
    x, y = matrix_function_data(
        function, size, train_count, seed=seed, symmetric=symmetric
    )
    model = mlp(size, equal_parameter_width(size, parameters))
    per_epoch = math.ceil(train_count / 256)
    total = max(1, math.ceil(steps / per_epoch)) * per_epoch
    model.compile(
        optimizer=_optimizer(3e-3, total),
        loss=RelativeL1(),
        metrics=[WithinTolerance(TOLERANCE)],
    )
    seconds, _ = _fit(model, x, y, steps, 256, verbose=0)
    return model, seconds


def evaluate(model, function, size, count, seed, symmetric=True):
    """Relative L1 figures of `model` on `count` fresh matrices."""
    x, y = matrix_function_data(
        function, size, count, seed=seed, symmetric=symmetric
    )
    predictions = model.predict(x, batch_size=1000, verbose=0)
    errors = keras.ops.convert_to_numpy(relative_l1_error(y, predictions))
    errors = errors.astype("float64")
    return dict(
        mean_relative_l1=float(np.mean(errors)),
        median_relative_l1=float(np.median(errors)),
        within_5pct=float(np.mean(errors <= TOLERANCE)),
        test_count=count,
        test_seed=seed,
    )


def run_case(function, size, symmetric, steps, train_count, test_count, seed):
    model, recipe = train_matrix_function_model(
        function,
        size,
        steps=steps,
        seed=seed,
        train_count=train_count,
        symmetric=symmetric,
        verbose=0,
    )
    test_seed = 10_000 + seed
    pmm = evaluate(model, function, size, test_count, test_seed, symmetric)
    parameters = model.count_params()
    baseline, seconds = train_mlp(
        function, size, parameters, steps, seed, train_count, symmetric
    )
    base = evaluate(baseline, function, size, test_count, test_seed, symmetric)
    row = dict(
        function=function,
        size=size,
        symmetric=symmetric,
        steps=recipe["steps"],
        train_count=train_count,
        pmm=dict(
            parameters=parameters, fit_seconds=recipe["fit_seconds"], **pmm
        ),
        mlp=dict(
            parameters=baseline.count_params(),
            fit_seconds=round(seconds, 1),
            **base,
        ),
    )
    print(
        f"{'sym' if symmetric else 'gen'} {function:4s} {size}x{size}  "
        f"PMM ({parameters} p): mean {pmm['mean_relative_l1']:.4f} "
        f"median {pmm['median_relative_l1']:.4f} "
        f"within 5% {pmm['within_5pct']:.1%} "
        f"({recipe['fit_seconds']:.0f} s) | "
        f"MLP ({baseline.count_params()} p): "
        f"mean {base['mean_relative_l1']:.4f} "
        f"within 5% {base['within_5pct']:.1%}",
        flush=True,
    )
    return row


def run(quick=False, seed=0):
    """All cases; returns the results dict."""
    if quick:
        symmetric_cases = [("exp", 3)]
        general_cases = [("exp", 3)]
        steps, train_count, test_count = {"exp": 8}, 256, 128
    else:
        symmetric_cases = [(f, m) for f in FUNCTIONS for m in SIZES]
        general_cases = [(f, 5) for f in FUNCTIONS]
        steps, train_count, test_count = STEPS, 20000, 10000
    start = time.perf_counter()
    rows = []
    for symmetric, cases in ((True, symmetric_cases), (False, general_cases)):
        for function, size in cases:
            rows.append(
                run_case(
                    function,
                    size,
                    symmetric,
                    # General matrices are out of reach: the short budget.
                    steps[function] if symmetric else min(steps.values()),
                    train_count,
                    test_count,
                    seed,
                )
            )
    return dict(
        backend=keras.backend.backend(),
        machine=platform.machine(),
        python=platform.python_version(),
        keras=keras.__version__,
        quick=quick,
        tolerance=TOLERANCE,
        model_defaults={
            k: list(v) if isinstance(v, tuple) else v
            for k, v in MODEL_DEFAULTS.items()
        },
        recipes=RECIPES,
        rows=rows,
        total_seconds=round(time.perf_counter() - start, 1),
    )


def train_presets(folder, steps=PRESET_STEPS, seed=0, test_count=10_000):
    """Trains and saves the zoo candidates to FOLDER/NAME.{keras,json}."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    summaries = {}
    for name, spec in PRESETS.items():
        model, recipe = train_matrix_function_model(
            spec["function"], spec["size"], steps=steps, seed=seed
        )
        figures = evaluate(
            model, spec["function"], spec["size"], test_count, 10_000 + seed
        )
        model.save(folder / f"{name}.keras")
        summary = dict(
            name=name,
            recipe=recipe,
            test=figures,
            training_call=(
                "benchmarks/matrix_functions.py: train_matrix_function_model("
                f"{spec['function']!r}, {spec['size']}, steps={steps}, "
                f"seed={seed})"
            ),
        )
        (folder / f"{name}.json").write_text(json.dumps(summary, indent=2))
        print(name, json.dumps(figures), flush=True)
        summaries[name] = summary
    return summaries


def table(results):
    """The README's markdown table of a results dict (`run`'s output)."""
    rows = [
        "| matrices | f | m | PMM params | PMM mean rel. L1 | PMM within 5% "
        "| MLP params | MLP mean rel. L1 | MLP within 5% |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in results["rows"]:
        pmm, mlp_ = row["pmm"], row["mlp"]
        rows.append(
            f"| {'symmetric' if row['symmetric'] else 'general'} "
            f"| {row['function']} | {row['size']} | {pmm['parameters']:,} "
            f"| {pmm['mean_relative_l1']:.2e} | {pmm['within_5pct']:.2%} "
            f"| {mlp_['parameters']:,} | {mlp_['mean_relative_l1']:.2e} "
            f"| {mlp_['within_5pct']:.2%} |"
        )
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--json", type=pathlib.Path, default=DEFAULT_JSON)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--presets",
        type=pathlib.Path,
        default=None,
        help="train the two zoo candidates into this folder instead",
    )
    parser.add_argument("--preset-steps", type=int, default=PRESET_STEPS)
    parser.add_argument(
        "--table",
        action="store_true",
        help="print the README table of the --json results and stop",
    )
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.json.read_text())))
        return 0
    if args.presets is not None:
        train_presets(args.presets, steps=args.preset_steps, seed=args.seed)
        return 0
    results = run(quick=args.quick, seed=args.seed)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
