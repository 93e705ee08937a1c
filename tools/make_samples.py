"""Saves the demo's sample images: a few official test images per data set.

A maintainer tool, kept out of the installed package. Run from the
repository root after adding a trained preset on a new data set:

    python tools/make_samples.py --data-dir DIR

It writes `zoo/samples/<dataset>_test_<index>_<label>.png` (28 x 28 grey,
the raw pixels) for `SAMPLE_INDICES` of the test set of every data set a
trained preset learns; `keras-pmm demo` classifies them.
"""

import argparse
import os
import pathlib
import sys

SAMPLE_INDICES = (0, 1, 2, 3, 4, 5)


def make_samples(data_dir=None, folder=None):
    """Writes the sample PNGs; returns their paths.

    Args:
        data_dir: folder of the IDX files (default: `KERAS_PMM_DATA_DIR`,
            else download).
        folder: where to write (default: the zoo's `samples/` folder).
    """
    import keras

    from keras_pmm import zoo
    from keras_pmm.zoo import demo

    folder = pathlib.Path(folder or demo.SAMPLES_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    datasets = sorted(
        {
            zoo.PRESETS[name].dataset
            for name in zoo.list()
            if zoo.metadata(name)["trained"]
            and zoo.PRESETS[name].kind == "image"
        }
    )
    written = []
    for key in datasets:
        _, (x_test, y_test) = zoo.DATASETS[key].load(data_dir)
        for index in SAMPLE_INDICES:
            label = int(y_test[index])
            path = folder / f"{key}_test_{index:04d}_{label}.png"
            keras.utils.save_img(path, x_test[index][..., None], scale=False)
            written.append(path)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tools/make_samples.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--data-dir", default=None, help="folder of IDX files")
    parser.add_argument("--output", default=None, help="folder to write")
    args = parser.parse_args(argv)
    for path in make_samples(args.data_dir, args.output):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
