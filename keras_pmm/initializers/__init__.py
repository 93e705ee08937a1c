"""Initializers for packed Hermitian weights and PMM projections."""

from keras_pmm import _registration
from keras_pmm.initializers.fan_in_normal import FanInNormal
from keras_pmm.initializers.random_matrix import GOE
from keras_pmm.initializers.random_matrix import GUE
from keras_pmm.initializers.random_matrix import random_matrix_initializer

__all__ = ["FanInNormal", "GOE", "GUE", "random_matrix_initializer"]

# Complete now: register the Keras classes if Keras came in mid-import.
_registration.register_when_keras_loads(finished=__name__)
