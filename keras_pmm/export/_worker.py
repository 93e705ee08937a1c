"""`python -m keras_pmm.export._worker FOLDER`: exports on TensorFlow.

Reads the jobs in `FOLDER/jobs.json` (written by `_subprocess.run_jobs`),
exports each, and at the first failure writes the error's type and message
to `FOLDER/error.json` (the parent raises it again). It exits at once when
its parent process dies, so that a killed export writes nothing.
"""

import importlib
import json
import os
import pathlib
import sys
import threading
import time


def _exit_with(parent):
    """Ends this process as soon as `parent` is no longer its parent."""
    while os.getppid() == parent:
        time.sleep(0.1)
    os._exit(1)


def main(folder):
    from keras_pmm.export import _subprocess

    parent = os.environ.get(_subprocess.PARENT_VARIABLE)
    if parent:
        threading.Thread(
            target=_exit_with, args=(int(parent),), daemon=True
        ).start()
    folder = pathlib.Path(folder)
    jobs = json.loads((folder / "jobs.json").read_text())
    if os.environ.get("KERAS_BACKEND") != "tensorflow":
        raise SystemExit("The export worker runs on TensorFlow only.")
    import keras
    import numpy as np

    from keras_pmm import export

    for job in jobs:
        try:
            for module in job["imports"]:
                importlib.import_module(module)
            model = job["model"]
            if job["is_file"]:
                model = keras.saving.load_model(model, compile=False)
            representative = job["representative_data"]
            export.export_model(
                model,
                job["path"],
                job["format"],
                quantization=job["quantization"],
                representative_data=(
                    None if representative is None else np.load(representative)
                ),
                input_dtype=job["input_dtype"],
                class_names=job["class_names"],
                sweeps=job["sweeps"],
                overwrite=True,  # the parent checked `overwrite`
            )
        except Exception as error:
            (folder / "error.json").write_text(
                json.dumps(
                    {"type": type(error).__name__, "message": str(error)}
                )
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
