"""MNIST and Fashion-MNIST from a local folder of IDX files or Keras' mirror."""

import hashlib

import numpy as np

from keras_pmm.datasets import _sources
from keras_pmm.datasets.idx import read_idx
from keras_pmm.datasets.idx import sha256_of

_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
_SHAPES = ((None, 28, 28), (None,), (None, 28, 28), (None,))

# SHA-256 of the canonical releases' IDX data, uncompressed (the same for the
# `.gz` files Keras and tensorflow-datasets download, their gunzipped copies
# and any re-gzipped copy).
_DATA_SHA256 = {
    "mnist": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
    "fashion-mnist": (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
}

# Where users keep each data set under a data folder, searched in order
# before the folder itself: our own layout, torchvision's (`root/MNIST/raw`,
# also when `root/MNIST` is the data folder) and Keras' cache
# (`~/.keras/datasets/fashion-mnist`, also when `~/.keras` is the data
# folder).
_SUBFOLDERS = {
    "mnist": ("mnist", "MNIST/raw", "MNIST", "raw"),
    "fashion-mnist": (
        "fashion-mnist",
        "fashion_mnist",
        "FashionMNIST/raw",
        "FashionMNIST",
        "raw",
        "datasets/fashion-mnist",
    ),
}

# Keras' cached MNIST (`keras.datasets.mnist` keeps `mnist.npz` in
# `~/.keras/datasets`), relative to a data folder, and its SHA-256 as Keras
# checks it.
_NPZ = {"mnist": ("mnist.npz", "datasets/mnist.npz", "mnist/mnist.npz")}
_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


# Keras' mirror of both data sets (what `keras.datasets` downloads from).
_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def _idx_sha256(array):
    """SHA-256 of `array` written as a uint8 IDX file (for `_DATA_SHA256`)."""
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    return hashlib.sha256(header + array.tobytes()).hexdigest()


def _read_npz(name, path):
    """The four arrays of a Keras-style `.npz`, checked against Keras' hash
    or, for one written elsewhere, the published IDX data."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = [np.asarray(archive[key]) for key in _NPZ_KEYS]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(
            f"Cannot read {path} as Keras' {name}.npz (arrays "
            f"{', '.join(_NPZ_KEYS)}): {error}"
        ) from error
    if sha256_of(path) != _NPZ_SHA256:
        for key, array, digest in zip(_NPZ_KEYS, arrays, _DATA_SHA256[name]):
            ok = array.dtype == np.uint8 and array.ndim in (1, 3)
            if not ok or _idx_sha256(array) != digest:
                raise ValueError(
                    f"Checksum mismatch for {path}: it is not Keras' "
                    f"{name}.npz (expected sha256 {_NPZ_SHA256}) and its "
                    f"{key} (shape {array.shape}, {array.dtype}) is not the "
                    "published data. The file is corrupt or another data "
                    "set; delete it and download it again."
                )
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


def _read_folder(name, base, search_npz=True):
    """The data set from the first layout found under `base`."""
    try:
        paths = _sources.find_files(
            name,
            _FILES,
            base,
            _SUBFOLDERS[name],
            alternatives=_NPZ.get(name, ()) if search_npz else (),
        )
    except FileNotFoundError:
        for npz in _NPZ.get(name, ()) if search_npz else ():
            if (base / npz).is_file():
                return _read_npz(name, base / npz)
        raise
    arrays = [
        read_idx(path, expected_shape=shape, data_sha256=digest)
        for path, shape, digest in zip(paths, _SHAPES, _DATA_SHA256[name])
    ]
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


def _load(name, data_dir, download):
    base = _sources.data_dir_from(data_dir)
    if base is not None:
        return _read_folder(name, base)
    try:  # what Keras downloaded before, read without going online
        return _read_folder(name, _sources.keras_cache())
    except (FileNotFoundError, ValueError):
        pass  # nothing there, or corrupt: Keras downloads it again
    _sources.check_online(_MIRROR, name)
    try:
        return download()
    except Exception as error:  # urllib raises several kinds when offline
        raise _sources.offline_error(name, error) from error


def load_mnist(data_dir=None):
    """MNIST: 60,000 training and 10,000 test 28 x 28 uint8 digits.

    Sources, in order: `data_dir`, else the `KERAS_PMM_DATA_DIR` environment
    variable, else Keras' cache (`~/.keras/datasets`) and then
    `keras.datasets.mnist` (a checksummed download). A data folder may hold
    the four IDX files directly or in a subfolder `mnist/` or `MNIST/raw/`
    (torchvision's layout), gzipped as published or gunzipped, named
    `train-images-idx3-ubyte` or `train-images.idx3-ubyte`; or Keras'
    `mnist.npz`. Local files are checked against the published SHA-256 of
    their data.

    Args:
        data_dir: folder to read, or None.

    Returns:
        `((x_train, y_train), (x_test, y_test))` as numpy uint8 arrays.

    Raises:
        FileNotFoundError: no layout found in the data folder; names every
            folder searched and the files sought.
        ValueError: a corrupt or truncated file, a wrong shape or a checksum
            mismatch; the message names the file.
        RuntimeError: the download failed (for example offline).

    Example:
    >>> from keras_pmm.datasets import load_mnist
    >>> (x_train, y_train), (x_test, y_test) = load_mnist()
    >>> x_train.shape, x_train.dtype, y_test.shape
    ((60000, 28, 28), dtype('uint8'), (10000,))
    """
    import keras

    return _load("mnist", data_dir, keras.datasets.mnist.load_data)


def load_fashion_mnist(data_dir=None):
    """Fashion-MNIST, with the same sources and checks as `load_mnist`.

    Its subfolders are `fashion-mnist/` (also Keras' cache,
    `~/.keras/datasets/fashion-mnist`) and `FashionMNIST/raw/`
    (torchvision's); Keras keeps no `.npz` of it.
    """
    import keras

    return _load(
        "fashion-mnist", data_dir, keras.datasets.fashion_mnist.load_data
    )


MNIST_CLASS_NAMES = tuple("0123456789")
FASHION_MNIST_CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
