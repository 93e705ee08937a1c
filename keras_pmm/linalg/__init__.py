"""Hermitian builders, eigensolvers and eigenpair selection."""

from keras_pmm.linalg.eigh import METHODS, eigh
from keras_pmm.linalg.hermitian import (
    FIELDS,
    conjugate_transpose,
    hermitian_from_packed,
    hermitian_part,
    is_complex,
    packed_from_hermitian,
    packed_size,
    size_from_packed,
)
from keras_pmm.linalg.jacobi import default_sweeps, jacobi_eigh
from keras_pmm.linalg.selection import WHICH, select_eigenpairs

__all__ = [
    "FIELDS",
    "METHODS",
    "WHICH",
    "conjugate_transpose",
    "default_sweeps",
    "eigh",
    "hermitian_from_packed",
    "hermitian_part",
    "is_complex",
    "jacobi_eigh",
    "packed_from_hermitian",
    "packed_size",
    "select_eigenpairs",
    "size_from_packed",
]
