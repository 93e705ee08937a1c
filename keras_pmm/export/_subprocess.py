"""Export from the JAX or PyTorch backend: a TensorFlow subprocess.

Only TensorFlow can trace the inference graph that the three formats are
written from. Under another backend each model is saved as a `.keras` file
(weights and config, which every backend reads) and `keras_pmm.export` runs
on it in `python -m keras_pmm.export._worker` with `KERAS_BACKEND=tensorflow`;
a preset given by name goes over by name. The modules that define the
model's custom (non-Keras) classes, keras_pmm's included, are imported
there first, so layers
registered with `keras.saving.register_keras_serializable` load as they do
here. The worker ends with its parent: an export killed here writes nothing
later.
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

# The worker exits when the process named here does (a `kill -9` of an
# export leaves no worker behind to write the file later).
PARENT_VARIABLE = "KERAS_PMM_EXPORT_PARENT"


def _class_modules(model):
    modules = {type(model).__module__}
    modules.update(type(layer).__module__ for layer in model._flatten_layers())
    return sorted(
        m
        for m in modules
        # keras_pmm's own too: `keras_pmm.export` imports neither the
        # models nor `keras_pmm.uq`, whose classes register on import.
        if m != "__main__" and not m.startswith("keras.")
    )


def run_jobs(jobs):
    """Runs `[(model, path, format, representative_data, options)]` in one
    TensorFlow subprocess; raises the first job's error, if any."""
    from keras_pmm.export import ExportError

    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        specs = []
        for index, (model, path, format, representative, options) in enumerate(
            jobs
        ):
            by_name = isinstance(model, (str, pathlib.Path))
            spec = {
                "model": str(model) if by_name else f"{folder}/{index}.keras",
                "is_file": not by_name,
                "imports": [] if by_name else _class_modules(model),
                "path": str(path),
                "format": format,
                "representative_data": None,
                **options,
            }
            if not by_name:
                model.save(spec["model"])
            if representative is not None:
                spec["representative_data"] = f"{folder}/{index}.npy"
                np.save(spec["representative_data"], np.asarray(representative))
            specs.append(spec)
        (folder / "jobs.json").write_text(json.dumps(specs))
        env = {
            **os.environ,
            "KERAS_BACKEND": "tensorflow",
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            PARENT_VARIABLE: str(os.getpid()),
        }
        result = subprocess.run(
            [sys.executable, "-m", "keras_pmm.export._worker", str(folder)],
            env=env,
            capture_output=True,
            text=True,
        )
        report = folder / "error.json"
        if report.is_file():
            error = json.loads(report.read_text())
            kinds = {
                "FileExistsError": FileExistsError,
                "FileNotFoundError": FileNotFoundError,
                "PermissionError": PermissionError,
                "OSError": OSError,
                "TypeError": TypeError,
                "NotBuiltinError": ExportError,
            }
            raise kinds.get(error["type"], ExportError)(error["message"])
        if result.returncode != 0:
            raise ExportError(
                "The TensorFlow export subprocess failed (exit "
                f"{result.returncode}):\n{result.stderr[-4000:]}"
            )


def export(model, path, format, representative_data, **options):
    run_jobs([(model, path, format, representative_data, options)])
