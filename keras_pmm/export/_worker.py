"""`python -m keras_pmm.export._worker FOLDER`: one export on TensorFlow.

Reads `FOLDER/job.json` (written by `_subprocess`), exports, and on failure
writes the error's type and message to `FOLDER/error.json`.
"""

import json
import os
import pathlib
import sys


def main(folder):
    folder = pathlib.Path(folder)
    job = json.loads((folder / "job.json").read_text())
    try:
        if os.environ.get("KERAS_BACKEND") != "tensorflow":
            raise RuntimeError("The export worker runs on TensorFlow only.")
        import keras
        import numpy as np

        from keras_pmm import export

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
            json.dumps({"type": type(error).__name__, "message": str(error)})
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
