"""MNIST and Fashion-MNIST from a local folder of IDX files or Keras' mirror."""

import os
import pathlib

from keras_pmm.datasets.idx import read_idx

DATA_DIR_VARIABLE = "KERAS_PMM_DATA_DIR"

_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

# SHA-256 of the canonical releases (identical to the files Keras and
# tensorflow-datasets download).
_SHA256 = {
    "mnist": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
    "fashion-mnist": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    ),
}


def _resolve_folder(name, data_dir):
    """The folder holding `name`'s IDX files, or None to use the download path."""
    data_dir = data_dir or os.environ.get(DATA_DIR_VARIABLE)
    if not data_dir:
        return None
    base = pathlib.Path(data_dir).expanduser()
    for folder in (base / name, base):
        if all((folder / file).is_file() for file in _FILES):
            return folder
    raise FileNotFoundError(
        f"No {name} IDX files in {base / name} or {base} (looked for {', '.join(_FILES)}). "
        f"Pass data_dir= or set {DATA_DIR_VARIABLE} to a folder that holds them, "
        "or unset both to download through Keras."
    )


def _load(name, data_dir, download):
    folder = _resolve_folder(name, data_dir)
    if folder is None:
        try:
            return download()
        except Exception as error:  # urllib raises several kinds when offline
            raise RuntimeError(
                f"Could not download {name} ({error}). Offline? Point data_dir= or "
                f"{DATA_DIR_VARIABLE} at a folder with the IDX files."
            ) from error
    arrays = [
        read_idx(folder / file, expected_shape=shape, sha256=digest)
        for file, shape, digest in zip(
            _FILES,
            ((None, 28, 28), (None,), (None, 28, 28), (None,)),
            _SHA256[name],
        )
    ]
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


def load_mnist(data_dir=None):
    """MNIST: 60,000 training and 10,000 test 28 x 28 uint8 digits.

    Sources, in order: `data_dir`, then the `KERAS_PMM_DATA_DIR` environment
    variable (either may hold the files directly or in an `mnist/` subfolder),
    then `keras.datasets.mnist` (a checksummed download). Local files are
    checked against the published SHA-256.

    Returns:
        `((x_train, y_train), (x_test, y_test))` as numpy uint8 arrays.

    Example:
    >>> (x_train, y_train), (x_test, y_test) = load_mnist("../shared/datasets")
    """
    import keras

    return _load("mnist", data_dir, keras.datasets.mnist.load_data)


def load_fashion_mnist(data_dir=None):
    """Fashion-MNIST, with the same sources and checks as `load_mnist`."""
    import keras

    return _load("fashion-mnist", data_dir, keras.datasets.fashion_mnist.load_data)
