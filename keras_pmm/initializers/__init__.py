"""Initializers for packed Hermitian weights."""

from keras_pmm.initializers.random_matrix import GOE, GUE, random_matrix_initializer

__all__ = ["GOE", "GUE", "random_matrix_initializer"]
