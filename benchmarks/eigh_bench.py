"""Benchmark of the PMM eigh path against bare `keras.ops.eigh` and numpy.

For a batch of random real symmetric float32 matrices (default 1024 of them,
n in {8, 16, 32}) it times, on each Keras backend:

- numpy forward: `np.linalg.eigh` on the batch (backend independent);
- bare forward: `keras.ops.eigh`;
- PMM forward: `keras_pmm.linalg.eigh(h, method="lapack", validate=False)`,
  i.e. the LAPACK solve plus the zero-valued terms that carry the broadened
  perturbation-theory gradient;
- forward+backward of one loss that uses eigenvalues and eigenvectors,

      loss = sum(values * a) + sum(vectors[..., :2] ** 2 * b)

  (a, b fixed random weights; squared eigenvectors are sign-invariant),
  through bare `keras.ops.eigh` with the backend's native eigh gradient, and
  through the PMM path with the LAPACK solver, with LAPACK and
  `validate=True` (the default of a direct `eigh` call: a NaN/Hermiticity
  check in numpy that runs only on concrete tensors, i.e. eagerly, so on
  PyTorch here; the layers call eigh with `validate=False` and leave checks
  to where data enters the models) and with the Jacobi solver.

Each backend runs compiled the way its users would run it: TensorFlow in a
`tf.function` (no XLA: XLA's CPU eigh is slow) with `tf.GradientTape`, JAX
under `jax.jit` with `jax.value_and_grad`, PyTorch eagerly with
`torch.autograd.grad`. The last two columns time the PMM path compiled as
`jit_compile=True` compiles a Keras model: XLA on TensorFlow
(`tf.function(jit_compile=True)`), `jax.jit` on JAX (the same as the
default there) and `torch.compile` on PyTorch, and the speed-up over the
default path. Every timing is the median of `--repeats` runs after
two warm-up calls (the first one compiles), blocking until the result is ready.

The Keras backend is fixed when keras is imported, so without `--backend` the
script re-launches itself once per backend (`KERAS_BACKEND` need not be set)
and prints one combined markdown table plus the PMM/bare overhead at n = 16
(target: within 1.5x).

Run:

    python benchmarks/eigh_bench.py                  # all backends, full size
    python benchmarks/eigh_bench.py --quick          # smoke test
    python benchmarks/eigh_bench.py --backend jax --sizes 16 --json out.json

On a machine busy with other work, add `--threads 1`: a 2-thread OpenMP
region stalls whenever another process holds one of the cores, which swamps
the small batched matmuls of the PMM path with scheduling noise. `--no-jacobi`
skips the slowest column (most of a full run's few minutes).
"""

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

BACKENDS = ("tensorflow", "jax", "torch")
TARGET_SIZE = 16
TARGET_RATIO = 1.5
WARMUP = 2
SEED = 0
COLUMNS = (
    ("numpy_fwd", "numpy fwd"),
    ("bare_fwd", "bare fwd"),
    ("pmm_fwd", "PMM fwd"),
    ("fwd_ratio", "fwd PMM/bare"),
    ("bare_fwd_bwd", "bare fwd+bwd"),
    ("pmm_fwd_bwd", "PMM fwd+bwd"),
    ("fwd_bwd_ratio", "fwd+bwd PMM/bare"),
    ("validated_fwd_bwd", "PMM validate=True fwd+bwd"),
    ("jacobi_fwd_bwd", "PMM jacobi fwd+bwd"),
    ("jit_fwd_bwd", "PMM jit_compile fwd+bwd"),
    ("jit_speedup", "jit_compile speed-up"),
)


def _median_ms(fn, repeats):
    """Median wall time of `fn()` in milliseconds, after `WARMUP` calls."""
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _inputs(batch, n):
    """Random symmetric float32 matrices and the loss weights, fixed seed."""
    rng = np.random.default_rng(SEED + n)
    a = rng.standard_normal((batch, n, n)).astype("float32")
    h = (a + np.swapaxes(a, -1, -2)) / 2
    value_weights = rng.standard_normal(n).astype("float32")
    vector_weights = rng.standard_normal((n, 2)).astype("float32")
    return h, value_weights, vector_weights


def _make_loss(ops, value_weights, vector_weights):
    value_weights = ops.convert_to_tensor(value_weights)
    vector_weights = ops.convert_to_tensor(vector_weights)

    def loss(values, vectors):
        return ops.sum(values * value_weights) + ops.sum(
            ops.square(vectors[..., :2]) * vector_weights
        )

    return loss


def _solvers(ops, linalg):
    """name -> h -> (values, vectors), for the paths being compared."""
    return {
        "bare": ops.eigh,
        "pmm": lambda h: linalg.eigh(h, method="lapack", validate=False),
        "validated": lambda h: linalg.eigh(h, method="lapack", validate=True),
        "jacobi": lambda h: linalg.eigh(h, method="jacobi", validate=False),
    }


def _tensorflow_timers(h, loss):
    import tensorflow as tf

    h = tf.constant(h)

    def forward(solve):
        fn = tf.function(solve)
        return lambda: [t.numpy() for t in fn(h)]

    def forward_backward(solve, jit_compile=False):
        @tf.function(jit_compile=jit_compile)
        def fn(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                value = loss(*solve(x))
            return value, tape.gradient(value, x)

        return lambda: [t.numpy() for t in fn(h)]

    def compiled_forward_backward(solve):
        return forward_backward(solve, jit_compile=True)

    return forward, forward_backward, compiled_forward_backward


def _jax_timers(h, loss):
    import jax

    h = jax.device_put(h)

    def forward(solve):
        fn = jax.jit(solve)
        return lambda: jax.block_until_ready(fn(h))

    def forward_backward(solve):
        fn = jax.jit(jax.value_and_grad(lambda x: loss(*solve(x))))
        return lambda: jax.block_until_ready(fn(h))

    # Keras compiles with jax.jit whatever jit_compile says: the same timer.
    return forward, forward_backward, forward_backward


def _torch_timers(h, loss):
    import torch

    h = torch.from_numpy(h)

    def forward(solve):
        def run():
            with torch.no_grad():
                return solve(h)

        return run

    def forward_backward(solve):
        def run():
            x = h.detach().requires_grad_(True)
            value = loss(*solve(x))
            return value, torch.autograd.grad(value, x)[0]

        return run

    def compiled_forward_backward(solve):
        compiled = torch.compile(lambda x: loss(*solve(x)))

        def run():
            x = h.detach().requires_grad_(True)
            value = compiled(x)
            return value, torch.autograd.grad(value, x)[0]

        return run

    return forward, forward_backward, compiled_forward_backward


def _backend_versions(backend):
    return {
        name: importlib.metadata.version(name)
        for name in ("numpy", "keras", backend)
    }


def _thread_env(threads):
    """Environment variables that cap the BLAS/OpenMP pools of a new process."""
    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    return {name: str(threads) for name in names}


def _limit_threads(backend, threads):
    """Caps the backend's intra-op threads; call before keras is imported.

    XLA has no thread-count flag, so JAX is capped only at 1 (single-threaded
    Eigen); other counts reach it through the BLAS/OpenMP variables alone.
    """
    os.environ.update(_thread_env(threads))
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    elif backend == "jax" and threads == 1:
        flags = (
            "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}"
    elif backend == "torch":
        import torch

        torch.set_num_threads(threads)


def run_backend(backend, sizes, batch, repeats, jacobi, threads=None):
    """Times every path on one backend, in this process.

    Returns:
        dict with `backend`, `versions`, `threads` and one row of milliseconds
        per n.
    """
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if threads is not None:
        _limit_threads(backend, threads)
    import keras
    from keras import ops

    from keras_pmm import linalg

    if keras.backend.backend() != backend:
        raise RuntimeError(
            "keras was already imported with backend "
            f"{keras.backend.backend()!r}; "
            f"run {backend!r} in a fresh process."
        )
    make_timers = {
        "tensorflow": _tensorflow_timers,
        "jax": _jax_timers,
        "torch": _torch_timers,
    }[backend]
    solvers = _solvers(ops, linalg)
    rows = []
    for n in sizes:
        h, value_weights, vector_weights = _inputs(batch, n)
        loss = _make_loss(ops, value_weights, vector_weights)
        forward, forward_backward, compiled_forward_backward = make_timers(
            h, loss
        )
        row = {"n": n}
        row["numpy_fwd"] = _median_ms(lambda: np.linalg.eigh(h), repeats)
        row["bare_fwd"] = _median_ms(forward(solvers["bare"]), repeats)
        row["pmm_fwd"] = _median_ms(forward(solvers["pmm"]), repeats)
        row["bare_fwd_bwd"] = _median_ms(
            forward_backward(solvers["bare"]), repeats
        )
        row["pmm_fwd_bwd"] = _median_ms(
            forward_backward(solvers["pmm"]), repeats
        )
        row["validated_fwd_bwd"] = _median_ms(
            forward_backward(solvers["validated"]), repeats
        )
        if jacobi:
            row["jacobi_fwd_bwd"] = _median_ms(
                forward_backward(solvers["jacobi"]), repeats
            )
        row["jit_fwd_bwd"] = _median_ms(
            compiled_forward_backward(solvers["pmm"]), repeats
        )
        row["jit_speedup"] = row["pmm_fwd_bwd"] / row["jit_fwd_bwd"]
        row["fwd_ratio"] = row["pmm_fwd"] / row["bare_fwd"]
        row["fwd_bwd_ratio"] = row["pmm_fwd_bwd"] / row["bare_fwd_bwd"]
        rows.append(row)
        print(f"[{backend}] n={n} done", file=sys.stderr, flush=True)
    return {
        "backend": backend,
        "versions": _backend_versions(backend),
        "threads": threads or "default",
        "rows": rows,
    }


def _run_child(backend, args):
    """Runs one backend in a fresh interpreter and returns its results."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"{backend}.json")
        command = [
            sys.executable,
            os.path.abspath(__file__),
            "--backend",
            backend,
            "--sizes",
            *map(str, args.sizes),
            "--batch",
            str(args.batch),
            "--repeats",
            str(args.repeats),
            "--json",
            path,
            "--jacobi" if args.jacobi else "--no-jacobi",
        ]
        env = {**os.environ, "KERAS_BACKEND": backend}
        if args.threads is not None:
            command += ["--threads", str(args.threads)]
            env.update(_thread_env(args.threads))
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        completed = subprocess.run(
            command, env=env, stdout=subprocess.PIPE, text=True
        )
        if completed.returncode != 0:
            print(
                f"[{backend}] failed with exit status {completed.returncode}:\n"
                f"{completed.stdout}",
                file=sys.stderr,
            )
            return None
        with open(path) as f:
            return json.load(f)[0]


def _machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()}-core CPU ({model}), {system}"


def _table(results, jacobi):
    columns = [c for c in COLUMNS if jacobi or c[0] != "jacobi_fwd_bwd"]
    lines = [
        "| backend | n | " + " | ".join(title for _, title in columns) + " |",
        "|---|--:|" + "--:|" * len(columns),
    ]
    for result in results:
        for row in result["rows"]:
            cells = [
                f"{row[key]:.2f}x"
                if key.endswith(("ratio", "speedup"))
                else f"{row[key]:.2f}"
                for key, _ in columns
            ]
            lines.append(
                f"| {result['backend']} | {row['n']} | "
                + " | ".join(cells)
                + " |"
            )
    return "\n".join(lines)


def _report(results, args):
    versions = {}
    for result in results:
        versions.update(result["versions"])
    print(f"Machine: {_machine()}")
    print(
        f"Python {platform.python_version()}, "
        + ", ".join(f"{name} {version}" for name, version in versions.items())
    )
    threads = args.threads or "library default"
    print(
        f"Batch {args.batch} of real symmetric float32 matrices; times in ms, "
        f"median of {args.repeats} runs after {WARMUP} warm-up calls; "
        f"threads: {threads}.\n"
    )
    print(_table(results, args.jacobi))
    print()
    for result in results:
        for row in result["rows"]:
            if row["n"] != TARGET_SIZE:
                continue
            verdict = "ok" if row["fwd_bwd_ratio"] <= TARGET_RATIO else "MISSED"
            print(
                f"[{result['backend']}] overhead at n={TARGET_SIZE}: "
                f"fwd PMM/bare = {row['fwd_ratio']:.2f}x, "
                f"fwd+bwd PMM/bare = {row['fwd_bwd_ratio']:.2f}x "
                f"(target <= {TARGET_RATIO}x: {verdict})"
            )


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        help="run one backend in this process (default: every backend, "
        "each in its own subprocess)",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--batch", type=int, help="matrices per batch (1024)")
    parser.add_argument(
        "--repeats", type=int, help="timed runs per median (20)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: batch 128, 3 repeats"
    )
    parser.add_argument(
        "--jacobi",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the Jacobi solver's forward+backward",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="cap the backend's intra-op threads (default: the library's own). "
        "On a loaded machine, 1 keeps OpenMP barriers from stalling when "
        "another "
        "process holds a core. numpy's BLAS pool is capped only in the "
        "per-backend subprocesses; with --backend set OMP_NUM_THREADS and "
        "OPENBLAS_NUM_THREADS yourself",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.batch is None:
        args.batch = 128 if args.quick else 1024
    if args.repeats is None:
        args.repeats = 3 if args.quick else 20
    if min(args.batch, args.repeats, *args.sizes, args.threads or 1) < 1:
        parser.error(
            "--batch, --repeats, --sizes and --threads must be positive"
        )
    return args


def main(argv=None):
    args = _parse_args(argv)
    if args.backend:
        results = [
            run_backend(
                args.backend,
                args.sizes,
                args.batch,
                args.repeats,
                args.jacobi,
                args.threads,
            )
        ]
    else:
        results = [
            result
            for result in (_run_child(backend, args) for backend in BACKENDS)
            if result is not None
        ]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    if results:
        _report(results, args)
    return 0 if len(results) == (1 if args.backend else len(BACKENDS)) else 1


if __name__ == "__main__":
    sys.exit(main())
