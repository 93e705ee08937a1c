"""Hermitian builders, eigensolvers and eigenpair selection."""

from keras_pmm import _registration
from keras_pmm.linalg.eigh import METHODS
from keras_pmm.linalg.eigh import eigh
from keras_pmm.linalg.hermitian import FIELDS
from keras_pmm.linalg.hermitian import conjugate_transpose
from keras_pmm.linalg.hermitian import hermitian_from_packed
from keras_pmm.linalg.hermitian import hermitian_part
from keras_pmm.linalg.hermitian import is_complex
from keras_pmm.linalg.hermitian import packed_from_hermitian
from keras_pmm.linalg.hermitian import packed_size
from keras_pmm.linalg.hermitian import size_from_packed
from keras_pmm.linalg.jacobi import default_sweeps
from keras_pmm.linalg.jacobi import jacobi_eigh
from keras_pmm.linalg.selection import WHICH
from keras_pmm.linalg.selection import select_eigenpairs

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

# Complete now: register the Keras classes if Keras came in mid-import.
_registration.register_when_keras_loads(finished=__name__)
