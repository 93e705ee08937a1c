"""Data set loaders (MNIST, Fashion-MNIST, EMNIST) from IDX files or downloads,
and reference data of physics tasks (anharmonic-oscillator energies,
matrix functions)."""

from keras_pmm import _registration
from keras_pmm.datasets._sources import DATA_DIR_VARIABLE
from keras_pmm.datasets.anharmonic_oscillator import (
    anharmonic_oscillator_energies,
)
from keras_pmm.datasets.emnist import SPLITS as EMNIST_SPLITS
from keras_pmm.datasets.emnist import load_emnist
from keras_pmm.datasets.idx import read_idx
from keras_pmm.datasets.matrix_functions import MATRIX_FUNCTIONS
from keras_pmm.datasets.matrix_functions import matrix_function_data
from keras_pmm.datasets.mnist import FASHION_MNIST_CLASS_NAMES
from keras_pmm.datasets.mnist import MNIST_CLASS_NAMES
from keras_pmm.datasets.mnist import load_fashion_mnist
from keras_pmm.datasets.mnist import load_mnist
from keras_pmm.datasets.tf_data import to_tf_dataset

__all__ = [
    "DATA_DIR_VARIABLE",
    "EMNIST_SPLITS",
    "FASHION_MNIST_CLASS_NAMES",
    "MATRIX_FUNCTIONS",
    "MNIST_CLASS_NAMES",
    "anharmonic_oscillator_energies",
    "load_emnist",
    "load_fashion_mnist",
    "load_mnist",
    "matrix_function_data",
    "read_idx",
    "to_tf_dataset",
]

# Complete now: register the Keras classes if Keras came in mid-import.
_registration.register_when_keras_loads(finished=__name__)
