"""MNIST and Fashion-MNIST from a local folder of IDX files or Keras' mirror."""

from keras_pmm.datasets import _sources
from keras_pmm.datasets.idx import read_idx

_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

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


# Keras' mirror of both data sets (what `keras.datasets` downloads from).
_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def _load(name, data_dir, download):
    base = _sources.data_dir_from(data_dir)
    if base is None:
        _sources.check_online(_MIRROR, name)
        try:
            return download()
        except Exception as error:  # urllib raises several kinds when offline
            raise _sources.offline_error(name, error) from error
    folder = _sources.find_folder(name, _FILES, base, subfolders=(name,))
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
    >>> from keras_pmm.datasets import load_mnist
    >>> (x_train, y_train), (x_test, y_test) = load_mnist()
    >>> x_train.shape, x_train.dtype, y_test.shape
    ((60000, 28, 28), dtype('uint8'), (10000,))
    """
    import keras

    return _load("mnist", data_dir, keras.datasets.mnist.load_data)


def load_fashion_mnist(data_dir=None):
    """Fashion-MNIST, with the same sources and checks as `load_mnist`."""
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
