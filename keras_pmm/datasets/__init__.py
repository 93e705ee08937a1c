"""Data set loaders (MNIST, Fashion-MNIST, EMNIST) from IDX files."""
