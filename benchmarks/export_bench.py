"""Benchmark of the exported zoo presets: file size, latency, accuracy.

For every shipped preset with weights (`pmm_emnist_balanced` ships without
weights and is skipped) and for an equal-parameter Keras MLP baseline
(784 -> h -> 10, ReLU, h chosen so its parameter count is nearest to
`pmm_mnist`'s, trained `--mlp-epochs` epochs on MNIST), it writes each
format through the public `keras_pmm.export` API:

- TFLite float32, float16, dynamic_int8 and int8 (`export_tflite`; int8 is
  calibrated on 300 training images drawn with a fixed seed);
- ONNX (`export_onnx`);
- SavedModel (`export_saved_model`; its size is the folder's total).

and measures:

- the file size;
- the latency per image at batch 1: the LiteRT interpreter
  (`ai_edge_litert`, builtin ops only, as on a phone) with 1 and 2 threads
  (`set_tensor`, `invoke`, `get_tensor`); onnxruntime with
  `intra_op_num_threads` 1 and 2; the SavedModel's `serving_default`
  signature and the Keras model itself (`model(x)` and `model.predict`) on
  the current Keras backend with its default threads, for comparison. Every
  latency is the median of `--repeats` calls after `--warmup` calls;
- the test accuracy of every file on the first `--limit` test images, the
  Keras model's accuracy on the same images, and the largest absolute
  difference between the file's and Keras' class probabilities.

A Jacobi sweep study exports `pmm_mnist` to float32 TFLite with
`sweeps=s` for s in `--sweeps` (the default is
`keras_pmm.linalg.default_sweeps(n)`): accuracy, largest probability
difference to Keras, 1-thread latency and size per sweep count.

Targets (`pmm_mnist` float32 TFLite): a file of at most 200 KB (1 KB =
1,000 bytes) and at most 1 ms per image at batch 1 on one thread; the
report gives every preset's distance to them.

Exports trace the model with TensorFlow; under JAX or PyTorch
`keras_pmm.export` runs them in a TensorFlow subprocess, so the script works
on every backend (and times the Keras model on that backend).

Run:

    KERAS_BACKEND=tensorflow python benchmarks/export_bench.py \
        --data-dir ../shared/datasets --write-results \
        --json benchmarks/results/export_bench.json      # about 10 minutes
    python benchmarks/export_bench.py --quick --presets pmm_mnist  # smoke
"""

import argparse
import importlib.metadata
import importlib.util
import json
import os
import pathlib
import platform
import statistics
import sys
import tempfile
import time

import keras
import numpy as np

from keras_pmm import export
from keras_pmm import linalg
from keras_pmm import zoo
from keras_pmm.export.litert import TFLiteModel
from keras_pmm.zoo.registry import PRESETS

HERE = pathlib.Path(__file__).resolve().parent
RESULTS_MD = HERE / "results" / "export_bench.md"
SEED = 0
CALIBRATION_IMAGES = 300
BATCH = 1000  # batch of the accuracy passes
SIZE_TARGET_BYTES = 200_000
LATENCY_TARGET_MS = 1.0
TFLITE_FORMATS = {
    "float32": None,
    "float16": "float16",
    "dynamic_int8": "dynamic_int8",
    "int8": "int8",
}
FORMATS = (*TFLITE_FORMATS, "onnx", "saved_model")
MLP_LEARNING_RATE = 3e-3
PACKAGES = (
    "keras",
    "tensorflow",
    "ai-edge-litert",
    "onnxruntime",
    "tf2onnx",
    "jax",
    "torch",
)


def _zoo_bench():
    """benchmarks/zoo_bench.py: the equal-parameter MLP comes from there."""
    spec = importlib.util.spec_from_file_location(
        "zoo_bench", HERE / "zoo_bench.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shipped_presets():
    """Image presets that ship weights, and those skipped for lack of
    them."""
    shipped, skipped = [], []
    for name in zoo.list():
        if zoo.PRESETS[name].kind != "image":
            continue
        (shipped if zoo.metadata(name).get("trained") else skipped).append(name)
    return shipped, skipped


def median_ms(call, repeats, warmup):
    """Median milliseconds of `call()` over `repeats` after `warmup` calls."""
    for _ in range(warmup):
        call()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return 1e3 * statistics.median(timings)


def file_bytes(path):
    """Size of a file, or total size of the files in a folder."""
    path = pathlib.Path(path)
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def batched(predict, x):
    return np.concatenate(
        [predict(x[i : i + BATCH]) for i in range(0, len(x), BATCH)]
    )


def compare(probabilities, reference, y):
    """Accuracy, agreement and max |probability difference| vs Keras."""
    predictions = probabilities.argmax(-1)
    return {
        "accuracy": float(np.mean(predictions == y)),
        "agreement": float(np.mean(predictions == reference.argmax(-1))),
        "max_prob_diff": float(np.max(np.abs(probabilities - reference))),
    }


def litert_latency(path, image, threads, repeats, warmup):
    """Milliseconds per image of the LiteRT interpreter at batch 1."""
    model = TFLiteModel(path, num_threads=threads)
    model.predict(image)  # resizes the input to batch 1
    interpreter = model.interpreter
    inputs = interpreter.get_input_details()[0]["index"]
    outputs = model.output_indices["outputs"]
    image = image.astype(model.input_dtype)

    def call():
        interpreter.set_tensor(inputs, image)
        interpreter.invoke()
        return interpreter.get_tensor(outputs)

    return median_ms(call, repeats, warmup)


def onnx_session(path, threads):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )


def measure_file(fmt, path, x, y, reference, repeats, warmup):
    """Size, latencies (ms/image, batch 1) and accuracy of one exported file."""
    image = x[:1]
    row = {"format": fmt, "file_bytes": file_bytes(path)}
    if fmt in TFLITE_FORMATS:
        row["runtime"] = "LiteRT"
        for threads in (1, 2):
            row[f"latency_ms_{threads}_thread"] = litert_latency(
                path, image, threads, repeats, warmup
            )
        probabilities = batched(TFLiteModel(path).predict, x)
    elif fmt == "onnx":
        row["runtime"] = "onnxruntime"
        for threads in (1, 2):
            session = onnx_session(path, threads)
            row[f"latency_ms_{threads}_thread"] = median_ms(
                lambda: session.run(["outputs"], {"inputs": image}),
                repeats,
                warmup,
            )
        probabilities = batched(
            lambda b: session.run(["outputs"], {"inputs": b})[0], x
        )
    else:
        import tensorflow as tf

        row["runtime"] = "TF SavedModel"
        serve = tf.saved_model.load(str(path)).signatures["serving_default"]
        tensor = tf.constant(image)
        row["latency_ms_1_thread"] = None
        row["latency_ms_default_threads"] = median_ms(
            lambda: serve(inputs=tensor)["outputs"].numpy(), repeats, warmup
        )
        probabilities = batched(
            lambda b: serve(inputs=tf.constant(b))["outputs"].numpy(), x
        )
    row.update(compare(probabilities, reference, y))
    return row


def keras_rows(model, x, y, repeats, warmup):
    """Accuracy and batch-1 latency of the Keras model itself."""
    reference = model.predict(x, batch_size=BATCH, verbose=0)
    accuracy = float(np.mean(reference.argmax(-1) == y))
    image = keras.ops.convert_to_tensor(x[:1])
    backend = keras.backend.backend()
    rows = []
    for label, call in (
        ("model(x)", lambda: keras.ops.convert_to_numpy(model(image))),
        ("predict", lambda: model.predict(x[:1], batch_size=1, verbose=0)),
    ):
        rows.append(
            {
                "format": f"Keras {label}",
                "runtime": f"Keras ({backend})",
                "file_bytes": None,
                "latency_ms_default_threads": median_ms(call, repeats, warmup),
                "accuracy": accuracy,
                "agreement": 1.0,
                "max_prob_diff": 0.0,
            }
        )
    return reference, rows


def export_file(model, fmt, folder, stem, calibration, sweeps=None):
    """Writes `model` in `fmt` under `folder`; returns (path, seconds)."""
    start = time.perf_counter()
    if fmt in TFLITE_FORMATS:
        quantization = TFLITE_FORMATS[fmt]
        path = export.export_tflite(
            model,
            folder / f"{stem}_{fmt}.tflite",
            quantization,
            calibration if quantization == "int8" else None,
            sweeps=sweeps,
        )
    elif fmt == "onnx":
        path = export.export_onnx(model, folder / f"{stem}.onnx", sweeps=sweeps)
    else:
        path = export.export_saved_model(
            model, folder / f"{stem}_saved_model", sweeps=sweeps
        )
    return path, time.perf_counter() - start


def calibration_images(x_train):
    """`CALIBRATION_IMAGES` training images drawn with a fixed seed."""
    rng = np.random.default_rng(SEED)
    index = rng.choice(len(x_train), CALIBRATION_IMAGES, replace=False)
    return x_train[np.sort(index)].astype("float32")


def benchmark_model(label, model, data, formats, folder, args, log):
    (x_train, _), (x, y) = data
    calibration = calibration_images(x_train)
    reference, rows = keras_rows(
        model, x, y, args.keras_repeats, min(args.warmup, 5)
    )
    for fmt in formats:
        path, seconds = export_file(model, fmt, folder, label, calibration)
        row = measure_file(
            fmt, path, x, y, reference, args.repeats, args.warmup
        )
        row["export_seconds"] = round(seconds, 1)
        rows.append(row)
        log(f"{label} {fmt}: {json.dumps(row)}")
    keras_accuracy = rows[0]["accuracy"]
    for row in rows:
        row.update(
            model=label,
            parameters=int(model.count_params()),
            keras_accuracy=keras_accuracy,
        )
    return reference, rows


def train_mlp(parameters, data, epochs, examples):
    """The equal-parameter MLP of zoo_bench, trained `epochs` on MNIST."""
    zoo_bench = _zoo_bench()
    width = zoo_bench.equal_parameter_width(parameters)
    (x_train, y_train), _ = data
    x_train, y_train = x_train[:examples], y_train[:examples]
    keras.utils.set_random_seed(SEED)
    model = zoo_bench.mlp(width)
    batch_size = 128
    steps = -(-len(x_train) // batch_size)
    zoo_bench._compile(model, MLP_LEARNING_RATE, epochs, steps)
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0)
    # keras_pmm.export reads a Sequential's input shape from
    # `_inputs_struct`, which only functional models have: export the same
    # layers as a functional model.
    model = keras.Model(model.inputs, model.outputs, name=model.name)
    return f"MLP 784-{width}-10", model


def sweep_study(model, data, sweeps_list, folder, args, reference):
    """pmm_mnist float32 TFLite per Jacobi sweep count."""
    _, (x, y) = data
    default = linalg.default_sweeps(model.get_config()["n"])
    rows = []
    for sweeps in sweeps_list:
        path = export.export_tflite(
            model, folder / f"sweeps_{sweeps}.tflite", sweeps=sweeps
        )
        probabilities = batched(TFLiteModel(path).predict, x)
        rows.append(
            {
                "sweeps": sweeps,
                "default": sweeps == default,
                "file_bytes": file_bytes(path),
                "latency_ms_1_thread": litert_latency(
                    path, x[:1], 1, args.repeats, args.warmup
                ),
                **compare(probabilities, reference, y),
            }
        )
    return {"default_sweeps": default, "rows": rows}


def targets(rows):
    """Every preset's float32 TFLite against the pmm_mnist targets."""
    out = []
    for row in rows:
        if row["format"] != "float32":
            continue
        size, latency = row["file_bytes"], row["latency_ms_1_thread"]
        out.append(
            {
                "model": row["model"],
                "file_bytes": size,
                "size_ratio": size / SIZE_TARGET_BYTES,
                "latency_ms_1_thread": latency,
                "latency_ratio": latency / LATENCY_TARGET_MS,
                "meets_targets": size <= SIZE_TARGET_BYTES
                and latency <= LATENCY_TARGET_MS,
            }
        )
    return out


def _ms(value):
    return "" if value is None else f"{value:.3f}"


def _kb(value):
    return "" if value is None else f"{value / 1000:,.1f}"


def markdown(report):
    """The report as markdown: main table, targets, sweep study."""
    n = report["limit"]
    lines = [
        "# Export benchmark",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {report['machine']['cpu_count']} CPU cores, "
        f"{report['machine']['platform']}; Keras backend "
        f"{report['backend']}; "
        + ", ".join(f"{k} {v}" for k, v in report["versions"].items())
        + ".  ",
        f"Accuracy on the first {n:,} test images of each data set; "
        f"latency = median ms per image at batch 1 over {report['repeats']} "
        f"calls after {report['warmup']} warm-up calls (Keras: "
        f"{report['keras_repeats']} calls after 5). KB = 1,000 bytes. "
        "`max |dp|`: largest absolute difference of a class probability "
        "from the Keras model's; `agree`: share of test images with the "
        "Keras model's predicted class.",
    ]
    if report["skipped_presets"]:
        lines.append(
            "Skipped (no weights shipped): "
            + ", ".join(report["skipped_presets"])
            + "."
        )
    lines += [
        "",
        "| model | params | format | runtime | size (KB) | ms, 1 thread | "
        "ms, 2 threads | ms, default threads | accuracy | Keras accuracy | "
        "agree | max \\|dp\\| |",
        "|---|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['model']} | {row['parameters']:,} | {row['format']} | "
            f"{row['runtime']} | {_kb(row['file_bytes'])} | "
            f"{_ms(row.get('latency_ms_1_thread'))} | "
            f"{_ms(row.get('latency_ms_2_thread'))} | "
            f"{_ms(row.get('latency_ms_default_threads'))} | "
            f"{100 * row['accuracy']:.2f}% | "
            f"{100 * row['keras_accuracy']:.2f}% | "
            f"{100 * row['agreement']:.2f}% | {row['max_prob_diff']:.1e} |"
        )
    lines += [
        "",
        f"## Targets: float32 TFLite <= {SIZE_TARGET_BYTES / 1000:.0f} KB "
        f"and <= {LATENCY_TARGET_MS:g} ms per image (batch 1, 1 thread)",
        "",
        "| model | size (KB) | size / target | ms, 1 thread | "
        "latency / target | meets both |",
        "|---|--:|--:|--:|--:|---|",
    ]
    for row in report["targets"]:
        lines.append(
            f"| {row['model']} | {_kb(row['file_bytes'])} | "
            f"{row['size_ratio']:.2f}x | {row['latency_ms_1_thread']:.3f} | "
            f"{row['latency_ratio']:.2f}x | "
            f"{'yes' if row['meets_targets'] else 'no'} |"
        )
    study = report.get("sweeps")
    if study:
        lines += [
            "",
            "## Jacobi sweeps, pmm_mnist float32 TFLite (default "
            f"{study['default_sweeps']} = `default_sweeps(n)`)",
            "",
            "| sweeps | size (KB) | ms, 1 thread | accuracy | agree | "
            "max \\|dp\\| |",
            "|--:|--:|--:|--:|--:|--:|",
        ]
        for row in study["rows"]:
            mark = " (default)" if row["default"] else ""
            lines.append(
                f"| {row['sweeps']}{mark} | {_kb(row['file_bytes'])} | "
                f"{row['latency_ms_1_thread']:.3f} | "
                f"{100 * row['accuracy']:.2f}% | "
                f"{100 * row['agreement']:.2f}% | "
                f"{row['max_prob_diff']:.1e} |"
            )
    return "\n".join(lines) + "\n"


def _versions():
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--presets",
        nargs="+",
        default=None,
        help="presets to export (default: every preset with weights)",
    )
    parser.add_argument(
        "--formats", nargs="+", choices=FORMATS, default=list(FORMATS)
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder of the IDX files (else KERAS_PMM_DATA_DIR, else download)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="test images per data set (default: all 10,000)",
    )
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--keras-repeats",
        type=int,
        default=50,
        help="repeats of the (slow) Keras latencies",
    )
    parser.add_argument(
        "--sweeps",
        type=int,
        nargs="*",
        default=list(range(1, 9)),
        help="sweep counts of the pmm_mnist Jacobi study (none: skip it)",
    )
    parser.add_argument("--no-mlp", action="store_true")
    parser.add_argument("--mlp-epochs", type=int, default=2)
    parser.add_argument("--mlp-examples", type=int, default=60000)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--json", type=pathlib.Path, default=None)
    parser.add_argument(
        "--write-results",
        action="store_true",
        help=f"write the markdown to {os.path.relpath(RESULTS_MD)}",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.limit = args.limit or 200
        args.repeats, args.warmup, args.keras_repeats = 5, 2, 3
        args.mlp_epochs, args.mlp_examples = 1, 2048
        if args.sweeps == list(range(1, 9)):
            args.sweeps = [1]

    def log(message):
        print(message, file=sys.stderr, flush=True)

    shipped, skipped = shipped_presets()
    presets = args.presets or shipped
    unknown = [p for p in presets if p not in shipped]
    if unknown:
        parser.error(f"no weights shipped for {unknown}; shipped: {shipped}")
    command = " ".join(
        ["python", os.path.relpath(__file__)]
        + (argv if argv is not None else sys.argv[1:])
    )
    data_cache = {}

    def data(name):
        dataset = PRESETS[name].dataset
        if dataset not in data_cache:
            (x_train, y_train), (x, y) = PRESETS[name].data.load(args.data_dir)
            x = np.asarray(x[: args.limit], "float32")
            data_cache[dataset] = ((x_train, y_train), (x, y[: args.limit]))
        return data_cache[dataset]

    rows = []
    study = None
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        for name in presets:
            model = zoo.load(name)
            reference, preset_rows = benchmark_model(
                name, model, data(name), args.formats, folder, args, log
            )
            rows += preset_rows
            if name == "pmm_mnist" and args.sweeps:
                study = sweep_study(
                    model, data(name), args.sweeps, folder, args, reference
                )
                log(f"sweeps: {json.dumps(study)}")
        if not args.no_mlp:
            parameters = zoo.load("pmm_mnist").count_params()
            label, mlp = train_mlp(
                parameters,
                data("pmm_mnist"),
                args.mlp_epochs,
                args.mlp_examples,
            )
            rows += benchmark_model(
                label, mlp, data("pmm_mnist"), args.formats, folder, args, log
            )[1]
    report = {
        "command": command,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
        },
        "backend": keras.backend.backend(),
        "versions": _versions(),
        "limit": len(next(iter(data_cache.values()))[1][1]),
        "repeats": args.repeats,
        "warmup": args.warmup,
        "keras_repeats": args.keras_repeats,
        "skipped_presets": skipped,
        "rows": rows,
        "targets": targets(rows),
        "sweeps": study,
    }
    text = markdown(report)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.write_results:
        RESULTS_MD.parent.mkdir(parents=True, exist_ok=True)
        RESULTS_MD.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
