"""Export from the JAX or PyTorch backend: a TensorFlow subprocess.

Only TensorFlow can trace the inference graph that the three formats are
written from. Under another backend the model is saved as a `.keras` file
(weights and config, which every backend reads) and `keras_pmm.export` runs
on it in `python -m keras_pmm.export._worker` with `KERAS_BACKEND=tensorflow`.
A preset given by name goes over by name.
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np


def export(model, path, format, representative_data, **options):
    from keras_pmm.export import ExportError

    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        if isinstance(model, (str, pathlib.Path)):
            source = str(model)
        else:
            source = str(folder / "model.keras")
            model.save(source)
        job = {
            "model": source,
            "is_file": not isinstance(model, (str, pathlib.Path)),
            "path": str(path),
            "format": format,
            "representative_data": None,
            **options,
        }
        if representative_data is not None:
            job["representative_data"] = str(folder / "representative.npy")
            np.save(job["representative_data"], np.asarray(representative_data))
        (folder / "job.json").write_text(json.dumps(job))
        env = {
            **os.environ,
            "KERAS_BACKEND": "tensorflow",
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
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
                "TypeError": TypeError,
            }
            raise kinds.get(error["type"], ExportError)(error["message"])
        if result.returncode != 0:
            raise ExportError(
                "The TensorFlow export subprocess failed (exit "
                f"{result.returncode}):\n{result.stderr[-4000:]}"
            )
