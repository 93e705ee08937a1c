"""Data set loaders (MNIST, Fashion-MNIST) from IDX files or downloads."""

from keras_pmm.datasets.idx import read_idx
from keras_pmm.datasets.mnist import DATA_DIR_VARIABLE, load_fashion_mnist, load_mnist

__all__ = ["DATA_DIR_VARIABLE", "load_fashion_mnist", "load_mnist", "read_idx"]
